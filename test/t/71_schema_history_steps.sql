-- Every install and update script writes its schema_history row: stepping from 1.0 one version at
-- a time, each step adds exactly the row of the version it reaches, with a time and a description.
BEGIN;
SELECT plan(3);
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.0';
CREATE TEMP TABLE steps (version text, rows_after int, newest text, described boolean);
DO $$
DECLARE
    v text;
BEGIN
    INSERT INTO steps SELECT '1.0', count(*), max(version), bool_and(description <> '' AND applied_at IS NOT NULL) FROM aeauth.schema_history;
    FOR v IN SELECT u.target FROM pg_extension_update_paths('aeauth') u
              WHERE u.source = '1.0' AND u.path IS NOT NULL
                AND string_to_array(u.target, '.')::int[] <= string_to_array((SELECT default_version FROM pg_available_extensions WHERE name = 'aeauth'), '.')::int[]
              ORDER BY string_to_array(u.target, '.')::int[] LOOP
        EXECUTE format('ALTER EXTENSION aeauth UPDATE TO %L', v);
        INSERT INTO steps
        SELECT v, count(*),
               (SELECT h.version FROM aeauth.schema_history h ORDER BY string_to_array(h.version, '.')::int[] DESC LIMIT 1),
               bool_and(description <> '' AND applied_at IS NOT NULL)
          FROM aeauth.schema_history;
    END LOOP;
END $$;
SELECT cmp_ok((SELECT count(*)::int FROM steps), '>=', 6, 'stepped through every version from 1.0 to the default');
SELECT is_empty($$SELECT * FROM steps s
                   WHERE s.newest IS DISTINCT FROM s.version
                      OR s.rows_after <> (SELECT count(*) FROM steps t WHERE string_to_array(t.version, '.')::int[] <= string_to_array(s.version, '.')::int[])$$,
                'each step adds exactly one row, that of the version it reaches');
SELECT ok((SELECT bool_and(described) FROM steps), 'every row has a time and a description');
SELECT * FROM finish();
ROLLBACK;
