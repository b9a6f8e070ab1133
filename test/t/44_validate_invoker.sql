-- 1.7 validate_session speed path: the function runs as its caller (SECURITY INVOKER, no SET
-- clause); an app role without table privileges validates, and its once-a-minute last_activity
-- write runs as the table's owner with search_path pinned, leaving the caller's user and
-- search_path as they were.  The result descriptor comes from the caller (FROM, target list,
-- column aliases); the version check is cached but still catches a SQL version newer than the
-- library after pg_proc changes; a relcache invalidation in between changes nothing; tokens
-- hashed by SQL's sha256() validate (the library's SHA-256 is the same digest); and a database
-- still at 1.6 (SECURITY DEFINER) is served by the same library, before and after the update.
BEGIN;
SELECT plan(29);
CREATE ROLE t44_app;
SELECT aeauth.grant_app_access('t44_app');
CREATE SCHEMA t44_evil;
GRANT USAGE ON SCHEMA t44_evil TO t44_app;
-- A hostile now() that the pinned search_path must never reach.
CREATE FUNCTION t44_evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT 'infinity'::timestamptz$$;
INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-000000000044', 't44@x.com', 't44', 'x');
CREATE TEMP TABLE s AS
  SELECT g, c.* FROM generate_series(1, 2) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-000000000044', device_name => 'd' || g) c;
GRANT SELECT ON s TO t44_app;

-- ---- the catalog --------------------------------------------------------------------------------
SELECT ok(NOT (SELECT prosecdef FROM pg_proc WHERE oid = 'aeauth.validate_session(text)'::regprocedure),
          'validate_session is SECURITY INVOKER');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'aeauth.validate_session(text)'::regprocedure), NULL,
          'and has no SET clause');
SELECT ok(NOT has_function_privilege('public', 'aeauth.validate_session(text)', 'EXECUTE'),
          'PUBLIC still cannot execute it');
SELECT ok(NOT has_table_privilege('t44_app', 'aeauth.user_sessions', 'SELECT, UPDATE'),
          'the app role has no privilege on user_sessions');
SELECT is((SELECT count(*)::int FROM aeauth.verify_integrity() WHERE NOT ok), 0,
          'verify_integrity agrees with the installed catalog');

-- ---- as the app role, with a hostile search_path ----------------------------------------------------
-- Session 1's last_activity is two minutes old: the validation writes it.
UPDATE aeauth.user_sessions SET last_activity = now() - interval '2 minutes'
 WHERE id = (SELECT session_id FROM s WHERE g = 1);
SET LOCAL ROLE t44_app;
SET LOCAL search_path = t44_evil, public, pg_catalog;
SELECT results_eq(
  $$SELECT user_id, session_id, expires_at FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 1))$$,
  $$SELECT user_id, session_id, access_expires_at FROM s WHERE g = 1$$,
  'the app role validates: user, session and access expiry');
SELECT is(aeauth.current_user_id(), '00000000-0000-0000-0000-000000000044'::uuid,
          'current_user_id() is the session''s user');
SELECT is(current_user::text, 't44_app', 'after a call that wrote last_activity the caller is the current user again');
SELECT is(current_setting('search_path'), 't44_evil, public, pg_catalog', 'and its search_path is as it was');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session('aea_' || repeat('B', 43))), 0,
          'an unknown token gives no row');
SELECT is(aeauth.current_user_id(), NULL, 'and clears the identity');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 2))), 1,
          'session 2 validates (its last_activity is fresh: no write)');
RESET ROLE;
RESET search_path;
SELECT cmp_ok((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)),
              '>=', now(), 'session 1''s last_activity was written with the real now()');
SELECT cmp_ok((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)),
              '<', 'infinity'::timestamptz, 'not with a now() found through the caller''s search_path');

-- ---- result shapes: the descriptor comes from the caller ------------------------------------------
SELECT is((SELECT (aeauth.validate_session((SELECT access_token FROM s WHERE g = 2))).session_id),
          (SELECT session_id FROM s WHERE g = 2), 'called in the target list, a record with its columns');
