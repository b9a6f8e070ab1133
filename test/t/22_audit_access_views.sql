-- Who may do what with the audit log, and the seed's two monitoring views.
BEGIN;
SELECT plan(23);

CREATE ROLE aeauth_t_app;
CREATE ROLE aeauth_t_admin;
SELECT aeauth.grant_app_access('aeauth_t_app');
SELECT aeauth.grant_admin_access('aeauth_t_admin');
SELECT count(*) FROM aeauth.run_maintenance();

-- The backend's role: log_user_event yes, the table no.
SET LOCAL ROLE aeauth_t_app;
SELECT lives_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'authentication', 'login', 'success')$$,
                'the app role can log an event');
SELECT throws_ok('SELECT count(*) FROM aeauth.user_audit_log', '42501', NULL, 'the app role cannot read the audit table');
SELECT throws_ok($$INSERT INTO aeauth.user_audit_log (event_type, event_category, action, status, expires_at)
                   VALUES ('x', 'game', 'x', 'success', now())$$, '42501', NULL, 'nor insert into it directly');
SELECT throws_ok($$UPDATE aeauth.user_audit_log SET status = 'failure'$$, '42501', NULL, 'nor UPDATE it');
SELECT throws_ok('DELETE FROM aeauth.user_audit_log', '42501', NULL, 'nor DELETE from it');
SELECT throws_ok('TRUNCATE aeauth.user_audit_log', '42501', NULL, 'nor TRUNCATE it');
SELECT throws_ok('DELETE FROM aeauth.user_audit_log_default', '42501', NULL, 'nor DELETE from a partition');
SELECT throws_ok('SELECT * FROM aeauth.run_maintenance()', '42501', NULL, 'nor run maintenance');
SELECT throws_ok('SELECT * FROM aeauth.recent_security_events', '42501', NULL, 'nor read the monitoring views');
RESET ROLE;
SELECT is((SELECT user_id FROM aeauth.user_audit_log WHERE event_type = 'login'), NULL, 'the app role''s event was written');

SET LOCAL ROLE aeauth_t_admin;
SELECT lives_ok('SELECT * FROM aeauth.recent_security_events', 'the admin role reads recent_security_events');
SELECT lives_ok('SELECT * FROM aeauth.failed_login_attempts', 'and failed_login_attempts');
SELECT lives_ok('SELECT * FROM aeauth.run_maintenance()', 'and runs maintenance');
SELECT throws_ok('DELETE FROM aeauth.user_audit_log', '42501', NULL, 'but cannot DELETE audit rows either');
RESET ROLE;

-- The views, as the seed defines them.
INSERT INTO aeauth.users (id, email, username, password_hash) VALUES
  ('00000000-0000-0000-0000-0000000000a1', 'ann@x.com', 'ann', 'x'),
  ('00000000-0000-0000-0000-0000000000b2', 'bob@x.com', 'bob', 'x');
CREATE FUNCTION pg_temp.at(u uuid, t text, cat text, st text, ago interval, ip inet DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO aeauth.user_audit_log (user_id, event_type, event_category, action, status, ip_address, created_at, expires_at)
  VALUES (u, t, cat, t, st, ip, now() - ago, now() - ago + interval '2 years')$$;
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'lockout', 'security', 'success', '1 hour');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000b2', 'suspicious_ip', 'security', 'failure', '6 days');
SELECT pg_temp.at(NULL, 'probe', 'security', 'failure', '2 hours');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'old', 'security', 'success', '8 days');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'login', 'authentication', 'success', '1 minute');

SELECT results_eq('SELECT event_type FROM aeauth.recent_security_events',
                  ARRAY['lockout', 'probe', 'suspicious_ip']::varchar[],
                  'recent_security_events: security events of the last 7 days, newest first');
SELECT is((SELECT username FROM aeauth.recent_security_events WHERE event_type = 'lockout'), 'ann', 'with the user''s name');
SELECT is((SELECT username FROM aeauth.recent_security_events WHERE event_type = 'probe'), NULL, 'events without a user are kept (LEFT JOIN)');

-- ann: 3 failed logins in 24 h from two IPs (plus one older, one success, one other failure).
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'login', 'authentication', 'failure', '1 hour', '10.0.0.1');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'login', 'authentication', 'failure', '2 hours', '10.0.0.1');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'login', 'authentication', 'failure', '3 hours', '10.0.0.2');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'login', 'authentication', 'failure', '25 hours', '10.0.0.3');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000a1', 'password_change', 'account', 'failure', '1 hour');
-- bob: only 2 failed logins in 24 h.
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000b2', 'login', 'authentication', 'failure', '1 hour');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000b2', 'login', 'authentication', 'failure', '2 hours');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000b2', 'login', 'authentication', 'success', '3 hours');

SELECT is((SELECT count(*) FROM aeauth.failed_login_attempts), 1::bigint, 'failed_login_attempts: only users with 3 or more');
SELECT is((SELECT username FROM aeauth.failed_login_attempts), 'ann', 'ann is listed');
SELECT is((SELECT attempt_count FROM aeauth.failed_login_attempts), 3::bigint, 'counting failed logins of the last 24 hours only');
SELECT is((SELECT ip_addresses FROM aeauth.failed_login_attempts), ARRAY['10.0.0.1', '10.0.0.2']::inet[], 'with the distinct IPs');
SELECT is((SELECT last_attempt FROM aeauth.failed_login_attempts), now() - interval '1 hour', 'and the last attempt');
SELECT pg_temp.at('00000000-0000-0000-0000-0000000000b2', 'login', 'authentication', 'failure', '4 hours');
SELECT set_eq('SELECT username::text, attempt_count FROM aeauth.failed_login_attempts',
                  $$VALUES ('bob', 3::bigint), ('ann', 3::bigint)$$,
                  'a third failure puts bob on the list too');

SELECT * FROM finish();
ROLLBACK;
