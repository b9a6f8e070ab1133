-- The privilege model (issue 8): nothing for PUBLIC; the app role (grant_app_access) executes
-- exactly the app functions of API.md and touches no table, sequence or partition, not even
-- partitions made later; the admin role gets the admin functions and the views; grants
-- survive ALTER EXTENSION UPDATE; the app role cannot change any aeauth.* setting; every
-- SECURITY DEFINER function pins search_path.
-- The roles must be committed (the setting tests log in as them over dblink), so this file
-- runs without a wrapping transaction (its database is made fresh and dropped) and drops its roles.
\set QUIET 1
SET client_min_messages = warning;
DROP ROLE IF EXISTS aeauth_t60_app;
DROP ROLE IF EXISTS aeauth_t60_admin;
CREATE ROLE aeauth_t60_app LOGIN;
CREATE ROLE aeauth_t60_admin LOGIN;
SELECT aeauth.grant_app_access('aeauth_t60_app') \gset
SELECT aeauth.grant_admin_access('aeauth_t60_admin') \gset

SELECT plan(33);

-- Relations of the extension's schema, partitions and sequences included.
CREATE TEMP VIEW t60_rels AS
  SELECT c.oid::regclass AS rel, c.relkind
    FROM pg_class c
   WHERE c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = 'aeauth')
     AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f');
CREATE TEMP VIEW t60_app_rel_privs AS
  SELECT r.rel::text || ':' || p.priv AS what
    FROM t60_rels r
   CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
   WHERE r.relkind <> 'S' AND has_table_privilege('aeauth_t60_app', r.rel, p.priv)
  UNION ALL
  SELECT r.rel::text || ':' || p.priv
    FROM t60_rels r
   CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
   WHERE r.relkind = 'S' AND has_sequence_privilege('aeauth_t60_app', r.rel, p.priv)
  UNION ALL
  SELECT c.oid::regclass::text || '.' || a.attname || ':column'
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = 'aeauth') AND c.relkind IN ('r', 'p', 'v')
     AND has_column_privilege('aeauth_t60_app', c.oid, a.attnum, 'SELECT,INSERT,UPDATE,REFERENCES');
GRANT SELECT ON t60_app_rel_privs TO aeauth_t60_app;

-- 1. PUBLIC
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   WHERE p.pronamespace = 'aeauth'::regnamespace AND a.grantee = 0$$,
  'no function in schema aeauth is executable by PUBLIC');
SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
   WHERE c.relnamespace = 'aeauth'::regnamespace AND a.grantee = 0$$,
  'no relation in schema aeauth grants anything to PUBLIC');
SELECT ok(NOT has_schema_privilege('public', 'aeauth', 'USAGE') AND NOT has_schema_privilege('public', 'aeauth', 'CREATE'),
          'PUBLIC has no privilege on schema aeauth');
SELECT cmp_ok((SELECT count(*)::int FROM t60_rels), '>=', 10, 'there are relations to check (sanity)');

-- 2. The app role and tables
SELECT is_empty('SELECT what FROM t60_app_rel_privs',
                'the app role has no privilege on any table, view, sequence, partition or column');
SELECT ok(NOT has_schema_privilege('aeauth_t60_app', 'aeauth', 'CREATE'), 'the app role cannot create objects in aeauth');
SELECT count(*) AS maint FROM aeauth.run_maintenance() \gset
SELECT cmp_ok((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'aeauth.user_audit_log'::regclass), '>', 2,
              'run_maintenance made audit partitions');
SELECT is_empty('SELECT what FROM t60_app_rel_privs',
                'partitions made by run_maintenance give the app role nothing either');
SELECT aeauth.refresh_grants() \gset
SELECT is_empty('SELECT what FROM t60_app_rel_privs', 'nor after refresh_grants()');

SET ROLE aeauth_t60_app;
SELECT throws_ok('SELECT password_hash FROM aeauth.users', '42501', NULL, 'the app role cannot read password_hash');
SELECT throws_ok('SELECT access_token_hash, refresh_token_hash FROM aeauth.user_sessions', '42501', NULL,
                 'nor session token hashes');
SELECT throws_ok('SELECT email_verification_token_hash, password_reset_token_hash FROM aeauth.users', '42501', NULL,
                 'nor verification and reset token hashes');
