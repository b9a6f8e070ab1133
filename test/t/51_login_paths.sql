-- 1.6 login and password-reset paths (issues 4, 6): the statements a successful login runs, the
-- WHEN clause of users_clear_device_locks (device locks still lifted whenever they were), and a
-- decoy row for request_password_reset that has a user row's shape (at 1.6); the 1.5 schema still served.
BEGIN;
SELECT plan(37);

-- Small argon2 parameters keep the suite fast; the paths do not depend on them.
SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;
-- Calls of plpgsql functions, counted per transaction (pg_stat_get_xact_function_calls).
SET track_functions = 'pl';
CREATE FUNCTION pg_temp.trigger_calls() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(pg_stat_get_xact_function_calls('aeauth.clear_device_locks()'::regprocedure), 0) $$;
-- last_login as if the previous login were yesterday: within one test transaction now() does not
-- move, and a login that leaves last_login unchanged is treated like any other update.
CREATE FUNCTION pg_temp.yesterday(u uuid) RETURNS void LANGUAGE sql AS $$
  UPDATE aeauth.users SET last_login = now() - interval '1 day' WHERE id = u $$;

-- ---- the trigger's WHEN clause -------------------------------------------------------------
SELECT ialike(pg_get_triggerdef(t.oid), '%old.failed_login_attempts%old.locked_until IS NOT NULL%old.last_login%',
            'users_clear_device_locks looks at OLD: the counter, the lock, last_login')
  FROM pg_trigger t WHERE t.tgname = 'users_clear_device_locks';

SELECT aeauth.register_user('dave@example.com', 'dave', 'dave password') AS dave \gset
SELECT is((SELECT status FROM aeauth.login('dave', 'dave password', '198.51.100.20')), 'ok', 'dave logs in');
SELECT is(pg_temp.trigger_calls(), 0::bigint,
          'a successful login on an account with nothing to clear does not run clear_device_locks');
-- (from another address: the first login made 198.51.100.20 a trusted device with its own counter)
SELECT is((SELECT status FROM aeauth.login('dave', 'wrong password', '203.0.113.20')), 'invalid_credentials', 'one typo');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'dave'), 1, 'counted against the account');
SELECT is(pg_temp.trigger_calls(), 0::bigint, 'a failure does not run it');
SELECT pg_temp.yesterday(:'dave');
SELECT is((SELECT status FROM aeauth.login('dave', 'dave password', '198.51.100.20')), 'ok', 'dave again');
SELECT is(pg_temp.trigger_calls(), 1::bigint, 'a success that clears a failure runs it');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'dave'), 0, 'and the counter is reset');
SELECT aeauth.unlock_user(:'dave');
SELECT is(pg_temp.trigger_calls(), 2::bigint, 'unlock_user runs it even on an account without a lock (as before 1.6)');
UPDATE aeauth.users SET failed_login_attempts = 3 WHERE id = :'dave';
SELECT is(pg_temp.trigger_calls(), 2::bigint, 'setting a counter does not run it');

-- ---- device locks are still lifted by a success from another device ---------------------------
SELECT aeauth.register_user('erin@example.com', 'erin', 'erin password') AS erin \gset
SELECT is((SELECT status FROM aeauth.login('erin', 'erin password', '198.51.100.30', NULL, NULL, NULL, 'device-a')),
          'ok', 'erin on device A');
-- Device A is trusted now: its own failures count against it, not against the account.
SELECT aeauth.login('erin', 'typo ' || g, '198.51.100.30'::inet, NULL, NULL, NULL, 'device-a') FROM generate_series(1, 5) g;
SELECT ok((SELECT locked_until > now() FROM aeauth.trusted_devices WHERE user_id = :'erin'), 'device A is locked');
SELECT ok((SELECT failed_login_attempts = 0 AND locked_until IS NULL FROM aeauth.users WHERE id = :'erin'),
          'the account itself has nothing to clear');
