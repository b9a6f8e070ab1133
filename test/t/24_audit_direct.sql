-- Direct audit inserts (1.6): log_user_event writes straight into the partition of the event's
-- expiry month, the permanent partition, or (through SQL routing) the default partition when
-- the month has none; a partition dropped or detached in another connection is never written
-- again, not even by a backend that wrote there before or that was waiting for the drop; the
-- table's constraints and triggers still apply; user_agent is bounded.
-- No outer transaction: other connections (dblink) must see what this one commits.
SET statement_timeout = '60s';   -- a lock bug must fail the test, not hang the suite
SELECT plan(36);

CREATE FUNCTION pg_temp.part_of(i uuid) RETURNS text LANGUAGE sql AS
  'SELECT tableoid::regclass::text FROM aeauth.user_audit_log WHERE id = i';
-- The partition an event belongs in: its UTC expiry month.
CREATE FUNCTION pg_temp.month_of(i uuid) RETURNS text LANGUAGE sql AS $$
  SELECT 'aeauth.' || (aeauth.audit_month_partition((expires_at AT TIME ZONE 'UTC')::date)).name
    FROM aeauth.user_audit_log WHERE id = i$$;
CREATE FUNCTION pg_temp.ev(policy text DEFAULT 'standard', category text DEFAULT 'game',
                           etype text DEFAULT 'quest') RETURNS uuid LANGUAGE sql AS $$
  SELECT aeauth.log_user_event('00000000-0000-0000-0000-000000000024', NULL, etype, category,
                               'act', 'success', p_retention_policy => policy)$$;
CREATE FUNCTION pg_temp.conninfo() RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s host=%s port=%s user=%s', current_database(),
                split_part(current_setting('unix_socket_directories'), ',', 1),
                current_setting('port'), current_user)$$;
SELECT dblink_connect('other', pg_temp.conninfo());
SELECT dblink_connect('writer', pg_temp.conninfo());

-- Before maintenance there is no month partition: SQL routing, default partition.
SELECT is(pg_temp.part_of(pg_temp.ev()), 'aeauth.user_audit_log_default',
          'without its month partition an event goes to the default partition');
SELECT count(*) FROM aeauth.run_maintenance();

-- Into the right partition.
SELECT pg_temp.ev() AS std \gset
SELECT is(pg_temp.part_of(:'std'), pg_temp.month_of(:'std'), 'a standard event lands in its expiry month''s partition');
SELECT isnt(pg_temp.part_of(:'std'), 'aeauth.user_audit_log_default', 'not in the default partition');
SELECT pg_temp.ev('extended') AS ext \gset
SELECT is(pg_temp.part_of(:'ext'), pg_temp.month_of(:'ext'), 'an extended event lands in its (1-year) month partition');
SELECT pg_temp.ev('standard', 'security') AS sec \gset
SELECT is(pg_temp.part_of(:'sec'), pg_temp.month_of(:'sec'), 'a security event lands in its (2-year) month partition');
SELECT is(pg_temp.part_of(pg_temp.ev('permanent')), 'aeauth.user_audit_log_permanent',
          'a permanent event lands in the permanent partition');

-- Every column as the SQL insert would have written it (defaults included).
SELECT aeauth.log_user_event('00000000-0000-0000-0000-000000000024', '00000000-0000-0000-0000-0000000000aa',
       'login', 'authentication', 'login', 'failure', '192.0.2.1', 'Agent/1.0',
       '{"a": 1, "Password": "x"}', 'warning', 'standard', '{"q": {"api_key": "k"}}') AS full \gset
SELECT row_eq($$SELECT user_id, session_id, event_type::text, event_category::text, action::text, status::text,
                       ip_address, user_agent, metadata, severity::text, retention_policy::text,
                       expires_at = created_at + interval '90 days', created_at <= now(),
                       request_params, is_sensitive, resource_type, message, tags, risk_score
                  FROM aeauth.user_audit_log WHERE id = '$$ || :'full' || $$'$$,
              ROW('00000000-0000-0000-0000-000000000024'::uuid, '00000000-0000-0000-0000-0000000000aa'::uuid,
                  'login'::text, 'authentication'::text, 'login'::text, 'failure'::text, '192.0.2.1'::inet,
                  'Agent/1.0'::text, '{"a": 1, "Password": "[redacted]"}'::jsonb, 'warning'::text, 'standard'::text,
                  true, true, '{"q": {"api_key": "[redacted]"}}'::jsonb, false,
                  NULL::varchar, NULL::text, NULL::text[], NULL::int),
              'a direct insert writes every column (scrubbed JSON, retention, defaults)');
