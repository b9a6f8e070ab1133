-- grant_app_access / grant_admin_access: per-role grants from aeauth.api_objects.
BEGIN;
SELECT plan(12);

CREATE ROLE aeauth_t_app;
CREATE ROLE aeauth_t_admin;

SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.library_version()', 'EXECUTE'),
          'a new role cannot execute anything');
SELECT ok(NOT has_schema_privilege('aeauth_t_app', 'aeauth', 'USAGE'), 'nor use the schema');

SELECT aeauth.grant_app_access('aeauth_t_app');
SELECT ok(has_schema_privilege('aeauth_t_app', 'aeauth', 'USAGE'), 'app role may use the schema');
SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.library_version()', 'EXECUTE'),
          'app role cannot execute admin functions');
SELECT ok(NOT has_table_privilege('aeauth_t_app', 'aeauth.users', 'SELECT'), 'app role cannot read users');
SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.grant_app_access(regrole)', 'EXECUTE'),
          'app role cannot grant');

SELECT aeauth.grant_admin_access('aeauth_t_admin');
SELECT ok(has_function_privilege('aeauth_t_admin', 'aeauth.library_version()', 'EXECUTE'),
          'admin role executes admin functions');
SELECT set_eq($$SELECT grantee::text || ':' || access FROM aeauth.grantees$$,
              ARRAY['aeauth_t_app:app', 'aeauth_t_admin:admin'], 'grantees are recorded');

-- A new object listed later reaches existing grantees through refresh_grants().
CREATE FUNCTION aeauth.t_new_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
REVOKE ALL ON FUNCTION aeauth.t_new_fn() FROM PUBLIC;
INSERT INTO aeauth.api_objects VALUES ('function', 'aeauth.t_new_fn()', 'app');
SELECT aeauth.refresh_grants();
SELECT ok(has_function_privilege('aeauth_t_app', 'aeauth.t_new_fn()', 'EXECUTE'),
          'refresh_grants gives a new app function to the app grantee');
SELECT ok(has_function_privilege('aeauth_t_admin', 'aeauth.t_new_fn()', 'EXECUTE'),
          'and to the admin grantee');

SELECT aeauth.revoke_app_access('aeauth_t_app');
SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.t_new_fn()', 'EXECUTE'),
          'revoke_app_access takes it back');
SELECT ok(NOT has_schema_privilege('aeauth_t_app', 'aeauth', 'USAGE'), 'and the schema usage');

SELECT * FROM finish();
ROLLBACK;
