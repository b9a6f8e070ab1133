-- The extension installs into an empty database, shows what it owns, and drops cleanly.
CREATE EXTENSION aeauth;
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname = 'aeauth';
SELECT pg_get_userbyid(nspowner) AS schema_owner FROM pg_namespace WHERE nspname = 'aeauth';
SELECT aeauth.library_version() = extversion AS library_matches_sql
  FROM pg_extension WHERE extname = 'aeauth';

-- Every object the extension owns, by kind (a change here is a change to the SQL surface).
SELECT pg_describe_object(classid, objid, 0) AS object
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'aeauth')
 ORDER BY 1;

-- Tables whose rows pg_dump must keep.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'aeauth'
 ORDER BY 1;

SELECT version, description FROM aeauth.schema_history ORDER BY applied_at, version;

-- Nothing is reachable by PUBLIC.
SELECT count(*) AS public_table_grants
  FROM information_schema.role_table_grants
 WHERE table_schema = 'aeauth' AND grantee = 'PUBLIC';
SELECT count(*) AS public_function_grants
  FROM pg_proc p
 WHERE p.pronamespace = 'aeauth'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT has_schema_privilege('public', 'aeauth', 'USAGE') AS public_schema_usage;

-- Not relocatable.
CREATE SCHEMA elsewhere;
ALTER EXTENSION aeauth SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

DROP EXTENSION aeauth;
-- A schema of that name made by somebody else is not adopted.
CREATE SCHEMA aeauth;
CREATE EXTENSION aeauth;
DROP SCHEMA aeauth;
SELECT count(*) AS leftover_schema FROM pg_namespace WHERE nspname = 'aeauth';
SELECT count(*) AS leftover_functions FROM pg_proc WHERE proname IN ('library_version', 'set_updated_at');
