-- 1.7: log_user_event keeps the executor state of each partition it writes to for the whole
-- backend (src/direct.c).  Every change another connection makes to the partition between two
-- calls of this backend must be seen by the next call: a CHECK constraint added, an index made
-- (its entries written), rebuilt or dropped, the partition detached or
-- dropped; an insert that failed inside a savepoint leaves nothing behind that breaks the next;
-- partitions written in turn each get their rows.  run_maintenance() (1.7) reports each task's
-- time and removes exactly the expired rows, waiting for a held expired month without blocking inserts.
-- No outer transaction: the other connection's DDL must commit between this backend's calls.
SET statement_timeout = '60s';
SELECT plan(25);

CREATE FUNCTION pg_temp.part_of(i uuid) RETURNS text LANGUAGE sql AS
  'SELECT tableoid::regclass::text FROM aeauth.user_audit_log WHERE id = i';
CREATE FUNCTION pg_temp.ev(etype text DEFAULT 'quest', policy text DEFAULT 'standard') RETURNS uuid
  LANGUAGE sql AS $$
  SELECT aeauth.log_user_event('00000000-0000-0000-0000-000000000025', NULL, etype, 'game',
                               'act', 'success', p_retention_policy => policy)$$;
-- Rows of the partition found through the index named (index scans only).
CREATE FUNCTION pg_temp.via_index(part text, etype text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT count(*) FROM %s WHERE event_type = $1', part) INTO n USING etype;
  RETURN n;
END$$;
CREATE FUNCTION pg_temp.plan_of(part text, etype text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; p text := '';
BEGIN
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_bitmapscan = off;
  FOR l IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT count(*) FROM %s WHERE event_type = %L', part, etype) LOOP
    p := p || l || E'\n';
  END LOOP;
  RETURN p;
END$$;
SELECT dblink_connect('other', format('dbname=%s host=%s port=%s user=%s', current_database(),
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_user));
SELECT count(*) FROM aeauth.run_maintenance();

-- This backend writes to the month twice: its state is built and then kept.
SELECT pg_temp.part_of(pg_temp.ev()) AS part \gset
SELECT isnt(:'part'::text, 'aeauth.user_audit_log_default', 'events go to their month partition');
SELECT is(pg_temp.part_of(pg_temp.ev()), :'part', 'and the next one too');

-- A CHECK constraint added by another connection applies to this backend's next call.
SELECT dblink_exec('other', format('ALTER TABLE %s ADD CONSTRAINT t25_no_forbidden CHECK (event_type <> ''forbidden'')', :'part'));
SELECT throws_ok($$SELECT pg_temp.ev('forbidden')$$, '23514', NULL,
                 'a CHECK constraint another connection added to the partition refuses the row');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'forbidden'), 0::bigint, 'and nothing is written');
SELECT dblink_exec('other', format('ALTER TABLE %s DROP CONSTRAINT t25_no_forbidden', :'part'));
SELECT lives_ok($$SELECT pg_temp.ev('forbidden')$$, 'once dropped there, it no longer applies');

-- An index made by another connection gets the entries of this backend's next rows.
SELECT dblink_exec('other', format('CREATE INDEX t25_type_idx ON %s (event_type)', :'part'));
SELECT pg_temp.ev('after_index') AS ai \gset
SELECT is(pg_temp.via_index(:'part', 'after_index'), 1::bigint,
          'an index another connection made holds the row this backend wrote next');
SELECT matches(pg_temp.plan_of(:'part', 'after_index'), 't25_type_idx', '(found through that index)');
-- REINDEX (new files) and then DROP INDEX in another connection: the next calls still work.
SELECT dblink_exec('other', format('REINDEX TABLE %s', :'part'));
SELECT pg_temp.ev('after_reindex') AS ar \gset
SELECT is(pg_temp.via_index(:'part', 'after_reindex'), 1::bigint, 'after a REINDEX the rebuilt index gets the next row');
SELECT dblink_exec('other', 'DROP INDEX aeauth.t25_type_idx');
SELECT is(pg_temp.part_of(pg_temp.ev('after_drop_index')), :'part', 'after DROP INDEX the next row is written');
-- The per-user index holds every row written on the kept state.
SET enable_seqscan = off;
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE user_id = '00000000-0000-0000-0000-000000000025'),
          (SELECT count(*) FROM aeauth.user_audit_log WHERE user_id::text = '00000000-0000-0000-0000-000000000025'),
          'the per-user index holds every row written on the kept state');
RESET enable_seqscan;

-- A failed insert inside a savepoint (unique violation is impossible here: a CHECK violation),
-- then more inserts in the same transaction and the next: all good.
SELECT dblink_exec('other', format('ALTER TABLE %s ADD CONSTRAINT t25_no_bad CHECK (event_type <> ''bad'')', :'part'));
CREATE FUNCTION pg_temp.sub() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM pg_temp.ev('bad');
  EXCEPTION WHEN check_violation THEN
    PERFORM pg_temp.ev('after_failure');
    RETURN 'caught';
  END;
  RETURN 'not caught';
END$$;
SELECT is(pg_temp.sub(), 'caught', 'a refused row inside a savepoint raises, and the transaction goes on');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'after_failure'), 1::bigint,
          'the insert after the failure in the same transaction is written');
