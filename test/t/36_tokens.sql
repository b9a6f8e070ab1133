-- Email verification and password reset tokens (single use under concurrency: 37_token_race).
BEGIN;
SELECT plan(50);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

CREATE TEMP TABLE u AS SELECT aeauth.register_user('reset@example.com', 'resetme', 'original password') AS id;
CREATE TEMP TABLE other AS SELECT aeauth.register_user('other@example.com', 'otheruser', 'original password') AS id;

-- ---------------------------------------------------------------------------------------------
-- Email verification
CREATE TEMP TABLE v AS SELECT aeauth.request_email_verification((SELECT id FROM u)) AS token;
SELECT ok((SELECT token ~ '^aev_[A-Za-z0-9_-]{43}$' FROM v), 'a verification token: aev_ + 256 bits base64url');
SELECT is((SELECT email_verification_token_hash FROM aeauth.users WHERE id = (SELECT id FROM u)),
          (SELECT sha256(convert_to(token, 'UTF8')) FROM v), 'only its SHA-256 is stored');
SELECT ok((SELECT email_verification_expires_at BETWEEN now() + interval '47 hours 59 minutes' AND now() + interval '48 hours 1 minute'
             FROM aeauth.users WHERE id = (SELECT id FROM u)), 'it lives 48 hours by default');
SELECT is(aeauth.verify_email('aev_' || repeat('A', 43)), 'invalid', 'an unknown token: invalid');
SELECT is(aeauth.verify_email('garbage'), 'invalid', 'a malformed token: invalid');
SELECT is(aeauth.verify_email((SELECT replace(token, 'aev_', 'aep_') FROM v)), 'invalid', 'the right secret with the reset prefix: invalid');
SELECT is(aeauth.verify_email((SELECT token FROM v)), 'ok', 'the token: ok');
SELECT is((SELECT email_verified FROM aeauth.users WHERE id = (SELECT id FROM u)), true, 'the email is verified');
SELECT is(aeauth.verify_email((SELECT token FROM v)), 'invalid', 'a second use: invalid');
SELECT is(aeauth.request_email_verification((SELECT id FROM u)), NULL, 'an already verified email gets no new token');
SELECT throws_ok($$SELECT aeauth.request_email_verification('00000000-0000-0000-0000-0000000000ff')$$, '22023', 'no user with this id', 'unknown user: 22023');
SELECT throws_ok($$SELECT aeauth.request_email_verification(NULL)$$, '22004', 'user_id must not be NULL', 'NULL: 22004');
SELECT throws_ok($$SELECT aeauth.verify_email(NULL)$$, '22004', 'token must not be NULL', 'NULL token: 22004');

-- expiry, and the setting
SET aeauth.email_verification_ttl = '1h';
CREATE TEMP TABLE v2 AS SELECT aeauth.request_email_verification((SELECT id FROM other)) AS token;
SELECT ok((SELECT email_verification_expires_at < now() + interval '61 minutes' FROM aeauth.users WHERE id = (SELECT id FROM other)),
          'aeauth.email_verification_ttl sets the lifetime');
CREATE TEMP TABLE v3 AS SELECT aeauth.request_email_verification((SELECT id FROM other)) AS token;
SELECT is(aeauth.verify_email((SELECT token FROM v2)), 'invalid', 'a newer verification token voids the older');
UPDATE aeauth.users SET email_verification_expires_at = now() - interval '1 second' WHERE id = (SELECT id FROM other);
SELECT is(aeauth.verify_email((SELECT token FROM v3)), 'expired', 'an expired token: expired');
SELECT is((SELECT email_verified FROM aeauth.users WHERE id = (SELECT id FROM other)), false, 'and verifies nothing');

-- ---------------------------------------------------------------------------------------------
-- Password reset
CREATE TEMP TABLE r AS SELECT aeauth.request_password_reset('  RESET@example.com ') AS token;
SELECT ok((SELECT token ~ '^aep_[A-Za-z0-9_-]{43}$' FROM r), 'a reset token for a known email (any case, trimmed): aep_ + 256 bits');
SELECT is((SELECT token_hash FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM u)),
          (SELECT sha256(convert_to(token, 'UTF8')) FROM r), 'only its SHA-256 is stored (1.7: aeauth.password_reset_tokens)');
SELECT ok((SELECT expires_at BETWEEN now() + interval '23 hours 59 minutes' AND now() + interval '24 hours 1 minute'
             FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM u)), 'it lives 24 hours by default');
CREATE TEMP TABLE before_unknown AS SELECT u.*::text AS row FROM aeauth.users u;
SELECT is(aeauth.request_password_reset('nobody@example.com'), NULL, 'an unknown email: NULL');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens t
            WHERE t.created_at >= now() AND t.user_id <> (SELECT id FROM u)), 1,
          'the same work: one token row was written for the unknown email too');
SELECT ok((SELECT NOT EXISTS (SELECT FROM aeauth.users x WHERE x.id = t.user_id)
              AND t.expires_at BETWEEN now() + interval '23 hours 59 minutes' AND now() + interval '24 hours 1 minute'
              AND t.user_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
              AND length(t.token_hash) = 32
             FROM aeauth.password_reset_tokens t WHERE t.user_id <> (SELECT id FROM u)),
          'its row has a real row''s shape: a 32-byte hash, a random (v4) user id that is no user''s, 24 hours');
SELECT set_eq('SELECT u.*::text FROM aeauth.users u', 'SELECT row FROM before_unknown', 'no user row changed');
SELECT is((SELECT count(*)::int FROM aeauth.users WHERE password_reset_token_hash IS NOT NULL OR password_reset_expires_at IS NOT NULL), 0,
          'the users table no longer holds reset tokens');
