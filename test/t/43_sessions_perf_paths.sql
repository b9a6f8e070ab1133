-- 1.6 session speed paths: refresh token lookups through a hash index (the stored hash compared,
-- as a hash index is lossy), refresh's direct rotation and its fallback to the SQL statement
-- when the table has a trigger it cannot skip, expire_sessions expiring exactly the sessions
-- past a limit (boundaries included) and leaving the rest, and an upgrade from 1.5 with live
-- tokens that keep validating and rotating after it (and before it, under the newest library).
BEGIN;
SELECT plan(31);
INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-000000000001', 'a@x.com', 'a', 'x');

-- ---- index shapes ---------------------------------------------------------------------------
SELECT is((SELECT am.amname::text FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.oid = 'aeauth.user_sessions_refresh_token_hash_idx'::regclass), 'hash',
          'the refresh token hash is indexed by a hash index');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'aeauth'::regnamespace
            AND relname = 'user_sessions_refresh_token_hash_key'), 0,
          'the 1.0 unique btree on the refresh token hash is gone');
SELECT ok((SELECT indisunique FROM pg_index WHERE indexrelid = 'aeauth.user_sessions_access_token_hash_key'::regclass),
          'the access token hash keeps its unique btree');
SELECT is((SELECT count(*)::int FROM pg_index WHERE indrelid = 'aeauth.user_sessions'::regclass), 4,
          'user_sessions keeps four indexes (id, the two token hashes, user_id)');

-- ---- validate and refresh probe them ----------------------------------------------------------
CREATE TEMP TABLE s AS
  SELECT g, c.* FROM generate_series(1, 3) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-000000000001', device_name => 'd' || g) c;
SELECT pg_stat_get_xact_numscans('aeauth.user_sessions_access_token_hash_key'::regclass) AS a0 \gset
SELECT is((SELECT session_id FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 1))),
          (SELECT session_id FROM s WHERE g = 1), 'validate_session finds the session');
SELECT is(pg_stat_get_xact_numscans('aeauth.user_sessions_access_token_hash_key'::regclass) - :a0, 1::bigint,
          'with one probe of its index');
SELECT pg_stat_get_xact_numscans('aeauth.user_sessions_refresh_token_hash_idx'::regclass) AS r0 \gset
CREATE TEMP TABLE r1 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 1));
SELECT is((SELECT status FROM r1), 'ok', 'refresh_session rotates');
SELECT cmp_ok(pg_stat_get_xact_numscans('aeauth.user_sessions_refresh_token_hash_idx'::regclass) - :r0, '>=', 1::bigint,
              'through the refresh hash index');
SELECT is((SELECT generation FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)), 1,
          'the row is rotated once (generation 1)');
SELECT is((SELECT refresh_token_hash FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)),
          sha256(convert_to((SELECT refresh_token FROM r1), 'UTF8')), 'it holds the new refresh token''s hash');
SELECT is((SELECT session_id FROM aeauth.session_rotated_tokens
            WHERE token_hash = sha256(convert_to((SELECT refresh_token FROM s WHERE g = 1), 'UTF8'))),
          (SELECT session_id FROM s WHERE g = 1), 'the parent''s hash is kept as rotated');
SELECT is((SELECT session_id FROM aeauth.validate_session((SELECT access_token FROM r1))),
          (SELECT session_id FROM s WHERE g = 1), 'the new access token validates');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 1))), 0,
          'the old one does not');
SELECT results_eq($$SELECT access_token, refresh_token FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 1))$$,
                  $$SELECT access_token, refresh_token FROM r1$$, 'a retry within the interval gets the same pair');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM r1))), 'ok',
          'the child rotates in turn (a second rotation in one transaction)');
-- A row whose access hash's index entry points elsewhere: the stored hash decides (lossy index).
SELECT is((SELECT count(*)::int FROM aeauth.validate_session('aea_' || repeat('B', 43))), 0,
          'an unknown access token finds nothing');

-- ---- a trigger on user_sessions: the rotation goes through the SQL statement, and fires it ------
CREATE TABLE pg_temp.fired (n int);
CREATE FUNCTION pg_temp.note() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO pg_temp.fired VALUES (NEW.generation); RETURN NEW; END$$;
CREATE TRIGGER t43_note BEFORE UPDATE ON aeauth.user_sessions FOR EACH ROW EXECUTE FUNCTION pg_temp.note();
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 2))), 'ok',
          'with a trigger on the table, refresh still rotates');
SELECT is((SELECT array_agg(n) FROM pg_temp.fired), ARRAY[1], 'and the trigger saw the update');
DROP TRIGGER t43_note ON aeauth.user_sessions;
-- generation at its limit: the same error as the SQL statement's generation + 1
UPDATE aeauth.user_sessions SET generation = 2147483647 WHERE id = (SELECT session_id FROM s WHERE g = 3);
SELECT throws_ok($$SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 3))$$,
                 '22003', NULL, 'a rotation past the largest generation fails like the SQL statement');

