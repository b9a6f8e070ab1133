-- Accounts: register_user, import_user, change_password, set_password, set_user_status,
-- unlock_user; policy rules, input rules, sessions revoked, audit rows without secrets, access.
BEGIN;
SELECT plan(79);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

-- SQLSTATE and errdetail of a statement (pgTAP's throws_ok checks the message only).
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; d text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, d = PG_EXCEPTION_DETAIL;
  RETURN s || ': ' || coalesce(d, '');
END $$;
-- Every text aeauth puts in an error (message, detail, hint) for a statement.
CREATE FUNCTION pg_temp.err_all(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text; c text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  -- The context would quote this EXECUTE's own statement text, so it is left out.
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN concat_ws(' | ', m, d, h);
END $$;

-- ---------------------------------------------------------------------------------------------
-- register_user
CREATE TEMP TABLE u AS
SELECT aeauth.register_user('  Alice@Example.com ', 'alice_01', 'correct horse battery') AS id;
SELECT is((SELECT email FROM aeauth.users WHERE id = (SELECT id FROM u)), 'Alice@Example.com', 'email stored trimmed');
SELECT is((SELECT status || '/' || email_verified FROM aeauth.users WHERE id = (SELECT id FROM u)), 'active/false',
          'a new user is active and not verified');
SELECT ok((SELECT password_hash LIKE '$argon2id$v=19$m=64,t=1,p=1$%' FROM aeauth.users WHERE id = (SELECT id FROM u)),
          'the password is stored as argon2id');
SELECT ok((SELECT aeauth.verify_password('correct horse battery', password_hash) FROM aeauth.users WHERE id = (SELECT id FROM u)),
          'and verifies');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = (SELECT id FROM u) AND event_type = 'registration' AND status = 'success'),
          1, 'registration is audited');

-- duplicates, case-insensitively, naming the field
SELECT is(pg_temp.err($$SELECT aeauth.register_user('alice@EXAMPLE.com', 'other', 'correct horse battery')$$),
          '23505: The field "email" must be unique (case-insensitively).', 'duplicate email: 23505 naming email');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('other@example.com', 'ALICE_01', 'correct horse battery')$$),
          '23505: The field "username" must be unique (case-insensitively).', 'duplicate username: 23505 naming username');
SELECT lives_ok($$SELECT aeauth.register_user('bob@example.com', 'bob', 'correct horse battery')$$, 'distinct email and username register');

-- NULLs
SELECT throws_ok($$SELECT aeauth.register_user(NULL, 'x1x', 'correct horse battery')$$, '22004', 'email must not be NULL', 'NULL email: 22004');
SELECT throws_ok($$SELECT aeauth.register_user('n@example.com', NULL, 'correct horse battery')$$, '22004', 'username must not be NULL', 'NULL username: 22004');
SELECT throws_ok($$SELECT aeauth.register_user('n@example.com', 'nnn', NULL)$$, '22004', 'password must not be NULL', 'NULL password: 22004');

-- email syntax
SELECT lives_ok($$SELECT aeauth.register_user('first.last+tag@sub.example.co.uk', 'emailok', 'correct horse battery')$$, 'a plain address with + and subdomains is accepted');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('no-at-sign.example.com', 'e1x', 'correct horse battery')$$),
          '22023: An email address has exactly one @.', 'no @: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('a@b@example.com', 'e2x', 'correct horse battery')$$),
          '22023: An email address has exactly one @.', 'two @: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('user@localhost', 'e3x', 'correct horse battery')$$),
          '22023: The domain must contain a dot.', 'domain without a dot: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('us er@example.com', 'e4x', 'correct horse battery')$$),
          '22023: The part before the @ contains a character that is not allowed.', 'space inside: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('a..b@example.com', 'e5x', 'correct horse battery')$$),
          '22023: The part before the @ must not start or end with a dot or contain two dots in a row.', 'double dot: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('a@-example.com', 'e6x', 'correct horse battery')$$),
          '22023: Parts of the domain must not start or end with a hyphen.', 'domain label with a leading hyphen: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('   ', 'e7x', 'correct horse battery')$$),
          '22023: The email address is empty.', 'blank email: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user(repeat('a', 65) || '@example.com', 'e8x', 'correct horse battery')$$),
          '22023: The part before the @ must be 1 to 64 bytes long.', 'local part over 64 bytes: 22023');

-- username rules
SELECT lives_ok($$SELECT aeauth.register_user('u1@example.com', 'abc', 'correct horse battery')$$, '3 characters is accepted');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u2@example.com', 'ab', 'correct horse battery')$$),
          '22023: Usernames must be 3 to 50 characters long.', '2 characters: 22023');
