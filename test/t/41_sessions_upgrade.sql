-- Upgrading to 1.3 from 1.0 with sessions already in the table: their single expiry becomes the
-- access token's, sessions of users who are not active are revoked, and they keep working.
BEGIN;
SELECT plan(7);
DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.0';
INSERT INTO aeauth.users (id, email, username, password_hash, status) VALUES
  ('00000000-0000-0000-0000-000000000001', 'a@x.com', 'a', 'x', 'active'),
  ('00000000-0000-0000-0000-000000000002', 'b@x.com', 'b', 'x', 'banned');
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
SELECT u, sha256(convert_to('aea_' || lpad(n::text, 42, 'A') || 'A', 'UTF8')),
       sha256(convert_to('aer_' || lpad(n::text, 42, 'A') || 'A', 'UTF8')), now() + interval '1 hour'
  FROM (VALUES ('00000000-0000-0000-0000-000000000001'::uuid, 1), ('00000000-0000-0000-0000-000000000002', 2)) v(u, n);
ALTER EXTENSION aeauth UPDATE;

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'aeauth'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'aeauth'), 'updated to the default version');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE access_expires_at = expires_at), 2,
          'access_expires_at backfilled from the old single expiry');
SELECT is((SELECT status FROM aeauth.user_sessions WHERE user_id = '00000000-0000-0000-0000-000000000002'), 'revoked',
          'a banned user''s old session is revoked by the upgrade');
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session('aea_' || lpad('1', 42, 'A') || 'A')$$,
                  'an old session of an active user validates after the upgrade');
SELECT is((SELECT status FROM aeauth.refresh_session('aer_' || lpad('1', 42, 'A') || 'A')), 'ok', 'and refreshes');
SELECT is((SELECT count(*)::int FROM aeauth.session_secret), 1, 'one derivation secret');
SELECT is((SELECT length(key) FROM aeauth.session_secret), 32, 'of 32 bytes');
SELECT * FROM finish();
ROLLBACK;