-- ---- expire_sessions: exactly the expired ones, boundaries included -------------------------
DELETE FROM aeauth.session_rotated_tokens;
DELETE FROM aeauth.user_sessions;
SET LOCAL aeauth.max_sessions_per_user = 100;
CREATE TEMP TABLE m AS
  SELECT g, c.session_id FROM generate_series(1, 8) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-000000000001', device_name => 'm' || g) c;
-- defaults: refresh ttl 30 days, absolute 90 days, idle 7 days
UPDATE aeauth.user_sessions SET expires_at = now() WHERE id = (SELECT session_id FROM m WHERE g = 1);
UPDATE aeauth.user_sessions SET expires_at = now() + interval '1 microsecond' WHERE id = (SELECT session_id FROM m WHERE g = 2);
UPDATE aeauth.user_sessions SET created_at = now() - interval '2160 hours' WHERE id = (SELECT session_id FROM m WHERE g = 3);
UPDATE aeauth.user_sessions SET created_at = now() - interval '2160 hours' + interval '1 microsecond' WHERE id = (SELECT session_id FROM m WHERE g = 4);
UPDATE aeauth.user_sessions SET last_activity = now() - interval '168 hours' WHERE id = (SELECT session_id FROM m WHERE g = 5);
UPDATE aeauth.user_sessions SET last_activity = now() - interval '168 hours' + interval '1 microsecond' WHERE id = (SELECT session_id FROM m WHERE g = 6);
UPDATE aeauth.user_sessions SET last_activity = now() - interval '8 days', status = 'revoked' WHERE id = (SELECT session_id FROM m WHERE g = 7);
INSERT INTO aeauth.session_rotated_tokens VALUES
  ('\x01', (SELECT session_id FROM m WHERE g = 2), now() - interval '720 hours'),
  ('\x02', (SELECT session_id FROM m WHERE g = 2), now() - interval '720 hours' + interval '1 microsecond'),
  ('\x03', (SELECT session_id FROM m WHERE g = 1), now());
SELECT results_eq($$SELECT task, affected FROM aeauth.expire_sessions()$$,
                  $$VALUES ('sessions: expired sessions marked'::text, 3::bigint), ('sessions: rotated refresh token hashes purged', 2)$$,
                  'three sessions expired at their limits, two rotated hashes purged');
SELECT is((SELECT array_agg(g ORDER BY g) FROM m JOIN aeauth.user_sessions u ON u.id = m.session_id WHERE u.status = 'expired'),
          ARRAY[1, 3, 5], 'exactly the sessions at a limit: refresh expiry, absolute and idle timeouts');
SELECT is((SELECT array_agg(g ORDER BY g) FROM m JOIN aeauth.user_sessions u ON u.id = m.session_id WHERE u.status = 'active'),
          ARRAY[2, 4, 6, 8], 'a microsecond before each limit, and untouched sessions, stay active');
SELECT is((SELECT status FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM m WHERE g = 7)), 'revoked',
          'a revoked session stays revoked');
SELECT is((SELECT array_agg(token_hash) FROM aeauth.session_rotated_tokens), ARRAY['\x02'::bytea],
          'only the rotated hash younger than refresh_token_ttl of a live session is kept');
SET LOCAL aeauth.session_idle_timeout = 0;
UPDATE aeauth.user_sessions SET last_activity = now() - interval '80 days' WHERE id = (SELECT session_id FROM m WHERE g = 8);
SELECT is((SELECT affected FROM aeauth.expire_sessions() WHERE task = 'sessions: expired sessions marked'), 0::bigint,
          'with the idle timeout off, an old last_activity expires nothing');

-- ---- upgrade from 1.5 with live tokens --------------------------------------------------------
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.5';
INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-000000000001', 'a@x.com', 'a', 'x');
CREATE TEMP TABLE u0 AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-000000000001');
CREATE TEMP TABLE u1 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM u0));
SELECT is((SELECT status FROM u1), 'ok', 'at 1.5 (unique btrees), the newest library rotates');
SELECT is((SELECT session_id FROM aeauth.validate_session((SELECT access_token FROM u1))),
          (SELECT session_id FROM u0), 'and validates');
ALTER EXTENSION aeauth UPDATE TO '1.6';
SELECT is((SELECT session_id FROM aeauth.validate_session((SELECT access_token FROM u1))),
          (SELECT session_id FROM u0), 'a token issued before the upgrade validates after it');
SELECT results_eq($$SELECT status, access_token, refresh_token FROM aeauth.refresh_session((SELECT refresh_token FROM u0))$$,
                  $$SELECT status, access_token, refresh_token FROM u1$$,
                  'the pre-upgrade parent within the interval: the same pair as before the upgrade');
CREATE TEMP TABLE u2 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM u1));
SELECT is((SELECT status FROM u2), 'ok', 'a refresh token issued before the upgrade rotates after it');
SET LOCAL aeauth.refresh_reuse_interval = 0;
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM u0))), 'reused',
          'a pre-upgrade token two rotations back is still recognised as reuse');

SELECT * FROM finish();
ROLLBACK;