SELECT lives_ok($$SELECT aeauth.register_user('u3@example.com', repeat('a', 50), 'correct horse battery')$$, '50 characters is accepted');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u4@example.com', repeat('a', 51), 'correct horse battery')$$),
          '22023: Usernames must be 3 to 50 characters long.', '51 characters: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u5@example.com', 'al@ce', 'correct horse battery')$$),
          '22023: Usernames may contain only the letters A-Z and a-z, digits, "_", "." and "-".', '@ in a username: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u6@example.com', 'bad name', 'correct horse battery')$$),
          '22023: Usernames may contain only the letters A-Z and a-z, digits, "_", "." and "-".', 'space in a username: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u7@example.com', '_lead', 'correct horse battery')$$),
          '22023: Usernames must start with a letter or a digit.', 'leading underscore: 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('u8@example.com', U&'a\0430lice', 'correct horse battery')$$),
          '22023: Usernames may contain only the letters A-Z and a-z, digits, "_", "." and "-".', 'Cyrillic look-alike: 22023');

-- password policy, each rule beside a passing case
SELECT is(pg_temp.err($$SELECT aeauth.register_user('p1@example.com', 'pone', 'seven77')$$),
          '22023: Passwords must be at least 8 characters long (counted after Unicode NFKC normalization).', '7 characters: 22023 naming the rule');
SELECT lives_ok($$SELECT aeauth.register_user('p2@example.com', 'ptwo', 'eight888')$$, '8 characters: accepted');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('p3@example.com', 'pthree', U&'e\0301e\0301e\0301e\0301')$$),
          '22023: Passwords must be at least 8 characters long (counted after Unicode NFKC normalization).',
          '4 × (e + combining accent) is 4 characters after NFKC, not 8');
SET aeauth.password_min_length = 12;
SELECT is(pg_temp.err($$SELECT aeauth.register_user('p4@example.com', 'pfour', 'eleven11111')$$),
          '22023: Passwords must be at least 12 characters long (counted after Unicode NFKC normalization).', 'the minimum follows the setting');
RESET aeauth.password_min_length;
SELECT is(pg_temp.err($$SELECT aeauth.register_user('p5@example.com', 'p5', repeat('x', 1025))$$),
          '22023: Passwords may be at most 1024 bytes long.', 'over 1024 bytes: 22023');
SELECT lives_ok($$SELECT aeauth.register_user('p6@example.com', 'psix', repeat('x', 1024))$$, '1024 bytes: accepted');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('p7@example.com', 'CarolTheGreat', 'caroltheGREAT')$$),
          '22023: Passwords must not be equal to the username.', 'password = username (any case): 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('Dave.Smith@Example.com', 'dave', 'dave.smith@example.COM')$$),
          '22023: Passwords must not be equal to the email address.', 'password = email (any case): 22023');
SELECT lives_ok($$SELECT aeauth.register_user('erin@example.com', 'erin', 'erin@example.com!')$$, 'password containing the email is accepted');
INSERT INTO aeauth.password_denylist (password) VALUES ('Password123'), (U&'\FF51\FF57\FF45\FF52\FF54\FF59\FF55\FF49');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('f1@example.com', 'fone', 'PASSWORD123')$$),
          '22023: Passwords must not be in the deny list (aeauth.password_denylist).', 'deny-listed (case-insensitive): 22023');
SELECT is(pg_temp.err($$SELECT aeauth.register_user('f2@example.com', 'ftwo', 'qwertyui')$$),
          '22023: Passwords must not be in the deny list (aeauth.password_denylist).', 'deny-listed in fullwidth form, compared after NFKC: 22023');
SELECT lives_ok($$SELECT aeauth.register_user('f3@example.com', 'fthree', 'Password1234')$$, 'a password not in the list is accepted');
SELECT throws_ok($$INSERT INTO aeauth.password_denylist (password) VALUES ('PASSWORD123')$$, '23505', NULL,
                 'the deny list is unique after normalization and case folding');
-- No error text ever contains the password.
SELECT ok(position('Sekr1tPassw0rd' IN pg_temp.err_all($$SELECT aeauth.register_user('g1@example.com', 'Sekr1tPassw0rd', 'Sekr1tPassw0rd')$$)) = 0,
          'a refused password is not echoed in message, detail or hint');
SELECT ok(position('SecretXY' IN lower(pg_temp.err_all($$SELECT aeauth.hash_password('SecretXY' || repeat('z', 2000))$$))) = 0,
          'nor an overlong one');

-- ---------------------------------------------------------------------------------------------
-- import_user
CREATE TEMP TABLE imp AS
SELECT aeauth.import_user('legacy@example.com', 'legacy', '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.', true) AS id;
SELECT is((SELECT password_hash || ' ' || email_verified FROM aeauth.users WHERE id = (SELECT id FROM imp)),
          '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8. true', 'import keeps the bcrypt hash and the verified flag');
