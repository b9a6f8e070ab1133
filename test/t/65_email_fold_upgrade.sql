-- The 1.6 library on older schemas, and the 1.5 -> 1.6 upgrade of existing look-alike emails.
--  * 1.3 (no lockout columns): change_password keeps its old path (not counted) and works;
--    emails are folded by the library whatever the schema.
--  * 1.5: change_password counts wrong current passwords (login's counter exists since 1.4).
--  * 1.5 -> 1.6 with emails written before folding: the ones that collide with no other account
--    are folded; of look-alikes, the account already folded (else the oldest) gets the folded
--    address and the others keep theirs as typed, stay reachable (login with the email typed
--    exactly, password reset) and are listed in aeauth.email_lookalikes; nothing is merged, no
--    account or hash is lost; new look-alikes are refused.
BEGIN;
SELECT plan(34);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

CREATE ROLE aeauth_t_admin65;
CREATE ROLE aeauth_t_app65;
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.3';
SELECT aeauth.grant_admin_access('aeauth_t_admin65');
SELECT aeauth.grant_app_access('aeauth_t_app65');

-- ---------------------------------------------------------------------------------------------
-- At 1.3
SELECT aeauth.register_user(E'\uff4f\uff4c\uff44@example.com', 'olduser', 'Old-pass-2024') AS olduser \gset
SELECT is((SELECT email FROM aeauth.users WHERE id = :'olduser'), 'old@example.com', '1.3: the library folds a new email');
SELECT is(aeauth.change_password(:'olduser', 'wrong guess', 'New-pass-2024'), 'invalid_credentials',
          '1.3: a wrong current password: invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'olduser'), 0,
          '1.3: not counted (no lockout columns before 1.4): the old path still works');
SELECT is(aeauth.change_password(:'olduser', 'Old-pass-2024', 'New-pass-2024'), 'ok', '1.3: the right one: ok');

-- ---------------------------------------------------------------------------------------------
-- At 1.5
ALTER EXTENSION aeauth UPDATE TO '1.5';
SELECT is(aeauth.change_password(:'olduser', 'wrong guess', 'Other-pass-2024'), 'invalid_credentials',
          '1.5: a wrong current password: invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'olduser'), 1,
          '1.5: counted like a failed login (the 1.4 lockout columns exist)');

-- Emails as an older library stored them: as typed.  created_at orders the look-alikes.
CREATE TEMP TABLE legacy (username text, email text, age interval);
INSERT INTO legacy VALUES
    ('anna',    E'\uff41nna@example.com',                                    '9 days'),   -- alone: folded
    ('zed',     'Zed@Example.com',                                           '9 days'),   -- ASCII: untouched
    ('fwplay',  E'\uff50\uff4c\uff41\uff59\uff45\uff52@example.com',         '8 days'),   -- older look-alike of
    ('player',  'player@example.com',                                        '1 day'),    -- the folded one: keeps it
    ('bob1',    E'b\uff4fb@example.com',                                     '7 days'),   -- none folded: the oldest
    ('bob2',    E'bo\uff42@example.com',                                     '6 days'),   -- gets the folded address
    ('carl1',   E'\uff23arl@example.com',                                    '5 days'),   -- case and width:
    ('carl2',   'CARL@example.com',                                          '4 days');   -- CARL is already folded
INSERT INTO aeauth.users (email, username, password_hash, created_at)
SELECT l.email, l.username, aeauth.hash_password('Legacy-pass-' || l.username), now() - l.age FROM legacy l;
CREATE TEMP TABLE before AS SELECT id, username, password_hash FROM aeauth.users;

-- ---------------------------------------------------------------------------------------------
ALTER EXTENSION aeauth UPDATE TO '1.6';

SELECT is((SELECT count(*)::int FROM aeauth.users), (SELECT count(*)::int FROM before), 'no account lost or merged');
SELECT is((SELECT count(*)::int FROM aeauth.users u JOIN before b USING (id) WHERE u.username = b.username AND u.password_hash = b.password_hash),
          (SELECT count(*)::int FROM before), 'every account keeps its username and password hash');
SELECT is((SELECT array_agg(u.username || ' ' || u.email || ' ' || u.email_kept_as_typed ORDER BY u.username)
             FROM aeauth.users u JOIN legacy l USING (username)),
          ARRAY['anna anna@example.com false',
                'bob1 bob@example.com false',
                E'bob2 bo\uff42@example.com true',
                E'carl1 \uff23arl@example.com true',
                'carl2 CARL@example.com false',
                E'fwplay \uff50\uff4c\uff41\uff59\uff45\uff52@example.com true',
                'player player@example.com false',
                'zed Zed@Example.com false'],
          'folded where no other account collides; of look-alikes the folded (else oldest) one holds the folded address, the others keep theirs');
SELECT is((SELECT array_agg(folded_email || ' ' || username || ' ' || kept_as_typed ORDER BY folded_email, kept_as_typed, username)
             FROM aeauth.email_lookalikes),
          ARRAY['bob@example.com bob1 false', 'bob@example.com bob2 true',
                'carl@example.com carl2 false', 'carl@example.com carl1 true',
                'player@example.com player false', 'player@example.com fwplay true'],
          'aeauth.email_lookalikes lists each group: the holder of the folded address and the accounts kept as typed');
SELECT ok(has_table_privilege('aeauth_t_admin65', 'aeauth.email_lookalikes', 'SELECT'), 'an existing admin grantee can read the view');
SELECT ok(NOT has_table_privilege('aeauth_t_app65', 'aeauth.email_lookalikes', 'SELECT')
          AND NOT has_table_privilege('public', 'aeauth.email_lookalikes', 'SELECT'), 'the app role and PUBLIC cannot');

-- Every account stays reachable.
CREATE FUNCTION pg_temp.login_as(identifier text, pw text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT u.username FROM aeauth.users u WHERE u.id = l.user_id), l.status) FROM aeauth.login(identifier, pw) l
$$;
SELECT is(pg_temp.login_as(E'\uff50\uff4c\uff41\uff59\uff45\uff52@example.com', 'Legacy-pass-fwplay'), 'fwplay',
          'an account kept as typed logs in with its email typed exactly');
