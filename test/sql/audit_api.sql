-- The SQL surface of the audit log (1.1): signatures, access, views, maintenance, error texts.
CREATE EXTENSION aeauth;

SELECT p.oid::regprocedure AS function, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prosecdef AS security_definer, p.proconfig
  FROM pg_proc p
 WHERE p.oid IN ('aeauth.log_user_event'::regproc, 'aeauth.run_maintenance'::regproc)
 ORDER BY 1::text;

SELECT kind, name, access FROM aeauth.api_objects
 WHERE name ~ 'log_user_event|run_maintenance|recent_security_events|failed_login_attempts'
 ORDER BY kind, name;

SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema = 'aeauth' AND table_name IN ('recent_security_events', 'failed_login_attempts')
 GROUP BY table_name ORDER BY table_name;

-- The partitioned table and its fixed partitions.
SELECT c.relname, c.relkind, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_class c
 WHERE c.relnamespace = 'aeauth'::regnamespace AND c.relname LIKE 'user_audit_log%' AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;
SELECT pg_get_partkeydef('aeauth.user_audit_log'::regclass) AS partition_key;

-- Maintenance tasks, in order; the first run on a fresh install prepares 26 months.
SELECT position, function FROM aeauth.maintenance_tasks ORDER BY position;
-- (1.7) ms: the time of each task function, on its first row.
SELECT task, affected, ms >= 0 AS timed FROM aeauth.run_maintenance();

-- Bad input: 22023 with a detail naming the rule, 22004 for a required NULL.
\set VERBOSITY default
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'gossip', 'login', 'success');
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'maybe');
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'success', p_severity => 'panic');
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'success', p_retention_policy => 'forever');
SELECT aeauth.log_user_event(NULL, NULL, repeat('x', 51), 'security', 'login', 'success');
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', NULL, 'success');
SELECT count(*) AS rows_written FROM aeauth.user_audit_log;

-- A good call: the seed's ten arguments, positionally.
SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'failure', '10.0.0.1', 'ua',
                             '{"token": "aea_x", "ok": 1}', 'warning') IS NOT NULL AS logged;
SELECT event_category, severity, retention_policy, expires_at = created_at + interval '2 years' AS two_years,
       metadata, tableoid::regclass::text ~ '^aeauth\.user_audit_log_p[0-9]{6}$' AS in_a_month_partition
  FROM aeauth.user_audit_log;

-- Append-only.
DELETE FROM aeauth.user_audit_log;

DROP EXTENSION aeauth;