SELECT lives_ok($$SELECT aeauth.import_user('legacy2@example.com', 'legacy2', '$argon2id$v=19$m=1024,t=2,p=1$7gGNkt3MlWM4/eOgaRJn7g$xyVFJn5sUT0wCXn9I67IccK79P3a7wdS0cGU94zEADs')$$,
                'an argon2id PHC string is imported');
SELECT is(pg_temp.err($$SELECT aeauth.import_user('legacy3@example.com', 'legacy3', '5f4dcc3b5aa765d61d8327deb882cf99')$$),
          '22023: The password_hash must be an argon2id PHC string (v=19, bounded parameters) or a bcrypt $2a$, $2b$ or $2y$ hash with a cost from 04 to 16.',
          'an unsupported hash (md5 hex) is refused');
SELECT is(pg_temp.err($$SELECT aeauth.import_user('LEGACY@example.com', 'legacy4', '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.')$$),
          '23505: The field "email" must be unique (case-insensitively).', 'import: duplicate email 23505');
SELECT is((SELECT email_verified FROM aeauth.users WHERE email = 'legacy2@example.com'), false, 'email_verified defaults to false');

-- ---------------------------------------------------------------------------------------------
-- change_password; sessions: two live sessions for legacy
INSERT INTO aeauth.user_sessions (id, user_id, access_token_hash, refresh_token_hash, expires_at)
SELECT g::text::uuid, (SELECT id FROM imp), sha256(convert_to('a' || g, 'UTF8')), sha256(convert_to('r' || g, 'UTF8')), now() + interval '1 day'
  FROM (VALUES ('00000000-0000-0000-0000-000000000001'), ('00000000-0000-0000-0000-000000000002'), ('00000000-0000-0000-0000-000000000003')) s(g);
INSERT INTO aeauth.password_reset_tokens (token_hash, user_id, expires_at)
SELECT sha256('\x01'::bytea), id, now() + interval '1 hour' FROM imp;

SELECT is(aeauth.change_password((SELECT id FROM imp), 'wrong password', 'brand new password'), 'invalid_credentials',
          'a wrong current password: invalid_credentials (returned, not raised)');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = (SELECT id FROM imp) AND event_type = 'password_change' AND status = 'failure'),
          1, 'the failure is audited');
SELECT is(aeauth.change_password('00000000-0000-0000-0000-0000000000ff', 'whatever1', 'brand new password'), 'invalid_credentials',
          'an unknown user: the same answer');
SELECT is(pg_temp.err($$SELECT aeauth.change_password((SELECT id FROM imp), 'correct horse battery staple', 'legacy')$$),
          '22023: Passwords must be at least 8 characters long (counted after Unicode NFKC normalization).', 'the new password must meet the policy');
SELECT is(aeauth.change_password((SELECT id FROM imp), 'correct horse battery staple', 'brand new password', '00000000-0000-0000-0000-000000000002'),
          'ok', 'the right current password (bcrypt, imported): ok');
SELECT ok((SELECT password_hash LIKE '$argon2id$%' AND aeauth.verify_password('brand new password', password_hash) FROM aeauth.users WHERE id = (SELECT id FROM imp)),
          'the new password is stored as argon2id');
SELECT is((SELECT array_agg(id::text || ':' || status ORDER BY id) FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM imp)),
          ARRAY['00000000-0000-0000-0000-000000000001:revoked', '00000000-0000-0000-0000-000000000002:active', '00000000-0000-0000-0000-000000000003:revoked'],
          'every other session is revoked, keep_session_id stays');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM imp)), 0, 'a password change voids a pending reset token');
SELECT is(aeauth.change_password((SELECT id FROM imp), 'correct horse battery staple', 'another new password'), 'invalid_credentials',
          'the old password no longer works');
SELECT throws_ok($$SELECT aeauth.change_password(NULL, 'a', 'bbbbbbbbbb')$$, '22004', 'user_id must not be NULL', 'NULL user_id: 22004');

-- ---------------------------------------------------------------------------------------------
-- set_password (admin): revokes all sessions
UPDATE aeauth.user_sessions SET status = 'active' WHERE user_id = (SELECT id FROM imp);
SELECT lives_ok($$SELECT aeauth.set_password((SELECT id FROM imp), 'admin chosen password')$$, 'set_password works');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM imp) AND status = 'active'), 0, 'set_password revokes all sessions');
SELECT is((SELECT DISTINCT revoked_by FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM imp)), 'admin', 'recorded as revoked by admin');
SELECT ok((SELECT aeauth.verify_password('admin chosen password', password_hash) FROM aeauth.users WHERE id = (SELECT id FROM imp)), 'the new password verifies');
SELECT is(pg_temp.err($$SELECT aeauth.set_password((SELECT id FROM imp), 'legacy@example.com')$$),
          '22023: Passwords must not be equal to the email address.', 'set_password applies the policy');
