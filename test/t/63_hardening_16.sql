-- Hardening follow-ups of issue 8 (1.6):
--  1. change_password counts a wrong current password exactly like a failed login (same counter,
--     progressive lock, security events), refuses a locked account whatever the password, and
--     returns its failure (never raises) so that the count commits;
--  2. passwords need aeauth.password_min_length VISIBLE characters (zero-width and other
--     default-ignorable code points and controls do not count) on every path that sets one, and
--     a stored hash still verifies what it verified before;
--  3. emails are folded to Unicode NFKC: full-width look-alikes collide (23505) and log in, reset
--     and re-register as the same account.
-- Concurrency of (1) with real connections: 66_change_password_race.sql; the upgrade of existing
-- look-alike emails and the older-schema paths: 65_email_fold_upgrade.sql; bad input: 64.
BEGIN;
SELECT plan(64);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; d text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, d = PG_EXCEPTION_DETAIL;
  RETURN s || ': ' || coalesce(d, '');
END $$;
-- The user's audit events as type:status:reason, sorted (one transaction: created_at is the same).
CREATE FUNCTION pg_temp.events(uid uuid) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(e ORDER BY e), '{}')
    FROM (SELECT a.event_type || ':' || a.status || coalesce(':' || (a.metadata->>'reason'), '') AS e
            FROM aeauth.user_audit_log a WHERE a.user_id = uid) x
$$;

-- ---------------------------------------------------------------------------------------------
-- 1. change_password and the lockout
SELECT aeauth.register_user('carol@example.com', 'carol', 'Carol-pass-2024') AS carol \gset

SELECT is(aeauth.change_password(:'carol', 'wrong-guess-1', 'Brand-new-2024'), 'invalid_credentials',
          'a wrong current password: invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'carol'), 1,
          'it is counted on the account like a failed login');
SELECT is(aeauth.change_password(:'carol', repeat('p', 2000), 'Brand-new-2024'), 'invalid_credentials',
          'a current password over 1024 bytes: invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'carol'), 2, 'and counted too');
SELECT is((SELECT status FROM aeauth.login('carol', 'wrong-guess-3')), 'invalid_credentials', 'a failed login');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'carol'), 3,
          'login and change_password share one counter');
SELECT is(aeauth.change_password(:'carol', 'wrong-guess-4', 'Brand-new-2024'), 'invalid_credentials', 'fourth failure');
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'carol'), NULL, 'not locked before the limit (5)');
SELECT is(aeauth.change_password(:'carol', 'wrong-guess-5', 'Brand-new-2024'), 'invalid_credentials', 'fifth failure');
SELECT is((SELECT failed_login_attempts || ' ' || (locked_until > now()) || ' ' || lockout_count FROM aeauth.users WHERE id = :'carol'),
          '5 true 1', 'the fifth failure engages the lock (aeauth.max_failed_attempts)');
SELECT ok((SELECT locked_until BETWEEN now() + interval '59 seconds' AND now() + interval '61 seconds' FROM aeauth.users WHERE id = :'carol'),
          'the first lock lasts aeauth.lockout_base (1 min)');
SELECT is(pg_temp.events(:'carol'),
          ARRAY['account_locked:success:too_many_failures', 'login:failure:wrong_password',
                'password_change:failure:invalid_current_password', 'password_change:failure:invalid_current_password',
                'password_change:failure:invalid_current_password', 'password_change:failure:invalid_current_password',
                'registration:success'],
          'every failure audited, the lock as the same security event login writes');
SELECT is((SELECT event_category || ' ' || severity || ' ' || (metadata->>'scope') || ' ' || (metadata->>'failed_attempts')
             FROM aeauth.user_audit_log WHERE user_id = :'carol' AND event_type = 'account_locked'),
          'security warning account 5', 'the lock event: security, warning, account scope, 5 attempts');

-- A locked account: refused whatever the password, not counted, the lock not extended.
CREATE TEMP TABLE carol_lock AS SELECT locked_until, failed_login_attempts, password_hash FROM aeauth.users WHERE id = :'carol';
SELECT is(aeauth.change_password(:'carol', 'Carol-pass-2024', 'Brand-new-2024'), 'invalid_credentials',
          'the RIGHT password on a locked account: invalid_credentials (nothing revealed)');
SELECT is(aeauth.change_password(:'carol', 'wrong-guess-6', 'Brand-new-2024'), 'invalid_credentials',
          'a wrong one: the same answer');
SELECT is(pg_temp.err($$SELECT aeauth.change_password('$$ || :'carol' || $$', 'Carol-pass-2024', 'short')$$), 'no error',
          'a right password with a new one breaking the policy: no 22023 that would tell the password was right');
SELECT ok((SELECT u.locked_until = l.locked_until AND u.failed_login_attempts = l.failed_login_attempts AND u.password_hash = l.password_hash
             FROM aeauth.users u, carol_lock l WHERE u.id = :'carol'),
          'neither counted nor extended, and the password is unchanged');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log
            WHERE user_id = :'carol' AND event_type = 'password_change' AND status = 'failure' AND metadata->>'reason' = 'locked'),
          3, 'the audit log keeps the true reason (locked) for the three refusals');
