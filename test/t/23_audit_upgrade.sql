-- ALTER EXTENSION aeauth UPDATE from 1.0 carries the rows of the old, unpartitioned audit table
-- over, filling expires_at by the seed's rule where it was NULL.
BEGIN;
SELECT plan(14);

DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.0';
INSERT INTO aeauth.user_audit_log (id, event_type, event_category, action, status, severity, retention_policy, created_at, expires_at) VALUES
  ('00000000-0000-0000-0000-000000000001', 'login', 'authentication', 'login', 'success', 'info', 'standard', now() - interval '100 days', NULL),
  ('00000000-0000-0000-0000-000000000002', 'export', 'admin', 'export', 'success', 'info', 'extended', now() - interval '100 days', NULL),
  ('00000000-0000-0000-0000-000000000003', 'setup', 'admin', 'setup', 'success', 'info', 'permanent', now() - interval '100 days', NULL),
  ('00000000-0000-0000-0000-000000000004', 'lockout', 'security', 'lock', 'success', 'info', 'standard', now() - interval '100 days', NULL),
  ('00000000-0000-0000-0000-000000000005', 'crash', 'system', 'crash', 'failure', 'critical', 'standard', now() - interval '100 days', NULL),
  ('00000000-0000-0000-0000-000000000006', 'login', 'authentication', 'login', 'failure', 'info', 'standard', now() - interval '100 days', now() + interval '10 years');
SELECT is((SELECT relkind FROM pg_class WHERE oid = 'aeauth.user_audit_log'::regclass), 'r'::"char", '1.0 has a plain table');

ALTER EXTENSION aeauth UPDATE TO '1.1';
SELECT is((SELECT relkind FROM pg_class WHERE oid = 'aeauth.user_audit_log'::regclass), 'p'::"char", '1.1 has a partitioned table');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log), 6::bigint, 'every 1.0 row is carried over');
CREATE FUNCTION pg_temp.exp(n int) RETURNS timestamptz LANGUAGE sql AS
  $$SELECT expires_at FROM aeauth.user_audit_log WHERE id = ('00000000-0000-0000-0000-00000000000' || n)::uuid$$;
SELECT is(pg_temp.exp(1), now() - interval '100 days' + interval '90 days', 'standard: created_at + 90 days');
SELECT is(pg_temp.exp(2), now() - interval '100 days' + interval '1 year', 'extended: + 1 year');
SELECT is(pg_temp.exp(3), 'infinity'::timestamptz, 'permanent: infinity');
SELECT is(pg_temp.exp(4), now() - interval '100 days' + interval '2 years', 'security: + 2 years');
SELECT is(pg_temp.exp(5), now() - interval '100 days' + interval '2 years', 'critical: + 2 years');
SELECT is(pg_temp.exp(6), now() + interval '10 years', 'an expires_at already set is kept');
SELECT hasnt_table('aeauth', 'user_audit_log_1_0', 'the old table is gone');
SELECT set_eq($$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
                 WHERE e.extname = 'aeauth' AND c.relname LIKE 'user_audit_log%'$$,
              ARRAY['user_audit_log', 'user_audit_log_permanent', 'user_audit_log_default'],
              'the parent and the fixed partitions are registered for pg_dump');

SELECT count(*) FROM aeauth.run_maintenance();
SELECT is((SELECT count(*) FROM aeauth.user_audit_log), 5::bigint,
          'the first maintenance removes the row whose expiry has passed, and only that one');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE id = '00000000-0000-0000-0000-000000000001'), 0::bigint,
          'the gone row is the standard one, expired 10 days ago');
SELECT is((SELECT array_agg(id ORDER BY id) FROM aeauth.user_audit_log_default), ARRAY['00000000-0000-0000-0000-000000000006'::uuid],
          'the others left the default partition, but the one 10 years ahead (beyond the prepared months)');

SELECT * FROM finish();
ROLLBACK;