SELECT pg_temp.yesterday(:'erin');
SELECT pg_temp.trigger_calls() AS calls_before \gset
SELECT is((SELECT status FROM aeauth.login('erin', 'erin password', '198.51.100.31', NULL, NULL, NULL, 'device-b')),
          'ok', 'erin on device B');
SELECT is(pg_temp.trigger_calls(), :calls_before::bigint, 'without the trigger ...');
SELECT ok((SELECT failed_login_attempts = 0 AND locked_until IS NULL FROM aeauth.trusted_devices
            WHERE user_id = :'erin' AND device_key = sha256(convert_to('device:device-a', 'UTF8'))),
          '... the success on device B lifted device A''s lock (the login statement does it)');
SELECT is((SELECT count(*) FROM aeauth.trusted_devices WHERE user_id = :'erin'), 2::bigint, 'device B is recorded');
SELECT is((SELECT status FROM aeauth.login('erin', 'erin password', '198.51.100.30', NULL, NULL, NULL, 'device-a')),
          'ok', 'device A gets in again');

-- A reset lifts device locks too (not a login: the trigger, as before).
SELECT aeauth.login('erin', 'typo ' || g, '198.51.100.30'::inet, NULL, NULL, NULL, 'device-a') FROM generate_series(1, 5) g;
SELECT ok((SELECT locked_until > now() FROM aeauth.trusted_devices WHERE user_id = :'erin' AND lockout_count > 0 AND locked_until IS NOT NULL),
          'device A locked again');
SELECT is(aeauth.reset_password(aeauth.request_password_reset('erin@example.com'), 'erin new password'), 'ok', 'erin resets her password');
SELECT is((SELECT count(*) FROM aeauth.trusted_devices WHERE user_id = :'erin' AND locked_until IS NOT NULL), 0::bigint,
          'a password reset lifts the device lock');

-- Rehash on use still happens in the success statement.
SET aeauth.argon2_memory_kib = 32;
SELECT aeauth.register_user('fay@example.com', 'fay', 'fay password') AS fay \gset
SET aeauth.argon2_memory_kib = 64;
SELECT is((SELECT status FROM aeauth.login('fay', 'fay password', '198.51.100.40')), 'ok', 'fay logs in');
SELECT alike((SELECT password_hash FROM aeauth.users WHERE id = :'fay'), '$argon2id$v=19$m=64,%', 'her weaker hash was replaced');

-- ---- request_password_reset at 1.6: the decoy has a user row's shape ------------------------
-- (1.7 replaced the decoy with aeauth.password_reset_tokens: 36_tokens, 52_reset_tokens; a
-- database still at 1.6 keeps its decoy and the 1.6 statement.)
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.6';
SELECT aeauth.register_user('dave@example.com', 'dave', 'dave password') AS dave \gset
SELECT is((SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attname)
             FROM pg_attribute a WHERE a.attrelid = 'aeauth.users'::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname IN (SELECT d.attname FROM pg_attribute d WHERE d.attrelid = 'aeauth.password_reset_decoy'::regclass
                                   AND d.atttypid = a.atttypid AND d.atttypmod = a.atttypmod AND NOT d.attisdropped)),
          (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attname)
             FROM pg_attribute a WHERE a.attrelid = 'aeauth.users'::regclass AND a.attnum > 0 AND NOT a.attisdropped),
          'every column of a user row is in a decoy row, with its type');
CREATE FUNCTION pg_temp.index_shapes(t regclass) RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(d ORDER BY d)
    FROM (SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', 'CREATE \1INDEX ON t ') AS d
            FROM pg_index i WHERE i.indrelid = t) x $$;
SELECT is(pg_temp.index_shapes('aeauth.password_reset_decoy'),
          (SELECT array_agg(d ORDER BY d) FROM unnest(pg_temp.index_shapes('aeauth.users')
                || 'CREATE INDEX ON t USING btree (id, updated_at)'::text) d),
          'the decoy table has the users table''s indexes (primary key on a uuid, lower(email), lower(username), both token hashes)'
          ' and one shaped like the audit log''s (user_id, created_at)');