SELECT is((SELECT count(*)::int FROM (SELECT aeauth.validate_session((SELECT access_token FROM s WHERE g = 2))) x), 1,
          'one row in the target list');
SELECT is((SELECT b FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 2)) AS v(a, b, c)),
          (SELECT session_id FROM s WHERE g = 2), 'column aliases in FROM');
SELECT is((SELECT count(*)::int FROM s, LATERAL aeauth.validate_session(s.access_token) v), 2,
          'called once per row through LATERAL');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session(NULL)), 0, 'NULL gives no row');

-- ---- a relcache invalidation of user_sessions between calls -----------------------------------------
ALTER TABLE aeauth.user_sessions ALTER COLUMN device_name SET STATISTICS 50;
SELECT results_eq(
  $$SELECT user_id, session_id, expires_at FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 1))$$,
  $$SELECT user_id, session_id, access_expires_at FROM s WHERE g = 1$$,
  'after a relcache invalidation of user_sessions the same row');

-- ---- tokens hashed by SQL (the bench loader's way): the library's SHA-256 is the same digest ---------
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, access_expires_at, expires_at)
VALUES ('00000000-0000-0000-0000-000000000044',
        sha256(convert_to('aea_' || repeat('Z', 42) || 'A', 'UTF8')),
        sha256(convert_to('aer_' || repeat('Z', 42) || 'A', 'UTF8')),
        now() + interval '10 minutes', now() + interval '1 day');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session('aea_' || repeat('Z', 42) || 'A')), 1,
          'a token whose hash SQL''s sha256() stored validates');
SELECT is((SELECT access_token_hash FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)),
          sha256(convert_to((SELECT access_token FROM s WHERE g = 1), 'UTF8')),
          'create_session stores the same digest as sha256()');

-- ---- the cached version check still sees a SQL version newer than the library -----------------------
SAVEPOINT v;
UPDATE pg_extension SET extversion = '99.0' WHERE extname = 'aeauth';
ALTER FUNCTION aeauth.current_user_id() COST 2;   -- any change to pg_proc: the check runs again
SELECT throws_ok($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 2))$$,
                 '55000', NULL, 'a SQL version newer than the library is refused after pg_proc changes');
ROLLBACK TO SAVEPOINT v;

-- ---- a database at 1.6 (SECURITY DEFINER), served by this library, then updated ---------------------
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.6';
SELECT aeauth.grant_app_access('t44_app');
INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-000000000045', 't45@x.com', 't45', 'x');
CREATE TEMP TABLE o AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-000000000045');
GRANT SELECT ON o TO t44_app;
UPDATE aeauth.user_sessions SET last_activity = now() - interval '2 minutes';
SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'aeauth.validate_session(text)'::regprocedure),
          'at 1.6 validate_session is SECURITY DEFINER');
SET LOCAL ROLE t44_app;
SELECT results_eq($$SELECT user_id, session_id FROM aeauth.validate_session((SELECT access_token FROM o))$$,
                  $$SELECT user_id, session_id FROM o$$, 'at 1.6 the app role validates');
SELECT is(current_user::text, 't44_app', 'and is itself again after the write');
RESET ROLE;
SELECT cmp_ok((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM o)),
              '>=', now(), 'at 1.6 last_activity is written');
ALTER EXTENSION aeauth UPDATE TO '1.7';
UPDATE aeauth.user_sessions SET last_activity = now() - interval '2 minutes';
SET LOCAL ROLE t44_app;
SELECT results_eq($$SELECT user_id, session_id FROM aeauth.validate_session((SELECT access_token FROM o))$$,
                  $$SELECT user_id, session_id FROM o$$, 'after the update to 1.7 the same token validates');
RESET ROLE;
SELECT cmp_ok((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM o)),
              '>=', now(), 'and at 1.7 last_activity is written as the owner');

SELECT * FROM finish();
ROLLBACK;
