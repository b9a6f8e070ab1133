-- 1.7 (issues 4, 6): reset tokens in aeauth.password_reset_tokens, where a known and an unknown
-- email write the same kind of row; pending 1.6 tokens survive the upgrade; the users table and
-- the trusted devices leave room for HOT updates, so that login's writes stay on their page.
BEGIN;
SELECT plan(33);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

-- ---- pending 1.6 tokens survive the 1.6 -> 1.7 upgrade --------------------------------------
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.6';
SELECT aeauth.register_user('pending@example.com', 'pending', 'pending password') AS pending \gset
SELECT aeauth.register_user('stale@example.com', 'stale', 'stale password') AS stale \gset
SELECT aeauth.register_user('voided@example.com', 'voided', 'voided password') AS voided \gset
SELECT aeauth.request_password_reset('pending@example.com') AS pending_token \gset
SELECT aeauth.request_password_reset('stale@example.com') AS stale_token \gset
SELECT aeauth.request_password_reset('voided@example.com') AS voided_old \gset
SELECT aeauth.request_password_reset('voided@example.com') AS voided_new \gset
UPDATE aeauth.users SET password_reset_expires_at = now() - interval '1 minute' WHERE id = :'stale';
SELECT ok((SELECT password_reset_token_hash IS NOT NULL FROM aeauth.users WHERE id = :'pending'), 'at 1.6 the token is in the user''s row');
ALTER EXTENSION aeauth UPDATE TO '1.7';
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens), 3, 'after the upgrade: one row per pending 1.6 token');
SELECT is((SELECT count(*)::int FROM aeauth.users WHERE password_reset_token_hash IS NOT NULL OR password_reset_expires_at IS NOT NULL), 0,
          'and none left in the users table');
SELECT hasnt_table('aeauth', 'password_reset_decoy', 'the 1.6 decoy table is gone');
SELECT is(aeauth.reset_password(:'voided_old', 'voided new password'), 'invalid', 'a 1.6 token voided by a newer one stays void');
SELECT is(aeauth.reset_password(:'stale_token', 'stale new password'), 'expired', 'an expired 1.6 token: expired');
SELECT is(aeauth.reset_password(:'pending_token', 'pending new password'), 'ok', 'a pending 1.6 token resets the password after the upgrade');
SELECT ok((SELECT aeauth.verify_password('pending new password', password_hash) FROM aeauth.users WHERE id = :'pending'), 'the new password is set');
SELECT is(aeauth.reset_password(:'voided_new', 'voided new password'), 'ok', 'the newest 1.6 token works');

-- ---- a known and an unknown email write the same row shape, and nothing else differs ----------
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth;
SELECT aeauth.register_user('known@example.com', 'known', 'known password') AS known \gset
SELECT aeauth.register_user('sleepy@example.com', 'sleepy', 'sleepy password') AS sleepy \gset
SELECT aeauth.set_user_status(:'sleepy', 'inactive');
CREATE TEMP TABLE w (step text, tok_ins bigint, tok_upd bigint, users_upd bigint, users_ins bigint, audit bigint, users_pages bigint);
CREATE FUNCTION pg_temp.writes(step text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO w SELECT step, pg_stat_get_xact_tuples_inserted('aeauth.password_reset_tokens'::regclass),
                       pg_stat_get_xact_tuples_updated('aeauth.password_reset_tokens'::regclass),
                       pg_stat_get_xact_tuples_updated('aeauth.users'::regclass),
                       pg_stat_get_xact_tuples_inserted('aeauth.users'::regclass),
                       (SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'password_reset_request'),
                       pg_stat_get_xact_blocks_fetched('aeauth.users'::regclass) $$;
CREATE FUNCTION pg_temp.delta(a text, b text) RETURNS bigint[] LANGUAGE sql AS $$
  SELECT ARRAY[y.tok_ins - x.tok_ins, y.tok_upd - x.tok_upd, y.users_upd - x.users_upd, y.users_ins - x.users_ins, y.audit - x.audit]
    FROM w x, w y WHERE x.step = a AND y.step = b $$;
-- A table of a few rows is read by a sequential scan; at any real size the email lookup is an
-- index probe (bench/README.md "1.7 passwords and login"): plan it that way here too.
SET enable_seqscan = off;
SELECT pg_temp.writes('before');
SELECT aeauth.request_password_reset('known@example.com') AS known_token \gset
SELECT pg_temp.writes('known');
SELECT is(aeauth.request_password_reset('nobody@example.com'), NULL, 'an unknown email: NULL');
SELECT pg_temp.writes('unknown');
SELECT is(aeauth.request_password_reset('sleepy@example.com'), NULL, 'an inactive account: NULL');
SELECT pg_temp.writes('inactive');
SELECT is(pg_temp.delta('before', 'known'), ARRAY[1, 0, 0, 0, 1]::bigint[],
          'known email: one token row inserted, no user row touched, one audit row');
SELECT is(pg_temp.delta('known', 'unknown'), ARRAY[1, 0, 0, 0, 1]::bigint[],
          'unknown email: the same (one token row, no user row, one audit row)');
SELECT is(pg_temp.delta('unknown', 'inactive'), ARRAY[1, 0, 0, 0, 1]::bigint[],
          'inactive account: the same');
SELECT is((SELECT ARRAY[k.users_pages - b.users_pages, u.users_pages - k.users_pages, i.users_pages - u.users_pages]
             FROM w b, w k, w u, w i WHERE b.step = 'before' AND k.step = 'known' AND u.step = 'unknown' AND i.step = 'inactive'),
          ARRAY[1, 1, 1]::bigint[],
          'each reads one page of the users table: the user''s row, or a random page for an email that matches no row');
SELECT is((SELECT count(DISTINCT ARRAY[pg_column_size(token_hash), pg_column_size(user_id), pg_column_size(created_at), pg_column_size(expires_at)])::int
             FROM aeauth.password_reset_tokens t WHERE token_hash IS NOT NULL AND user_id IS NOT NULL),
          1, 'the three rows have the same columns, each of the same size');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens t
            WHERE t.user_id <> :'known' AND t.user_id <> :'sleepy'
              AND NOT EXISTS (SELECT FROM aeauth.users u WHERE u.id = t.user_id)
              AND t.expires_at = (SELECT expires_at FROM aeauth.password_reset_tokens WHERE user_id = :'known')), 2,
          'the unknown and inactive rows point at no user, and expire like the known one');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = :'sleepy'), 0, 'the inactive user has no token row');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log l
            WHERE l.event_type = 'password_reset_request' AND l.status = 'failure'
              AND l.user_id IS NULL AND l.metadata::text NOT LIKE '%nobody%' AND l.metadata::text NOT LIKE '%sleepy%'), 2,
          'the unknown and inactive requests are audited without a user and without the address');