SELECT throws_ok($$SELECT aeauth.set_password('00000000-0000-0000-0000-0000000000ff', 'admin chosen password')$$, '22023', 'no user with this id', 'unknown user: 22023');

-- ---------------------------------------------------------------------------------------------
-- set_user_status (admin)
UPDATE aeauth.user_sessions SET status = 'active' WHERE user_id = (SELECT id FROM imp);
SELECT lives_ok($$SELECT aeauth.set_user_status((SELECT id FROM imp), 'active', 'no change')$$, 'status active');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM imp) AND status = 'active'), 3, 'active keeps sessions');
SELECT lives_ok($$SELECT aeauth.set_user_status((SELECT id FROM imp), 'suspended', 'cheating report #42')$$, 'status suspended');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM imp) AND status = 'active'), 0, 'suspended revokes all sessions');
SELECT is((SELECT metadata FROM aeauth.user_audit_log WHERE user_id = (SELECT id FROM imp) AND event_type = 'status_change' ORDER BY created_at DESC, (metadata->>'to') = 'suspended' DESC LIMIT 1),
          '{"to": "suspended", "from": "active", "reason": "cheating report #42"}'::jsonb, 'the change is audited with from, to and reason');
SELECT is(pg_temp.err($$SELECT aeauth.set_user_status((SELECT id FROM imp), 'deleted')$$),
          '22023: The status must be one of active, inactive, suspended, banned.', 'an unknown status: 22023');
SELECT throws_ok($$SELECT aeauth.set_user_status('00000000-0000-0000-0000-0000000000ff', 'banned')$$, '22023', 'no user with this id', 'unknown user: 22023');

-- ---------------------------------------------------------------------------------------------
-- unlock_user (admin)
UPDATE aeauth.users SET failed_login_attempts = 7, locked_until = now() + interval '1 hour' WHERE id = (SELECT id FROM u);
SELECT lives_ok($$SELECT aeauth.unlock_user((SELECT id FROM u))$$, 'unlock_user works');
SELECT is((SELECT failed_login_attempts || '/' || coalesce(locked_until::text, 'null') FROM aeauth.users WHERE id = (SELECT id FROM u)), '0/null',
          'the lock and the counter are cleared');

-- ---------------------------------------------------------------------------------------------
-- Audit rows never hold a secret (passwords used above, or any hash).
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log
            WHERE concat_ws(' ', action, message, metadata::text, request_params::text) ~* '(correct horse|brand new password|admin chosen|\$argon2id\$|\$2[aby]\$)'),
          0, 'no password or hash in any audit row');

-- ---------------------------------------------------------------------------------------------
-- Access: security definer with a fixed search_path; app and admin roles.
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'aeauth'::regnamespace
              AND p.proname IN ('register_user', 'import_user', 'change_password', 'set_password', 'set_user_status', 'unlock_user',
                                'hash_password', 'verify_password', 'password_needs_rehash', 'request_email_verification', 'verify_email',
                                'request_password_reset', 'reset_password')
              AND p.prosecdef AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']),
          13, 'all 13 functions are SECURITY DEFINER with search_path = pg_catalog, pg_temp');
CREATE ROLE aeauth_t_app35;
SELECT aeauth.grant_app_access('aeauth_t_app35');
SELECT ok(has_function_privilege('aeauth_t_app35', 'aeauth.register_user(text,text,text)', 'EXECUTE')
      AND has_function_privilege('aeauth_t_app35', 'aeauth.change_password(uuid,text,text,uuid)', 'EXECUTE')
      AND has_function_privilege('aeauth_t_app35', 'aeauth.reset_password(text,text)', 'EXECUTE'),
          'the app role executes the app functions');
SELECT ok(NOT has_function_privilege('aeauth_t_app35', 'aeauth.set_password(uuid,text)', 'EXECUTE')
      AND NOT has_function_privilege('aeauth_t_app35', 'aeauth.import_user(text,text,text,boolean)', 'EXECUTE')
      AND NOT has_function_privilege('aeauth_t_app35', 'aeauth.verify_password(text,text)', 'EXECUTE'),
          'but not the admin ones');
SET LOCAL ROLE aeauth_t_app35;
SELECT isnt(aeauth.register_user('approle@example.com', 'approle', 'correct horse battery'), NULL, 'the app role registers a user through the function');
SELECT throws_ok($$SELECT count(*) FROM aeauth.users$$, '42501', NULL, 'but cannot read the table');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