SELECT is((SELECT status FROM aeauth.login('carol', 'Carol-pass-2024')), 'invalid_credentials',
          'the lock set by change_password also holds at login');

-- The lock runs out: a fresh count, the unlock audited as login does it.
UPDATE aeauth.users SET locked_until = now() - interval '1 second' WHERE id = :'carol';
SELECT is(aeauth.change_password(:'carol', 'wrong-guess-7', 'Brand-new-2024'), 'invalid_credentials', 'a failure after the lock ran out');
SELECT is((SELECT failed_login_attempts || ' ' || (locked_until IS NULL) FROM aeauth.users WHERE id = :'carol'), '1 true',
          'starts a fresh count');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = :'carol' AND event_type = 'account_unlocked' AND metadata->>'reason' = 'lock_expired'),
          1, 'account_unlocked (lock_expired) audited');

-- The next lock doubles (progressive), as for login.
SELECT aeauth.change_password(:'carol', 'wrong-guess-' || g, 'Brand-new-2024') FROM generate_series(8, 11) g;
SELECT ok((SELECT failed_login_attempts = 5 AND lockout_count = 2
                  AND locked_until BETWEEN now() + interval '119 seconds' AND now() + interval '121 seconds'
             FROM aeauth.users WHERE id = :'carol'), 'the second lock lasts twice as long');

-- unlock_user lifts it; the right password then works and starts the count again.
SELECT aeauth.unlock_user(:'carol');
SELECT is(aeauth.change_password(:'carol', 'wrong-guess-12', 'Brand-new-2024'), 'invalid_credentials', 'one more failure');
SELECT is(aeauth.change_password(:'carol', 'Carol-pass-2024', 'Brand-new-2024'), 'ok', 'after unlock_user the right password works');
SELECT is((SELECT failed_login_attempts || ' ' || lockout_count || ' ' || (locked_until IS NULL) FROM aeauth.users WHERE id = :'carol'),
          '0 0 true', 'a successful change resets the counter and the progression, like a successful login');