SELECT throws_ok('SELECT token_hash FROM aeauth.session_rotated_tokens', '42501', NULL, 'nor rotated token hashes');
SELECT throws_ok('SELECT * FROM aeauth.session_secret', '42501', NULL, 'nor the session secret');
SELECT throws_ok($$SELECT * FROM aeauth.user_audit_log_default$$, '42501', NULL, 'nor read an audit partition directly');
SELECT throws_ok('SELECT aeauth.grant_admin_access(''aeauth_t60_app'')', '42501', NULL, 'nor grant itself admin access');
RESET ROLE;

-- 3. Exactly the app functions of API.md
SELECT set_eq($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'aeauth'::regnamespace AND has_function_privilege('aeauth_t60_app', p.oid, 'EXECUTE')$$,
  ARRAY['aeauth.register_user(text,text,text)',
        'aeauth.change_password(uuid,text,text,uuid)',
        'aeauth.request_email_verification(uuid)',
        'aeauth.verify_email(text)',
        'aeauth.request_password_reset(text)',
        'aeauth.reset_password(text,text)',
        'aeauth.validate_session(text)',
        'aeauth.refresh_session(text,inet,text)',
        'aeauth.logout(text)',
        'aeauth.revoke_session(uuid,text)',
        'aeauth.revoke_user_sessions(uuid,uuid,text)',
        'aeauth.list_sessions(uuid)',
        'aeauth.current_user_id()',
        'aeauth.login(text,text,inet,text,text,text,text)',
        'aeauth.log_user_event(uuid,uuid,character varying,character varying,character varying,character varying,inet,text,jsonb,character varying,character varying,jsonb)'],
  'the app role executes exactly the app functions of API.md');
SET ROLE aeauth_t60_app;
SELECT throws_ok('SELECT * FROM aeauth.trusted_devices', '42501', NULL, 'the app role cannot read trusted_devices');
SELECT throws_ok('SELECT * FROM aeauth.login_source_failures', '42501', NULL, 'nor login_source_failures');
RESET ROLE;

-- 4. The admin role: every registered function and the views, nothing else
SELECT set_eq($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'aeauth'::regnamespace AND has_function_privilege('aeauth_t60_admin', p.oid, 'EXECUTE')$$,
  $$SELECT name::regprocedure::text FROM aeauth.api_objects WHERE kind = 'function'$$,
  'the admin role executes exactly the functions registered in api_objects');
SELECT ok(has_function_privilege('aeauth_t60_admin', 'aeauth.import_user(text,text,text,boolean)', 'EXECUTE')
          AND has_function_privilege('aeauth_t60_admin', 'aeauth.set_user_status(uuid,text,text)', 'EXECUTE')
          AND has_function_privilege('aeauth_t60_admin', 'aeauth.run_maintenance()', 'EXECUTE'),
          'admin functions of API.md are among them');
SELECT set_eq($$
  SELECT r.rel::text FROM t60_rels r WHERE has_table_privilege('aeauth_t60_admin', r.rel, 'SELECT')$$,
  ARRAY['aeauth.recent_security_events', 'aeauth.failed_login_attempts', 'aeauth.email_lookalikes'],
  'the admin role reads the three views (email_lookalikes since 1.6) and no table');

-- 5. Settings: the app role changes none, by SET, set_config, ALTER ROLE or connection options
SELECT aeauth.current_user_id() IS NULL AS loaded \gset
SELECT dblink_connect('t60', format('dbname=%s host=%s port=%s user=aeauth_t60_app', current_database(),
                      current_setting('unix_socket_directories'), current_setting('port'))) \gset
SELECT cmp_ok((SELECT count(*)::int FROM pg_settings WHERE name LIKE 'aeauth.%'), '>=', 16, 'aeauth has settings to check (sanity)');
-- Before the library is loaded in the app's session: a placeholder, refused when it loads.
SELECT dblink_exec('t60', 'SET aeauth.paranoid = off', false) \gset
SELECT dblink_exec('t60', 'DO $b$BEGIN PERFORM set_config(''aeauth.max_failed_attempts'', ''1000'', false); END$b$', false) \gset
SELECT is((SELECT s FROM dblink('t60', 'SELECT aeauth.current_user_id() IS NULL, current_setting(''aeauth.paranoid'') || ''/'' || current_setting(''aeauth.max_failed_attempts'')') AS t(l boolean, s text)),
          'on/5', 'placeholders the app role set before the library loaded are refused when it loads');