SELECT aeauth.log_user_event('00000000-0000-0000-0000-000000000024', NULL, 'login', 'authentication', 'login', 'failure')
  FROM generate_series(1, 2);
SELECT is((SELECT attempt_count FROM aeauth.failed_login_attempts WHERE user_id = '00000000-0000-0000-0000-000000000024'),
          3::bigint, 'failed_login_attempts counts the directly written failed logins');
SELECT is((SELECT count(*) FROM aeauth.recent_security_events WHERE id = :'sec'), 1::bigint,
          'recent_security_events finds the directly written security event');
-- Index entries: each index, read alone, finds exactly the rows a sequential scan finds (a
-- partial index's predicate is not re-checked against the row, so an entry too many would show).
SELECT count(*) FILTER (WHERE event_category = 'security') AS n_sec,
       count(*) FILTER (WHERE event_type = 'login' AND status = 'failure') AS n_fail,
       count(*) FILTER (WHERE user_id = '00000000-0000-0000-0000-000000000024') AS n_user
  FROM aeauth.user_audit_log \gset
SET enable_seqscan = off;
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE event_category = 'security' AND created_at > '-infinity'),
          :'n_sec'::bigint, 'the security index holds the security events, and only them');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'login' AND status = 'failure' AND created_at > '-infinity'),
          :'n_fail'::bigint, 'the failed-login index holds the failed logins, and only them');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE user_id = '00000000-0000-0000-0000-000000000024'),
          :'n_user'::bigint, 'the per-user index finds the user''s events');
RESET enable_seqscan;

-- The month of standard events, dropped in another connection after this backend wrote there:
-- the next event goes to the default partition (never to the dropped table).
SELECT pg_temp.month_of(:'std') AS std_part, pg_temp.month_of(:'ext') AS ext_part \gset
SELECT dblink_exec('other', format('DROP TABLE %s', :'std_part'));
SELECT is(pg_temp.part_of(pg_temp.ev()), 'aeauth.user_audit_log_default',
          'after another connection dropped the month partition, events go to the default partition');
-- The month of extended events, detached in another connection: never written again.
SELECT dblink_exec('other', format('ALTER TABLE aeauth.user_audit_log DETACH PARTITION %s', :'ext_part'));
SELECT is(pg_temp.part_of(pg_temp.ev('extended')), 'aeauth.user_audit_log_default',
          'after another connection detached the month partition, events go to the default partition');
SELECT is((SELECT n FROM dblink('other', format('SELECT count(*) FROM %s', :'ext_part')) AS t(n bigint)),
          1::bigint, 'the detached table holds only the row written before the detach');
SELECT dblink_exec('other', format('DROP TABLE %s', :'ext_part'));
-- run_maintenance() in another connection makes both months again (new tables, new OIDs) and
-- moves the waiting rows out of the default partition; this backend then writes to the new ones.
SELECT is((SELECT affected FROM dblink('other', 'SELECT task, affected FROM aeauth.run_maintenance()') AS t(task text, affected bigint)
            WHERE task = 'audit: partitions created'), 2::bigint, 'maintenance in another connection makes the two months again');
SELECT is(pg_temp.part_of(pg_temp.ev()), :'std_part', 'the next standard event lands in the new partition');
SELECT is(pg_temp.part_of(pg_temp.ev('extended')), :'ext_part', 'the next extended event lands in the new partition');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log_default), 0::bigint, 'the default partition is empty again');

-- Racing a drop.  A writer that has used the partition waits while another connection drops it,
-- then sends its row to the default partition: it never writes into the dropped table.
SELECT count(*) FROM dblink('writer', 'SELECT aeauth.log_user_event(NULL, NULL, ''w'', ''game'', ''w'', ''success'')') AS t(id uuid);
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', format('DROP TABLE %s', :'std_part'));
SELECT dblink_send_query('writer', 'SELECT aeauth.log_user_event(NULL, NULL, ''w'', ''game'', ''w'', ''success'')::text');
SELECT pg_sleep(0.5);
SELECT is(dblink_is_busy('writer'), 1, 'a writer waits while a partition it would write to is being dropped');
SELECT dblink_exec('other', 'COMMIT');
SELECT id AS raced FROM dblink_get_result('writer') AS t(id uuid) \gset
SELECT * FROM dblink_get_result('writer') AS t(id uuid);   -- the end of the async query
SELECT is(pg_temp.part_of(:'raced'), 'aeauth.user_audit_log_default', 'then its row goes to the default partition');
SELECT count(*) FROM aeauth.run_maintenance();
-- And the other way round: while a writer's transaction holds its row, the partition cannot go.
SELECT dblink_exec('writer', 'BEGIN');
SELECT id AS held FROM dblink('writer', 'SELECT aeauth.log_user_event(NULL, NULL, ''h'', ''game'', ''h'', ''success'')') AS t(id uuid) \gset
SELECT dblink_exec('other', 'SET lock_timeout = ''200ms''');
SELECT throws_ok(format('SELECT dblink_exec(''other'', %L)', format('DROP TABLE %s', :'std_part')), '55P03', NULL,
                 'a partition a writer has written to cannot be dropped before the writer commits');