-- Inactive accounts: refused, not counted (as login).
SELECT aeauth.register_user('dave@example.com', 'dave', 'Dave-pass-2024') AS dave \gset
SELECT aeauth.set_user_status(:'dave', 'suspended');
SELECT is(aeauth.change_password(:'dave', 'wrong-guess', 'Brand-new-2024'), 'invalid_credentials', 'suspended: invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'dave'), 0, 'not counted');

-- ---------------------------------------------------------------------------------------------
-- 2. Passwords need visible characters
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', 'zw1@example.com', 'zw1', repeat(c, 10))),
          '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          format('register: ten U+%s only: 22023 naming the rule', upper(to_hex(ascii(c)))))
  FROM unnest(ARRAY[E'\u200b', E'\u200c', E'\u200d', E'\u2060', E'\ufeff', E'\u00ad', E'\u180e', E'\U000e0020']) c;
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', 'zw2@example.com', 'zw2', E'ab\u200b\u200c\u200d\u2060\ufeffcdef\t\n')),
          '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          'register: 6 visible characters padded with invisible ones and controls: 22023');
SELECT is(pg_temp.err(format('SELECT aeauth.hash_password(%L)', repeat(E'\u200b', 12))), '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          'hash_password applies the rule');
SELECT is(pg_temp.err(format('SELECT aeauth.set_password(%L, %L)', :'dave', repeat(E'\u2060', 12))), '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          'set_password applies the rule');
SELECT is(pg_temp.err(format('SELECT aeauth.change_password(%L, %L, %L)', :'carol', 'Brand-new-2024', repeat(E'\ufeff', 12))),
          '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          'change_password applies the rule to the new password');
SELECT aeauth.request_password_reset('carol@example.com') AS carol_reset \gset
SELECT is(pg_temp.err(format('SELECT aeauth.reset_password(%L, %L)', :'carol_reset', repeat(E'\u200d', 12))),
          '22023: Passwords must be at least 8 visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.',
          'reset_password applies the rule');
SELECT is(pg_temp.err($$SELECT aeauth.hash_password('short')$$),
          '22023: Passwords must be at least 8 characters long (counted after Unicode NFKC normalization).',
          'a short password still gets the length rule it always got');
SELECT ok(aeauth.verify_password(E'Emoji-\U0001F468\u200d\U0001F469\u200d\U0001F467', aeauth.hash_password(E'Emoji-\U0001F468\u200d\U0001F469\u200d\U0001F467')),
          'visible characters joined by U+200D are accepted and verify as typed (the joiner is hashed)');
SELECT ok(NOT aeauth.verify_password(E'Emoji-\U0001F468\U0001F469\U0001F467', aeauth.hash_password(E'Emoji-\U0001F468\u200d\U0001F469\u200d\U0001F467')),
          'and are not stripped: without the joiners it is another password');

-- The identity and deny-list rules cannot be dodged with invisible characters.
INSERT INTO aeauth.password_denylist (password) VALUES ('letmein2024');
SELECT is(pg_temp.err(format('SELECT aeauth.hash_password(%L)', E'letmein\u200b2024')),
          '22023: Passwords must not be in the deny list (aeauth.password_denylist).', 'a listed password with a zero-width space inside is still listed');
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', 'zw3@example.com', 'zw3player', E'zw3\u2060player')),
          '22023: Passwords must not be equal to the username.', 'the username with a word joiner inside is still the username');

-- A hash stored before the rule still verifies: nine U+200B, argon2id made with libsodium
-- (how: test/fixtures/README.md, "Invisible-only legacy hash").
SELECT aeauth.import_user('legacyzw@example.com', 'legacyzw', '$argon2id$v=19$m=64,t=1,p=1$W8xPcVqX9ba4T2m8/2nXUQ$1/8xarA4c1ch+zynp7SRoz0dbMrbDyERNGGP3po76GY') AS legacyzw \gset
SELECT ok(aeauth.verify_password(repeat(E'\u200b', 9), (SELECT password_hash FROM aeauth.users WHERE id = :'legacyzw')),
          'verify_password: an old invisible-only password still verifies');
SELECT is((SELECT status FROM aeauth.login('legacyzw', repeat(E'\u200b', 9))), 'ok', 'and logs in');
SELECT is(aeauth.change_password(:'legacyzw', repeat(E'\u200b', 9), 'Visible-pass-2024'), 'ok',
          'change_password accepts it as the current password, so its owner can move to a valid one');

-- ---------------------------------------------------------------------------------------------
-- 3. Emails folded to NFKC
SELECT aeauth.register_user('player@example.com', 'player', 'Player-pass-2024') AS player \gset
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', E'\uff50\uff4c\uff41\uff59\uff45\uff52\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com', 'player2', 'Player-pass-2024')),
          '23505: The field "email" must be unique (case-insensitively).', 'register: the full-width look-alike of a taken email: 23505');
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', E'\uff30LAYER@example.com', 'player3', 'Player-pass-2024')),
          '23505: The field "email" must be unique (case-insensitively).', 'register: full-width and upper case: 23505');
SELECT is(pg_temp.err(format('SELECT aeauth.import_user(%L, %L, %L)', E'pl\uff41yer@ex\uff41mple.com', 'player4', '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.')),
          '23505: The field "email" must be unique (case-insensitively).', 'import_user: 23505 too');
SELECT aeauth.register_user(E'\uff4d\uff41\uff52\uff59\uff20example\uff0ecom', 'mary', 'Mary-pass-2024') AS mary \gset
SELECT is((SELECT email FROM aeauth.users WHERE id = :'mary'), 'mary@example.com', 'a new full-width email is stored folded');
SELECT is((SELECT email FROM aeauth.users WHERE id = :'player'), 'player@example.com', 'an ASCII email is stored as typed');
SELECT is((SELECT user_id FROM aeauth.login(E'\uff50\uff4c\uff41\uff59\uff45\uff52\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com', 'Player-pass-2024')),
          :'player'::uuid, 'login with the full-width look-alike (full-width @ too) reaches the same account');
SELECT is((SELECT user_id FROM aeauth.login('Mary@Example.com', 'Mary-pass-2024')), :'mary'::uuid,
          'login with the ASCII form of a full-width registration');
SELECT ok(aeauth.request_password_reset(E'\uff50layer@example.com') IS NOT NULL, 'request_password_reset with a look-alike: a token');
SELECT ok(EXISTS (SELECT FROM aeauth.password_reset_tokens WHERE user_id = :'player'), 'for the same account (1.7: its row in aeauth.password_reset_tokens)');
SELECT is(aeauth.request_password_reset(E'\uff4eobody@example.com'), NULL, 'an unknown folded email: NULL as before');
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', E'a\uff20b@example.com', 'fold2at', 'Player-pass-2024')),
          '22023: An email address has exactly one @.', 'the syntax is checked on the folded form (a full-width @ is an @)');
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', E'bob\u2064@example.com', 'inv2064', 'Player-pass-2024')),
          '22023: Email addresses must not contain invisible or text-direction characters.', 'an email with U+2064 (default-ignorable) is refused');
SELECT is(pg_temp.err(format('SELECT aeauth.register_user(%L, %L, %L)', repeat(E'\ufdfa', 4) || '@example.com', 'fdfa', 'Player-pass-2024')),
          '22023: The part before the @ must be 1 to 64 bytes long.', 'the length rules apply to the folded form (U+FDFA folds to 18 characters)');

-- The schema guarantees it for any writer of the table.
SELECT throws_ok($$INSERT INTO aeauth.users (email, username, password_hash) VALUES (E'\uff4eew@example.com', 'rawinsert', 'x')$$,
                 '23514', NULL, 'a raw INSERT of an unfolded email breaks users_email_nfkc_check (23514)');
SELECT ok((SELECT indisunique FROM pg_index WHERE indexrelid = 'aeauth.users_email_nfkc_key'::regclass)
          AND pg_get_indexdef('aeauth.users_email_nfkc_key'::regclass) LIKE '%(lower("normalize"((email)::text, ''NFKC''::text))) WHERE (NOT email_kept_as_typed)',
          'a unique index on the folded email');

SELECT * FROM finish();
ROLLBACK;
