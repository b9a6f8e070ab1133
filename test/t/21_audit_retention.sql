-- Retention by partition: run_maintenance() creates month partitions ahead, moves rows out of
-- the default partition, drops only partitions whose every row has expired, and waits for no
-- lock longer than lock_timeout.  Dates are moved by inserting rows as the superuser.
BEGIN;
SELECT plan(26);
SET LOCAL statement_timeout = '60s';   -- a lock bug must fail the test, not hang the suite

CREATE FUNCTION pg_temp.part_of(i uuid) RETURNS text LANGUAGE sql AS
  'SELECT tableoid::regclass::text FROM aeauth.user_audit_log WHERE id = i';
CREATE FUNCTION pg_temp.month_parts() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'aeauth.user_audit_log'::regclass AND c.relname ~ '^user_audit_log_p[0-9]{6}$'$$;
CREATE TEMP TABLE last_run (task text, affected bigint);
CREATE FUNCTION pg_temp.task(t text) RETURNS bigint LANGUAGE sql AS
  'SELECT affected FROM pg_temp.last_run WHERE task = t';
CREATE FUNCTION pg_temp.maint() RETURNS void LANGUAGE sql AS $$
  DELETE FROM pg_temp.last_run;
  INSERT INTO pg_temp.last_run SELECT task, affected FROM aeauth.run_maintenance();$$;
CREATE FUNCTION pg_temp.ins(expires timestamptz) RETURNS uuid LANGUAGE sql AS $$
  INSERT INTO aeauth.user_audit_log (event_type, event_category, action, status, created_at, expires_at)
  VALUES ('t', 'game', 't', 'success', now() - interval '400 days', expires) RETURNING id$$;

-- Before any maintenance, an event lands in the default partition: inserts never fail.
SELECT aeauth.log_user_event(NULL, NULL, 'early', 'game', 'e', 'success') AS early \gset
SELECT is(pg_temp.part_of(:'early'), 'aeauth.user_audit_log_default', 'before maintenance, events go to the default partition');

SELECT pg_temp.maint();
SELECT is(pg_temp.task('audit: partitions created'), 26::bigint, 'first run creates this month and the next 25');
SELECT is(pg_temp.month_parts(), 26::bigint, 'and they exist');
SELECT is(pg_temp.task('audit: rows moved from the default partition'), 1::bigint, 'the early event was moved out of the default partition');
SELECT is(pg_temp.part_of(:'early'),
          'aeauth.' || (aeauth.audit_month_partition((now() + interval '90 days')::date)).name,
          'into the partition of its expiry month');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log_default), 0::bigint, 'the default partition is empty again');

SELECT pg_temp.maint();
SELECT is(pg_temp.task('audit: partitions created'), 0::bigint, 'a second run creates nothing (safe to run often)');
SELECT is(pg_temp.task('audit: expired partitions dropped'), 0::bigint, 'and drops nothing');

-- A 2-year event has its partition ready; a 30-year one waits in the default partition.
SELECT aeauth.log_user_event(NULL, NULL, 's', 'security', 'e', 'failure') AS sec \gset
SELECT isnt(pg_temp.part_of(:'sec'), 'aeauth.user_audit_log_default', 'a 2-year event finds its month partition');
SELECT is(pg_temp.part_of(pg_temp.ins(now() + interval '30 years')), 'aeauth.user_audit_log_default',
          'an expiry beyond the prepared months goes to the default partition');
SELECT is(pg_temp.part_of(aeauth.log_user_event(NULL, NULL, 'p', 'game', 'e', 'success', p_retention_policy => 'permanent')),
          'aeauth.user_audit_log_permanent', 'permanent events have their own partition');

-- A partition whose lock is not granted within lock_timeout is left for the next run.  (First:
-- once this transaction has dropped a partition it holds the parent's lock itself.)
SELECT aeauth.audit_create_partition((now() - interval '3 months')::date);
SELECT dblink_connect('locker', format('dbname=%s host=%s port=%s user=%s', current_database(),
       split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_user));
SELECT dblink_exec('locker', 'BEGIN');
SELECT dblink_exec('locker', 'LOCK TABLE ONLY aeauth.user_audit_log IN ACCESS SHARE MODE');
SELECT pg_temp.maint();
SELECT is(pg_temp.task('audit: expired partitions left for the next run (lock timeout)'), 1::bigint,
          'a drop that cannot get its lock in time is skipped, not waited for');
SELECT isnt(to_regclass('aeauth.' || (aeauth.audit_month_partition((now() - interval '3 months')::date)).name), NULL,
            'the partition is still there');
SELECT dblink_exec('locker', 'ROLLBACK');
-- One run at a time: this transaction has run maintenance and holds its lock until it ends, so
-- a run from another connection returns at once.
SELECT results_eq($$SELECT * FROM dblink('locker', 'SELECT task, affected FROM aeauth.run_maintenance()') AS t(task text, affected bigint)$$,
                  $$VALUES ('skipped: another run_maintenance() is in progress'::text, 0::bigint)$$,
                  'a concurrent run_maintenance() does nothing and says so');
SELECT dblink_disconnect('locker');
-- (dropped by the next run, below)

-- An expired month partition goes; its non-expired neighbour stays.
SELECT aeauth.audit_create_partition((now() - interval '2 months')::date);
SELECT pg_temp.ins(date_trunc('month', now() - interval '2 months') + interval '3 days') AS old1 \gset
SELECT pg_temp.ins(date_trunc('month', now() - interval '2 months') + interval '20 days') AS old2 \gset
SELECT is(pg_temp.part_of(:'old1'), 'aeauth.' || (aeauth.audit_month_partition((now() - interval '2 months')::date)).name,
          'rows of a past expiry month are in that month''s partition');
-- Expired, but in this month's partition, whose upper bound has not passed: not dropped early.
SELECT pg_temp.ins(greatest(date_trunc('month', now()), now() - interval '1 minute')) AS cur \gset
SELECT pg_temp.ins(now() + interval '40 days') AS live \gset
-- Expired rows of a month without partition wait in the default partition.
SELECT pg_temp.ins(now() - interval '5 years') AS olddef \gset
SELECT is(pg_temp.part_of(:'olddef'), 'aeauth.user_audit_log_default', 'an expired row of a month without partition is in the default partition');

SELECT pg_temp.maint();
SELECT is(pg_temp.task('audit: expired partitions dropped'), 2::bigint, 'run_maintenance drops the expired month partitions (also the one skipped before)');
SELECT is(to_regclass('aeauth.' || (aeauth.audit_month_partition((now() - interval '2 months')::date)).name), NULL,
          'it is gone');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE id IN (:'old1', :'old2')), 0::bigint, 'with its rows');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE id IN (:'cur', :'live', :'sec', :'early')), 4::bigint,
          'rows of partitions whose upper bound has not passed stay');
SELECT is(pg_temp.task('audit: expired rows deleted from the default partition'), 1::bigint, 'the expired default row is deleted');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log_default), 1::bigint, 'the 30-year row stays in the default partition');
SELECT is(pg_temp.month_parts(), 26::bigint, 'the prepared months are all still there');

-- Append-only: no UPDATE, DELETE or TRUNCATE through the table, even for a superuser.
SELECT throws_ok('UPDATE aeauth.user_audit_log SET status = ''failure''', '42501', NULL, 'UPDATE is refused');
SELECT throws_ok('DELETE FROM aeauth.user_audit_log', '42501', NULL, 'DELETE is refused');
SELECT throws_ok('TRUNCATE aeauth.user_audit_log', '42501', NULL, 'TRUNCATE is refused');

SELECT * FROM finish();
ROLLBACK;