-- A row that points at no user cannot be redeemed, whatever its token (the hash of a token
-- nobody saw; here a token forged into it).
UPDATE aeauth.password_reset_tokens SET token_hash = sha256(convert_to('aep_' || repeat('B', 43), 'UTF8'))
 WHERE user_id NOT IN (:'known', :'sleepy') AND created_at = (SELECT min(created_at) FROM aeauth.password_reset_tokens WHERE user_id NOT IN (:'known', :'sleepy'));
SELECT is(aeauth.reset_password('aep_' || repeat('B', 43), 'forged new password'), 'invalid', 'a row that points at no user: invalid');

RESET enable_seqscan;

-- ---- newest only, single use, 24 hours ------------------------------------------------------
SELECT aeauth.request_password_reset('known@example.com') AS known_token2 \gset
SELECT is(aeauth.reset_password(:'known_token', 'known new password'), 'invalid', 'an older token of the user: invalid, though not expired');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = :'known'), 2, 'and trying it consumed nothing');
UPDATE aeauth.password_reset_tokens SET expires_at = now() + interval '23 hours 59 minutes' WHERE user_id = :'known';
SELECT is(aeauth.reset_password(:'known_token2', 'known new password'), 'ok', 'the newest within 24 hours: ok');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = :'known'), 0, 'redeeming it removed all of the user''s rows');
SELECT is(aeauth.reset_password(:'known_token2', 'known other password'), 'invalid', 'single use');
SELECT aeauth.request_password_reset('known@example.com') AS known_token3 \gset
UPDATE aeauth.password_reset_tokens SET expires_at = created_at + interval '24 hours' - interval '25 hours' WHERE user_id = :'known';
SELECT is(aeauth.reset_password(:'known_token3', 'known other password'), 'expired', 'after 24 hours: expired');
SELECT aeauth.request_password_reset('known@example.com') AS known_token4 \gset
SELECT aeauth.set_password(:'known', 'admin set password');
SELECT is(aeauth.reset_password(:'known_token4', 'known other password'), 'invalid', 'set_password voids pending tokens');

-- ---- room for HOT updates: login's writes stay on the user's page ----------------------------
SELECT ok((SELECT reloptions @> ARRAY['fillfactor=85'] FROM pg_class WHERE oid = 'aeauth.users'::regclass), 'users: fillfactor 85');
SELECT ok((SELECT reloptions @> ARRAY['fillfactor=85'] FROM pg_class WHERE oid = 'aeauth.trusted_devices'::regclass), 'trusted_devices: fillfactor 85');
-- A bulk load fills pages only to the fillfactor; the users of the first page then get HOT
-- updates from login (with fillfactor 100 the page would be full and each update would move the
-- row to another page and add an entry to every index).
CREATE TEMP TABLE h AS SELECT aeauth.hash_password('bulk password') AS h;
INSERT INTO aeauth.users (email, username, password_hash)
SELECT 'bulk' || g || '@example.com', 'bulk' || g, (SELECT h FROM h) FROM generate_series(1, 200) g;
SELECT cmp_ok((SELECT count(*) FROM aeauth.users WHERE (ctid::text::point)[0] = 1), '>=', 20::bigint, 'a page of users holds many rows');
SELECT username AS first_page_user FROM aeauth.users WHERE (ctid::text::point)[0] = 1 ORDER BY ctid DESC LIMIT 1 \gset
CREATE TEMP TABLE hot (step text, upd bigint, hot bigint);
INSERT INTO hot VALUES ('before', pg_stat_get_xact_tuples_updated('aeauth.users'::regclass), pg_stat_get_xact_tuples_hot_updated('aeauth.users'::regclass));
SELECT is((SELECT status FROM aeauth.login(:'first_page_user', 'wrong password', '198.51.100.7')), 'invalid_credentials', 'a wrong password');
SELECT is((SELECT status FROM aeauth.login(:'first_page_user', 'bulk password', '198.51.100.7')), 'ok', 'then the right one');
INSERT INTO hot VALUES ('after', pg_stat_get_xact_tuples_updated('aeauth.users'::regclass), pg_stat_get_xact_tuples_hot_updated('aeauth.users'::regclass));
SELECT is((SELECT ARRAY[a.upd - b.upd, a.hot - b.hot] FROM hot a, hot b WHERE a.step = 'after' AND b.step = 'before'),
          ARRAY[2, 2]::bigint[], 'both of login''s user updates (failure count, success) were HOT, on a full page of a bulk load');

SELECT * FROM finish();
ROLLBACK;