SELECT is(pg_temp.part_of(pg_temp.ev('next_xact')), :'part', 'and so is the next transaction''s');

-- Four partitions written in turn (standard, extended and permanent events, security ones):
-- each kept state serves its own partition.
CREATE TEMP TABLE k AS
SELECT g, CASE WHEN g % 4 = 3 THEN aeauth.log_user_event(NULL, NULL, 'k', 'security', 'k', 'success')
               ELSE pg_temp.ev('k', CASE g % 4 WHEN 0 THEN 'standard' WHEN 1 THEN 'extended' ELSE 'permanent' END)
          END AS x
  FROM generate_series(1, 40) g;
SELECT is((SELECT count(*) FROM k JOIN aeauth.user_audit_log l ON l.id = k.x
            WHERE l.tableoid::regclass::text =
                  CASE WHEN k.g % 4 = 2 THEN 'aeauth.user_audit_log_permanent'
                       ELSE 'aeauth.' || (aeauth.audit_month_partition((l.expires_at AT TIME ZONE 'UTC')::date)).name END),
          40::bigint, 'events of four partitions written in turn each land in their own partition');
SELECT is((SELECT count(DISTINCT tableoid) FROM aeauth.user_audit_log WHERE event_type = 'k'), 4::bigint,
          '(four partitions)');

-- The partition detached by another connection: the next row goes to the default partition.
SELECT dblink_exec('other', format('ALTER TABLE aeauth.user_audit_log DETACH PARTITION %s', :'part'));
SELECT is(pg_temp.part_of(pg_temp.ev('after_detach')), 'aeauth.user_audit_log_default',
          'after another connection detached the partition this backend kept a state for, rows go to the default partition');
SELECT is((SELECT n FROM dblink('other', format('SELECT count(*) FROM %s WHERE event_type = ''after_detach''', :'part')) AS t(n bigint)),
          0::bigint, 'and none to the detached table');

-- run_maintenance() (1.7): the time of each task function, and exactly the expired rows go.
SELECT created FROM aeauth.audit_create_partition((now() - interval '3 months')::date);
INSERT INTO aeauth.user_audit_log (event_type, event_category, action, status, created_at, expires_at)
SELECT 'old', 'game', 'x', 'success', now() - interval '200 days',
       date_trunc('month', now() - interval '3 months') + interval '1 day'
  FROM generate_series(1, 1000);
SELECT count(*) AS live_before FROM aeauth.user_audit_log WHERE expires_at > now() \gset
CREATE TEMP TABLE m AS SELECT * FROM aeauth.run_maintenance();
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at <= now()), 0::bigint,
          'after run_maintenance() no expired row is left');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at > now()), :'live_before'::bigint,
          'and every live row is still there');
SELECT is((SELECT affected FROM m WHERE task = 'audit: expired partitions dropped'), 1::bigint,
          'the expired month was dropped');
SELECT ok((SELECT ms FROM m WHERE task = 'audit: expired partitions dropped') > 0,
          'run_maintenance() reports the time of the drop task');
SELECT is((SELECT count(*) FROM m WHERE ms IS NOT NULL), (SELECT count(*) FROM aeauth.maintenance_tasks),
          'one time per task function (on its first row)');

-- An expired month someone holds (as an autovacuum of it would): maintenance waits for the month
-- alone, without the parent, so events go on being written; once released, the same run drops it.
SELECT created FROM aeauth.audit_create_partition((now() - interval '4 months')::date);
INSERT INTO aeauth.user_audit_log (event_type, event_category, action, status, created_at, expires_at)
SELECT 'older', 'game', 'x', 'success', now() - interval '230 days',
       date_trunc('month', now() - interval '4 months') + interval '1 day'
  FROM generate_series(1, 10);
SELECT (aeauth.audit_month_partition((now() - interval '4 months')::date)).name AS old_part \gset
SELECT dblink_connect('holder', format('dbname=%s host=%s port=%s user=%s', current_database(),
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_user));
SELECT dblink_exec('holder', 'BEGIN');
SELECT dblink_exec('holder', format('LOCK TABLE aeauth.%I IN SHARE UPDATE EXCLUSIVE MODE', :'old_part'));
SELECT dblink_send_query('other', $$SELECT affected FROM aeauth.run_maintenance() WHERE task = 'audit: expired partitions dropped'$$);
SELECT pg_sleep(0.5);
SET lock_timeout = '100ms';
SELECT lives_ok($$SELECT pg_temp.ev('while_dropping')$$,
                'while maintenance waits for an expired month someone holds, events are written');
RESET lock_timeout;
SELECT dblink_exec('holder', 'COMMIT');
SELECT is((SELECT n FROM dblink_get_result('other') AS t(n bigint)), 1::bigint,
          'once the holder lets go, the same run drops the month');
SELECT * FROM dblink_get_result('other') AS t(n bigint);
SELECT is(to_regclass('aeauth.' || :'old_part'), NULL, 'the month is gone');
SELECT dblink_disconnect('holder');

SELECT dblink_disconnect('other');
SELECT * FROM finish();