SELECT dblink_exec('writer', 'COMMIT');
SELECT is(pg_temp.part_of(:'held'), :'std_part', 'the writer''s row is in its month partition');

-- Constraints of the partition are enforced on the direct path.
ALTER TABLE aeauth.user_audit_log ADD CONSTRAINT t24_no_forbidden CHECK (event_type <> 'forbidden');
SELECT throws_ok($$SELECT pg_temp.ev('standard', 'game', 'forbidden')$$, '23514', NULL,
                 'a CHECK constraint refuses the row');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'forbidden'), 0::bigint, 'and nothing is written');
ALTER TABLE aeauth.user_audit_log DROP CONSTRAINT t24_no_forbidden;
-- Another constraint in its place (as many as before): the new one applies, the old one not.
ALTER TABLE aeauth.user_audit_log ADD CONSTRAINT t24_no_banned CHECK (event_type <> 'banned');
SELECT lives_ok($$SELECT pg_temp.ev('standard', 'game', 'forbidden')$$, 'a dropped CHECK constraint no longer applies');
SELECT throws_ok($$SELECT pg_temp.ev('standard', 'game', 'banned')$$, '23514', NULL,
                 'a CHECK constraint added since the last insert applies');
ALTER TABLE aeauth.user_audit_log DROP CONSTRAINT t24_no_banned;
ALTER TABLE aeauth.user_audit_log_permanent ALTER COLUMN user_id SET NOT NULL;
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'n', 'game', 'n', 'success', p_retention_policy => 'permanent')$$,
                 '23502', NULL, 'a NOT NULL constraint of the partition refuses the row');
ALTER TABLE aeauth.user_audit_log_permanent ALTER COLUMN user_id DROP NOT NULL;

-- A read-only transaction is refused as an INSERT would be (25006), not written behind its back.
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'ro', 'game', 'ro', 'success') FROM (SELECT set_config('transaction_read_only', 'on', true)) s$$,
                 '25006', NULL, 'log_user_event in a read-only transaction is refused');

-- A row trigger on a partition is fired (the SQL way is taken for it).
CREATE TABLE public.t24_seen (id uuid);
CREATE FUNCTION public.t24_note() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t24_seen VALUES (NEW.id); RETURN NEW; END$$;
SELECT format('CREATE TRIGGER t24_note AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION public.t24_note()', :'std_part') \gexec
SELECT pg_temp.ev() AS trig \gset
SELECT is((SELECT count(*) FROM public.t24_seen WHERE id = :'trig'), 1::bigint, 'an INSERT trigger on the partition fires');
SELECT is(pg_temp.part_of(:'trig'), :'std_part', 'and the row is in its month partition');
SELECT format('DROP TRIGGER t24_note ON %s', :'std_part') \gexec

-- user_agent: at most 1024 characters.  log_user_event refuses more (22023, nothing written);
-- a login with a longer User-Agent header is not refused: its audit row keeps the first 1024.
SELECT aeauth.log_user_event(NULL, NULL, 'ua', 'game', 'ua', 'success', NULL, repeat('é', 1024)) AS ua1024 \gset
SELECT is((SELECT user_agent FROM aeauth.user_audit_log WHERE id = :'ua1024'), repeat('é', 1024),
          'a 1024-character user_agent is kept whole');
SELECT count(*) AS before_ua FROM aeauth.user_audit_log \gset
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'ua', 'game', 'ua', 'success', NULL, repeat('é', 1025))$$,
                 '22023', 'audit user_agent is too long', 'log_user_event refuses a 1025-character user_agent');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log), :'before_ua'::bigint, 'and writes nothing');
SELECT aeauth.register_user('ua@example.com', 'uauser', 'Ua-pass-2024') AS ua_user \gset
SELECT is((SELECT status FROM aeauth.login('uauser', 'wrong-pass-2024', NULL, repeat('ü', 5000))),
          'invalid_credentials', 'a login with a 5000-character user agent is answered');
SELECT is((SELECT user_agent FROM aeauth.user_audit_log WHERE user_id = :'ua_user' AND event_type = 'login'),
          repeat('ü', 1024), 'its audit row keeps the first 1024 characters');

SELECT dblink_disconnect('other');
SELECT dblink_disconnect('writer');
SELECT * FROM finish();