SELECT ok(EXISTS (SELECT FROM pg_trigger WHERE tgrelid = 'aeauth.password_reset_decoy'::regclass
                   AND tgfoid = 'aeauth.set_updated_at()'::regprocedure),
          'and its updated_at trigger');
SELECT cmp_ok((SELECT avg(pg_column_size(d.*)) FROM aeauth.password_reset_decoy d), '>=',
              (SELECT 0.9 * pg_column_size(u.*) FROM aeauth.users u WHERE id = :'dave'),
              'a decoy row is as wide as a user row');
SELECT is((SELECT count(*) FROM aeauth.password_reset_decoy), 4096::bigint, '4096 decoy rows (recovery.c RESET_DECOY_ROWS)');

-- The same work: one non-HOT update of one row (so one entry in each index) and one audit row,
-- on the users table for a known email and on the decoy table for an unknown one.
CREATE TEMP TABLE w (step text, users_upd bigint, users_hot bigint, decoy_upd bigint, decoy_hot bigint);
CREATE FUNCTION pg_temp.writes(step text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO w SELECT step, pg_stat_get_xact_tuples_updated('aeauth.users'::regclass),
                       pg_stat_get_xact_tuples_hot_updated('aeauth.users'::regclass),
                       pg_stat_get_xact_tuples_updated('aeauth.password_reset_decoy'::regclass),
                       pg_stat_get_xact_tuples_hot_updated('aeauth.password_reset_decoy'::regclass) $$;
SELECT pg_temp.writes('before');
SELECT ok(aeauth.request_password_reset('dave@example.com') IS NOT NULL, 'a known email gets a token');
SELECT pg_temp.writes('known');
SELECT ok(aeauth.request_password_reset('nobody@example.com') IS NULL, 'an unknown one gets NULL');
SELECT pg_temp.writes('unknown');
SELECT is((SELECT ARRAY[k.users_upd - b.users_upd, k.users_hot - b.users_hot, k.decoy_upd - b.decoy_upd, k.decoy_hot - b.decoy_hot]
             FROM w b, w k WHERE b.step = 'before' AND k.step = 'known'),
          ARRAY[1, 0, 0, 0]::bigint[],
          'known email: one user row updated, not HOT (every index gets an entry), no decoy row');
SELECT is((SELECT ARRAY[u.users_upd - k.users_upd, u.users_hot - k.users_hot, u.decoy_upd - k.decoy_upd, u.decoy_hot - k.decoy_hot]
             FROM w k, w u WHERE k.step = 'known' AND u.step = 'unknown'),
          ARRAY[0, 0, 1, 0]::bigint[],
          'unknown email: one decoy row updated, not HOT either, no user row');
SELECT ok((SELECT count(*) = 1 FROM aeauth.password_reset_decoy WHERE updated_at = now() AND password_reset_token_hash IS NOT NULL),
          'one decoy row holds the hash of the token nobody sees');

-- ---- a database still at 1.5 keeps its 64-row decoy and the old statement ------------------
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.5';
SELECT aeauth.register_user('gus@example.com', 'gus', 'gus password') AS gus \gset
SELECT ok(aeauth.request_password_reset('nobody@example.com') IS NULL, 'at 1.5: an unknown email gets NULL');
SELECT ok((SELECT count(*) FROM aeauth.password_reset_decoy WHERE password_reset_token_hash IS NOT NULL) = 1
          AND (SELECT count(*) FROM aeauth.password_reset_decoy) = 64,
          'at 1.5: it updated one of the 64 slots (the old statement)');
SELECT ok(aeauth.request_password_reset('gus@example.com') IS NOT NULL, 'at 1.5: a known email gets a token');

SELECT * FROM finish();
ROLLBACK;
