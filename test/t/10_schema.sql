-- Schema 1.0: constraints and triggers of the corrected seed schema.
BEGIN;
SELECT plan(20);

SELECT has_table('aeauth', 'users', 'users exists');
SELECT has_table('aeauth', 'user_sessions', 'user_sessions exists');
SELECT has_table('aeauth', 'user_audit_log', 'user_audit_log exists');
SELECT has_table('aeauth', 'schema_history', 'schema_history exists');

SELECT hasnt_column('aeauth', 'user_sessions', 'session_token', 'no plaintext session token column');
SELECT col_type_is('aeauth', 'user_sessions', 'access_token_hash', 'bytea', 'access token stored as a hash');
SELECT col_type_is('aeauth', 'user_sessions', 'refresh_token_hash', 'bytea', 'refresh token stored as a hash');
SELECT col_type_is('aeauth', 'users', 'password_reset_token_hash', 'bytea', 'reset token stored as a hash');
SELECT col_type_is('aeauth', 'users', 'created_at', 'timestamp with time zone', 'timestamps are timestamptz');

INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-00000000000a', 'Alice@X.com', 'Alice', 'x');

SELECT throws_ok(
  $$INSERT INTO aeauth.users (email, username, password_hash) VALUES ('alice@x.com', 'other', 'x')$$,
  '23505', NULL, 'email unique case-insensitively');
SELECT throws_ok(
  $$INSERT INTO aeauth.users (email, username, password_hash) VALUES ('b@x.com', 'ALICE', 'x')$$,
  '23505', NULL, 'username unique case-insensitively');
SELECT lives_ok(
  $$INSERT INTO aeauth.users (email, username, password_hash) VALUES ('b@x.com', 'bob', 'x')$$,
  'a different email and username is accepted');
SELECT throws_ok(
  $$INSERT INTO aeauth.users (email, username, password_hash, status) VALUES ('c@x.com', 'carol', 'x', 'deleted')$$,
  '23514', NULL, 'status outside active/inactive/suspended/banned is refused');
SELECT lives_ok(
  $$INSERT INTO aeauth.users (email, username, password_hash, status) VALUES ('d@x.com', 'dave', 'x', 'banned')$$,
  'status banned is accepted');
SELECT throws_ok(
  $$UPDATE aeauth.users SET failed_login_attempts = -1 WHERE username = 'bob'$$,
  '23514', NULL, 'failed_login_attempts cannot go negative');

-- updated_at follows every update, to the transaction's time (now()).
UPDATE aeauth.users SET updated_at = '2000-01-01', created_at = '2000-01-01'
 WHERE id = '00000000-0000-0000-0000-00000000000a';
SELECT is((SELECT updated_at FROM aeauth.users WHERE id = '00000000-0000-0000-0000-00000000000a'),
          now(), 'updated_at is set by the trigger, whatever the UPDATE says');
SELECT is((SELECT created_at FROM aeauth.users WHERE id = '00000000-0000-0000-0000-00000000000a'),
          '2000-01-01'::timestamptz, 'created_at is left alone');

INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
VALUES ('00000000-0000-0000-0000-00000000000a', '\x01', '\x02', now() + interval '1 hour');
SELECT throws_ok(
  $$INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
    VALUES ('00000000-0000-0000-0000-00000000000a', '\x01', '\x03', now())$$,
  '23505', NULL, 'an access token hash is unique');
SELECT throws_ok(
  $$INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at, risk_score)
    VALUES ('00000000-0000-0000-0000-00000000000a', '\x04', '\x05', now(), 101)$$,
  '23514', NULL, 'risk_score is 0..100');

DELETE FROM aeauth.users WHERE id = '00000000-0000-0000-0000-00000000000a';
SELECT is((SELECT count(*) FROM aeauth.user_sessions), 0::bigint, 'sessions go with their user');

SELECT * FROM finish();
ROLLBACK;