SELECT is_empty($$
  SELECT name FROM pg_settings
   WHERE name LIKE 'aeauth.%' AND dblink_exec('t60', format('SET %s = %L', name, setting), false) <> 'ERROR'$$,
  'the app role cannot SET any aeauth setting');
SELECT is_empty($$
  SELECT name FROM pg_settings
   WHERE name LIKE 'aeauth.%' AND dblink_exec('t60', format('DO $b$BEGIN PERFORM set_config(%L, %L, false); END$b$', name, setting), false) <> 'ERROR'$$,
  'nor change one with set_config');
SELECT is_empty($$
  SELECT name FROM pg_settings
   WHERE name LIKE 'aeauth.%'
     AND dblink_exec('t60', format('ALTER ROLE aeauth_t60_app SET %s = %L', name, setting), false) <> 'ERROR'$$,
  'nor with ALTER ROLE ... SET');
SELECT dblink_disconnect('t60') \gset
SELECT dblink_connect('t60o', format('dbname=%s host=%s port=%s user=aeauth_t60_app options=''-c aeauth.max_failed_attempts=1000 -c aeauth.paranoid=off''',
                      current_database(), current_setting('unix_socket_directories'), current_setting('port'))) \gset
SELECT is((SELECT s FROM dblink('t60o', 'SELECT aeauth.current_user_id() IS NULL, current_setting(''aeauth.paranoid'') || ''/'' || current_setting(''aeauth.max_failed_attempts'')') AS t(l boolean, s text)),
          'on/5', 'nor with -c options at connection time');
SELECT dblink_disconnect('t60o') \gset

-- 6. SECURITY DEFINER pins search_path
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'aeauth'::regnamespace AND p.prosecdef
     AND (SELECT array_agg(c) FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
         IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
  'every SECURITY DEFINER function in aeauth has search_path=pg_catalog, pg_temp');
SELECT cmp_ok((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'aeauth'::regnamespace AND prosecdef), '>=', 20,
              'there are SECURITY DEFINER functions to check (sanity)');

-- 7. Grants survive ALTER EXTENSION UPDATE (install 1.0, grant, update).  Not in a transaction:
-- pgTAP counts in a table, which a ROLLBACK would take back; the database is dropped anyway.
SELECT aeauth.revoke_app_access('aeauth_t60_app') \gset
SELECT aeauth.revoke_admin_access('aeauth_t60_admin') \gset
DROP EXTENSION aeauth CASCADE;
CREATE EXTENSION aeauth VERSION '1.0';
SELECT aeauth.grant_app_access('aeauth_t60_app') \gset
SELECT aeauth.grant_admin_access('aeauth_t60_admin') \gset
ALTER EXTENSION aeauth UPDATE;
SELECT ok(has_function_privilege('aeauth_t60_app', 'aeauth.register_user(text,text,text)', 'EXECUTE')
          AND has_function_privilege('aeauth_t60_app', 'aeauth.validate_session(text)', 'EXECUTE')
          AND has_function_privilege('aeauth_t60_app', 'aeauth.login(text,text,inet,text,text,text,text)', 'EXECUTE')
          AND NOT has_function_privilege('aeauth_t60_app', 'aeauth.import_user(text,text,text,boolean)', 'EXECUTE'),
          'after 1.0 -> current, functions added by the upgrades reach the app grantee (and admin ones do not)');
SELECT set_eq($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'aeauth'::regnamespace AND has_function_privilege('aeauth_t60_admin', p.oid, 'EXECUTE')$$,
  $$SELECT name::regprocedure::text FROM aeauth.api_objects WHERE kind = 'function'$$,
  'and every function registered by the upgrades reaches the admin grantee');
SELECT is_empty('SELECT what FROM t60_app_rel_privs', 'and the upgraded tables give the app role nothing');

SELECT * FROM finish();

SELECT aeauth.revoke_app_access('aeauth_t60_app') \gset
SELECT aeauth.revoke_admin_access('aeauth_t60_admin') \gset
REVOKE ALL ON t60_app_rel_privs FROM aeauth_t60_app;
DROP VIEW t60_app_rel_privs;
DROP ROLE aeauth_t60_app;
DROP ROLE aeauth_t60_admin;
