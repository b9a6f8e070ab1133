-- verify_integrity(): all ok on a fresh install, and each kind of drift is reported by its check;
-- the aeauth.so / SQL version check raises 55000 with a hint instead of failing later;
-- schema_history has one row per step, written by every script.
BEGIN;
SELECT plan(22);

SELECT is((SELECT count(*)::int FROM aeauth.verify_integrity() WHERE NOT ok), 0, 'a fresh install passes every check');
SELECT cmp_ok((SELECT count(*)::int FROM aeauth.verify_integrity()), '>=', 14, 'and there are checks to pass');
SELECT is((SELECT detail FROM aeauth.verify_integrity() WHERE check_name = 'library version matches the SQL version'),
          format('aeauth.so %s, SQL %s', aeauth.library_version(), (SELECT extversion FROM pg_extension WHERE extname = 'aeauth')),
          'the library check names both versions');

CREATE FUNCTION pg_temp.failing() RETURNS text LANGUAGE sql AS
  $$SELECT string_agg(check_name || ' => ' || detail, E'\n' ORDER BY check_name) FROM aeauth.verify_integrity() WHERE NOT ok$$;

SAVEPOINT s;
DROP INDEX aeauth.user_sessions_user_id_idx;
SELECT is(pg_temp.failing(), 'objects: index => missing user_sessions_user_id_idx', 'a dropped index is missing');
ROLLBACK TO s;
ALTER TABLE aeauth.users ADD COLUMN nickname text;
SELECT is(pg_temp.failing(), 'objects: column => unexpected users.nickname', 'an added column is unexpected');
ROLLBACK TO s;
ALTER TABLE aeauth.users ALTER COLUMN status SET DEFAULT 'inactive';
SELECT matches(pg_temp.failing(), '^objects: column => changed users.status: .*default ''inactive''', 'a changed default is reported');
ROLLBACK TO s;
ALTER FUNCTION aeauth.logout(text) RESET search_path;
SELECT matches(pg_temp.failing(), 'objects: function => changed aeauth.logout\(text\)', 'a SECURITY DEFINER function losing its settings is a changed function');
SELECT matches(pg_temp.failing(), 'security definer functions pin search_path => without search_path=pg_catalog, pg_temp: aeauth.logout\(text\)', 'and fails the search_path check');
ROLLBACK TO s;
ALTER FUNCTION aeauth.verify_password(text, text) IMMUTABLE;
SELECT matches(pg_temp.failing(), 'changed aeauth.verify_password\(text,text\): .*volatility=i', 'a changed volatility is reported');
ROLLBACK TO s;
CREATE OR REPLACE FUNCTION aeauth.audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp AS $fn$ BEGIN RETURN NULL; END $fn$;
SELECT matches(pg_temp.failing(), 'changed aeauth.audit_log_refuse_change\(\)', 'a replaced function body is reported');
ROLLBACK TO s;
ALTER TABLE aeauth.user_audit_log DISABLE TRIGGER user_audit_log_append_only;
SELECT matches(pg_temp.failing(), '^objects: trigger => changed user_audit_log.user_audit_log_append_only', 'a disabled trigger is reported');
ROLLBACK TO s;
UPDATE pg_extension SET extconfig = extconfig || 'aeauth.login_source_failures'::regclass::oid,
                        extcondition = extcondition || ''::text WHERE extname = 'aeauth';
SELECT is(pg_temp.failing(), 'objects: config_dump => unexpected aeauth.login_source_failures', 'a new pg_dump registration is reported');
ROLLBACK TO s;
GRANT SELECT ON aeauth.users TO PUBLIC;
GRANT EXECUTE ON FUNCTION aeauth.hash_password(text) TO PUBLIC;
SELECT is(pg_temp.failing(), 'nothing granted to PUBLIC => PUBLIC may use: aeauth.hash_password(text), aeauth.users', 'grants to PUBLIC are reported');
ROLLBACK TO s;
CREATE FUNCTION aeauth.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT matches(pg_temp.failing(), 'objects: function => unexpected aeauth.intruder\(\)', 'a function added to the schema is unexpected');
ROLLBACK TO s;
SELECT aeauth.refresh_grants();
ALTER TABLE aeauth.users ADD COLUMN nickname text;
SELECT aeauth.refresh_grants();
SELECT is(pg_temp.failing(), 'objects: column => unexpected users.nickname', 'calling refresh_grants() again does not bless a change (the manifest is recorded once per version)');
ROLLBACK TO s;

-- schema_history: every install and update script writes its row.
SELECT is((SELECT string_agg(version, ' ' ORDER BY string_to_array(version, '.')::int[]) FROM aeauth.schema_history),
          (SELECT string_agg(version, ' ' ORDER BY string_to_array(version, '.')::int[])
             FROM pg_available_extension_versions
            WHERE name = 'aeauth'
              AND string_to_array(version, '.')::int[] <= string_to_array((SELECT extversion FROM pg_extension WHERE extname = 'aeauth'), '.')::int[]),
          'one schema_history row per version up to the installed one');

-- The version check.  A pg_proc change makes every backend read pg_extension again.
SELECT lives_ok($$SELECT * FROM aeauth.validate_session(NULL)$$, 'API functions work when aeauth.so and the SQL agree');
UPDATE pg_extension SET extversion = '9.9' WHERE extname = 'aeauth';
CREATE FUNCTION pg_temp.touch_pg_proc() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT throws_ok($$SELECT * FROM aeauth.validate_session(NULL)$$, '55000',
                 format('aeauth library %s is older than the installed aeauth SQL objects (version 9.9)', aeauth.library_version()),
                 'SQL newer than the library (an old aeauth.so in this backend): a clear 55000, not a failure inside');
SELECT is((SELECT check_name || ': ' || detail FROM aeauth.verify_integrity() WHERE NOT ok AND check_name LIKE 'library%'),
          format('library version matches the SQL version: aeauth.so %s, SQL 9.9', aeauth.library_version()), 'verify_integrity reports the mismatch');
UPDATE pg_extension SET extversion = '1.2' WHERE extname = 'aeauth';
DROP FUNCTION pg_temp.touch_pg_proc();
SELECT throws_ok($$SELECT * FROM aeauth.refresh_session('x')$$, '55000',
                 'aeauth SQL objects are at version 1.2, this function needs version 1.3 or later',
                 'SQL older than a function needs: a clear 55000');
CREATE FUNCTION pg_temp.hint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    PERFORM * FROM aeauth.refresh_session('x');
    RETURN NULL;
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
SELECT is(pg_temp.hint(), 'Run ALTER EXTENSION aeauth UPDATE in this database.', 'with the hint to update');
SELECT lives_ok($$SELECT aeauth.verify_password('x', 'y')$$, 'functions whose objects the older SQL has keep working');
SELECT * FROM finish();
ROLLBACK;
