-- expire_sessions(): dead sessions marked expired, useless rotated token hashes deleted.
-- Access to the session functions: app and admin per API.md.
BEGIN;
SELECT plan(17);
INSERT INTO aeauth.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-000000000001', 'a@x.com', 'a', 'x');
CREATE TEMP TABLE s AS
  SELECT g, c.* FROM generate_series(1, 5) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-000000000001', device_name => 'd' || g) c;
-- 1 live, 2 refresh-expired, 3 past the absolute timeout, 4 idle, 5 revoked.
UPDATE aeauth.user_sessions SET expires_at = now() - interval '1 second' WHERE id = (SELECT session_id FROM s WHERE g = 2);
UPDATE aeauth.user_sessions SET created_at = now() - interval '91 days' WHERE id = (SELECT session_id FROM s WHERE g = 3);
UPDATE aeauth.user_sessions SET last_activity = now() - interval '8 days' WHERE id = (SELECT session_id FROM s WHERE g = 4);
CREATE TEMP TABLE j1 AS SELECT aeauth.revoke_session((SELECT session_id FROM s WHERE g = 5));
-- Rotated tokens: one of the live session (kept), one of the revoked session (useless),
-- one older than refresh_token_ttl (useless).
CREATE TEMP TABLE j2 AS SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 1));
INSERT INTO aeauth.session_rotated_tokens VALUES
  ('\x01', (SELECT session_id FROM s WHERE g = 5), now()),
  ('\x02', (SELECT session_id FROM s WHERE g = 1), now() - interval '31 days');

SELECT results_eq($$SELECT task, affected FROM aeauth.expire_sessions()$$,
                  $$VALUES ('sessions: expired sessions marked'::text, 3::bigint), ('sessions: rotated refresh token hashes purged', 2)$$,
                  'three sessions expired, two rotated hashes purged');
SELECT is((SELECT status FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 1)), 'active', 'the live session stays active');
SELECT is((SELECT array_agg(u.status ORDER BY s.g) FROM aeauth.user_sessions u JOIN s ON s.session_id = u.id WHERE g IN (2, 3, 4)),
          ARRAY['expired', 'expired', 'expired']::varchar[], 'refresh-expired, too old and idle sessions are marked expired');
SELECT is((SELECT status FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s WHERE g = 5)), 'revoked', 'a revoked one stays revoked');
SELECT is((SELECT count(*)::int FROM aeauth.session_rotated_tokens), 1, 'only the live session''s recent rotated hash is kept');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s WHERE g = 2))), 'expired', 'an expired session refreshes as expired');
SELECT results_eq($$SELECT task, affected FROM aeauth.expire_sessions()$$,
                  $$VALUES ('sessions: expired sessions marked'::text, 0::bigint), ('sessions: rotated refresh token hashes purged', 0)$$, 'a second run finds nothing');
SELECT ok(EXISTS (SELECT FROM aeauth.maintenance_tasks WHERE function = 'aeauth.expire_sessions()'), 'run_maintenance() runs it');
SELECT ok(NOT has_function_privilege('public', 'aeauth.expire_sessions()', 'EXECUTE'), 'not executable by PUBLIC');

CREATE ROLE aeauth_t_app;
CREATE ROLE aeauth_t_admin;
SELECT aeauth.grant_app_access('aeauth_t_app');
SELECT aeauth.grant_admin_access('aeauth_t_admin');
SELECT ok(bool_and(has_function_privilege('aeauth_t_app', f, 'EXECUTE')), 'the app role executes the app session functions')
  FROM unnest(ARRAY['aeauth.validate_session(text)', 'aeauth.refresh_session(text,inet,text)', 'aeauth.logout(text)',
                    'aeauth.revoke_session(uuid,text)', 'aeauth.revoke_user_sessions(uuid,uuid,text)',
                    'aeauth.list_sessions(uuid)', 'aeauth.current_user_id()']) f;
SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.create_session(uuid,inet,text,text,text,boolean)', 'EXECUTE'),
          'the app role cannot create sessions without a login');
SELECT ok(NOT has_function_privilege('aeauth_t_app', 'aeauth.expire_sessions()', 'EXECUTE'), 'nor run maintenance');
SELECT ok(has_function_privilege('aeauth_t_admin', 'aeauth.create_session(uuid,inet,text,text,text,boolean)', 'EXECUTE'),
          'the admin role creates sessions');
SELECT ok(NOT has_table_privilege('aeauth_t_app', 'aeauth.session_secret', 'SELECT')
          AND NOT has_table_privilege('aeauth_t_admin', 'aeauth.session_secret', 'SELECT'), 'nobody but the owner reads the secret');
GRANT SELECT ON s TO aeauth_t_app;
SET LOCAL ROLE aeauth_t_app;
SELECT is((SELECT count(*)::int FROM aeauth.validate_session((SELECT access_token FROM s WHERE g = 1))), 0,
          'the app role calls validate_session (a rotated-away access token: zero rows)');
SELECT throws_ok($$SET aeauth.access_token_ttl = '1h'$$, '42501', NULL, 'the app role cannot change a session setting');
RESET ROLE;
SELECT is(current_setting('aeauth.max_sessions_per_user'), '10', 'max_sessions_per_user defaults to 10');

SELECT * FROM finish();
ROLLBACK;