SELECT throws_ok($$SELECT aeauth.request_password_reset('not an email')$$, '22023', 'invalid email address', 'a malformed email: 22023');
SELECT throws_ok($$SELECT aeauth.request_password_reset(NULL)$$, '22004', 'email must not be NULL', 'NULL: 22004');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE event_type = 'password_reset_request' AND status = 'failure' AND user_id IS NULL),
          1, 'the unknown email is audited, without a user');

-- A newer token voids the older one (its row stays until it expires or the reset, but is not the newest).
CREATE TEMP TABLE r2 AS SELECT aeauth.request_password_reset('reset@example.com') AS token;
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM u)), 2, 'two rows for the user');
SELECT is(aeauth.reset_password((SELECT token FROM r), 'the new password'), 'invalid', 'the older reset token is void');
-- Two requests in one transaction share now(): the newest is told by created_at (clock_timestamp).
SELECT cmp_ok((SELECT t2.created_at FROM aeauth.password_reset_tokens t2, r2 WHERE t2.token_hash = sha256(convert_to(r2.token, 'UTF8'))),
              '>', (SELECT t1.created_at FROM aeauth.password_reset_tokens t1, r WHERE t1.token_hash = sha256(convert_to(r.token, 'UTF8'))),
              'the newer row is newer even within one transaction');

-- Policy failure raises and leaves the token usable.
SELECT throws_ok($$SELECT aeauth.reset_password((SELECT token FROM r2), 'resetme')$$, '22023', 'password does not meet the password policy',
                 'a new password outside the policy raises 22023');

-- Lock, sessions, then the reset.
UPDATE aeauth.users SET failed_login_attempts = 5, locked_until = now() + interval '1 hour' WHERE id = (SELECT id FROM u);
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
SELECT (SELECT id FROM u), sha256(convert_to('a' || g, 'UTF8')), sha256(convert_to('r' || g, 'UTF8')), now() + interval '1 day'
  FROM generate_series(1, 2) g;
SELECT is(aeauth.reset_password((SELECT token FROM r2), 'the new password'), 'ok', 'the current token: ok');
SELECT ok((SELECT aeauth.verify_password('the new password', password_hash) FROM aeauth.users WHERE id = (SELECT id FROM u)), 'the new password is set');
SELECT is((SELECT failed_login_attempts || '/' || coalesce(locked_until::text, 'null') FROM aeauth.users WHERE id = (SELECT id FROM u)), '0/null',
          'a successful reset clears the lockout');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE user_id = (SELECT id FROM u) AND status = 'active'), 0, 'and revokes all sessions');
SELECT is(aeauth.reset_password((SELECT token FROM r2), 'yet another password'), 'invalid', 'a second use: invalid');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM u)), 0,
          'the redemption removed the user''s token rows, the older one too');
SELECT is(aeauth.reset_password('aep_' || repeat('A', 43), 'yet another password'), 'invalid', 'an unknown token: invalid');
SELECT throws_ok($$SELECT aeauth.reset_password(NULL, 'yet another password')$$, '22004', 'token must not be NULL', 'NULL token: 22004');
SELECT throws_ok($$SELECT aeauth.reset_password('aep_x', NULL)$$, '22004', 'new_password must not be NULL', 'NULL password: 22004');

-- Expiry, and the setting.
SET aeauth.password_reset_ttl = '10min';
CREATE TEMP TABLE r3 AS SELECT aeauth.request_password_reset('reset@example.com') AS token;
SELECT ok((SELECT expires_at < now() + interval '11 minutes' FROM aeauth.password_reset_tokens WHERE user_id = (SELECT id FROM u)),
          'aeauth.password_reset_ttl sets the lifetime');
UPDATE aeauth.password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM u);
SELECT is(aeauth.reset_password((SELECT token FROM r3), 'yet another password'), 'expired', 'an expired token: expired');
UPDATE aeauth.password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id <> (SELECT id FROM u);
SELECT is((SELECT affected FROM aeauth.expire_reset_tokens())::int, 2,
          'maintenance removes expired rows: the user''s and the unknown email''s alike');
SELECT is((SELECT count(*)::int FROM aeauth.password_reset_tokens), 0, 'none left');

-- Inactive accounts get no token; a pending token dies with the status change.
CREATE TEMP TABLE r4 AS SELECT aeauth.request_password_reset('reset@example.com') AS token;
SELECT aeauth.set_user_status((SELECT id FROM u), 'inactive');
SELECT is(aeauth.reset_password((SELECT token FROM r4), 'yet another password'), 'invalid', 'a token of an inactive account: invalid');
SELECT is(aeauth.request_password_reset('reset@example.com'), NULL, 'an inactive account: NULL, as for an unknown email');

-- Tokens are never in the audit log.
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log l, (SELECT token FROM v UNION ALL SELECT token FROM r UNION ALL SELECT token FROM r2) t
            WHERE position(substr(t.token, 5, 20) IN concat_ws(' ', l.action, l.message, l.metadata::text)) > 0), 0,
          'no token in any audit row');
SELECT ok((SELECT count(*) FROM aeauth.user_audit_log WHERE event_type IN ('email_verification', 'email_verification_request', 'password_reset', 'password_reset_request')) >= 12,
          'every request and redemption is audited');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE event_type = 'password_reset' AND status = 'success' AND user_id = (SELECT id FROM u)), 1,
          'the successful reset is audited once');

SELECT * FROM finish();
ROLLBACK;