SELECT is(pg_temp.login_as('player@example.com', 'Legacy-pass-player'), 'player', 'the holder of the folded address logs in with it');
SELECT is(pg_temp.login_as(E'\uff50layer@example.com', 'Legacy-pass-player'), 'player', 'another look-alike reaches the holder');
SELECT is(pg_temp.login_as(E'b\uff4fb@example.com', 'Legacy-pass-bob1'), 'bob1', 'the oldest, now folded, still logs in with the email it typed');
SELECT is(pg_temp.login_as(E'bo\uff42@example.com', 'Legacy-pass-bob2'), 'bob2', 'its look-alike, kept as typed, too');
SELECT is(pg_temp.login_as(E'c\uff41rl@example.com', 'Legacy-pass-carl2'), 'carl2', 'a third variant reaches the holder');
SELECT is(pg_temp.login_as(E'\uff43arl@example.com', 'Legacy-pass-carl1'), 'carl1', 'the kept one, typed exactly but in another case');
SELECT is(pg_temp.login_as(E'\uff41nna@example.com', 'Legacy-pass-anna'), 'anna', 'a folded singleton logs in as typed before');
SELECT is(pg_temp.login_as('anna@example.com', 'Legacy-pass-anna'), 'anna', 'and with its folded form');
SELECT is(pg_temp.login_as('fwplay', 'Legacy-pass-fwplay'), 'fwplay', 'and by username, as ever');
SELECT ok(aeauth.request_password_reset(E'bo\uff42@example.com') IS NOT NULL, 'a password reset for the kept email: a token');
SELECT ok((SELECT password_reset_token_hash IS NOT NULL FROM aeauth.users WHERE username = 'bob2')
          AND (SELECT password_reset_token_hash IS NULL FROM aeauth.users WHERE username = 'bob1'),
          'for the kept account, not the holder');
SELECT ok(aeauth.request_password_reset(E'b\uff4f\uff42@example.com') IS NOT NULL, 'a password reset for another look-alike: a token');
SELECT ok((SELECT password_reset_token_hash IS NOT NULL FROM aeauth.users WHERE username = 'bob1'), 'for the holder');

-- No new look-alike.
SELECT throws_ok(format('SELECT aeauth.register_user(%L, %L, %L)', E'\uff42ob@example.com', 'bob3', 'Bob3-pass-2024'),
                 '23505', 'email is already registered', 'a new look-alike of a group: 23505');
SELECT throws_ok(format('SELECT aeauth.register_user(%L, %L, %L)', E'bo\uff42@example.com', 'bob4', 'Bob4-pass-2024'),
                 '23505', 'email is already registered', 'the exact email of a kept account: 23505 (the group''s folded address is taken)');
SELECT throws_ok(format('SELECT aeauth.register_user(%L, %L, %L)', E'\uff21NNA@example.com', 'anna2', 'Anna2-pass-2024'),
                 '23505', 'email is already registered', 'a look-alike of a folded singleton: 23505');
SELECT throws_ok($$UPDATE aeauth.users SET email = E'\uff4eew@example.com' WHERE username = 'zed'$$, '23514', NULL,
                 'the table refuses an unfolded email for a row that is not kept as typed');
SELECT throws_ok($$UPDATE aeauth.users SET email = 'player@example.com', email_kept_as_typed = false WHERE username = 'zed'$$, '23505', NULL,
                 'and a second copy of a folded address');
SELECT ok((SELECT convalidated FROM pg_constraint WHERE conname = 'users_email_nfkc_check' AND conrelid = 'aeauth.users'::regclass),
          'users_email_nfkc_check holds for every existing row');
-- (the library may be newer than 1.6: its version check is the one check a 1.6 schema may fail)
SELECT is((SELECT count(*)::int FROM aeauth.verify_integrity()
            WHERE NOT ok AND (check_name <> 'library version matches the SQL version'
                              OR aeauth.library_version() = '1.6')), 0,
          'verify_integrity() passes after the upgrade (every check but the library version''s when the library is newer)');
SELECT aeauth.register_user(E'\uff4eew@example.com', 'newuser', 'New-user-2024') AS newuser \gset
SELECT is((SELECT email FROM aeauth.users WHERE id = :'newuser'), 'new@example.com', 'registration after the upgrade stores the folded email');

SELECT * FROM finish();
ROLLBACK;
