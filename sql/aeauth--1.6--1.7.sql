/* aeauth 1.7: the speed targets of issues 3-6 and 9.
 *
 * Each part below belongs to one concern; see CHANGELOG.md "1.7".
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.7'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- audit (issue 3)
-- ---------------------------------------------------------------------------------------------

-- run_maintenance() reports how long each task took: a third result column, ms (milliseconds of
-- the task function, on the first row each task function returns; NULL on its further rows, so
-- that sum(ms) is the time of all tasks).  The files of dropped partitions are removed at commit,
-- after the locks are released (not part of any task's ms).  The tasks, their order and the first
-- two columns are as before.
DROP FUNCTION aeauth.run_maintenance();
CREATE FUNCTION aeauth.run_maintenance() RETURNS TABLE(task text, affected bigint, ms double precision)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '200ms'
    AS $fn$
DECLARE
    t record;
    started timestamptz;
    tasks text[];
    counts bigint[];
    took double precision;
BEGIN
    -- One run at a time (a slow run must not collide with the next scheduled one); the later
    -- one returns at once.  The key is the bytes of "aeauth".
    IF NOT pg_catalog.pg_try_advisory_xact_lock(107088054678632) THEN
        RETURN QUERY SELECT 'skipped: another run_maintenance() is in progress'::text, 0::bigint,
                            NULL::double precision;
        RETURN;
    END IF;
    FOR t IN SELECT m.function FROM aeauth.maintenance_tasks m ORDER BY m.position LOOP
        started := pg_catalog.clock_timestamp();
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(r.task ORDER BY r.n), pg_catalog.array_agg(r.affected ORDER BY r.n)'
            '  FROM %s WITH ORDINALITY AS r(task, affected, n)', t.function::pg_catalog.regprocedure)
            INTO tasks, counts;
        took := pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started)
                OPERATOR(pg_catalog.*) 1000;
        FOR i IN 1 .. COALESCE(pg_catalog.array_length(tasks, 1), 0) LOOP
            task := tasks[i];
            affected := counts[i];
            ms := CASE WHEN i OPERATOR(pg_catalog.=) 1 THEN took END;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION aeauth.run_maintenance() FROM PUBLIC;


-- Dropping an expired month: the month is locked alone first, and only then dropped.  DROP TABLE
-- of a partition takes ACCESS EXCLUSIVE on the parent before it waits for the partition, so a
-- month held by someone else (an autovacuum of it, a reader) made every insert wait behind the
-- DROP until lock_timeout, and then the month was left for the next run (bench 2026-11-23: a
-- just-filled month being autovacuumed was never dropped, inserts stalled 200 ms per try).
-- Nothing writes to an expired month, so waiting for it holds up no insert: up to 5 s, which
-- lets the lock manager cancel an autovacuum that holds it (after deadlock_timeout).  The parent
-- is then taken by the DROP under the usual 200 ms.
CREATE OR REPLACE FUNCTION aeauth.audit_drop_expired_partitions() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    p record;
    n_dropped bigint := 0;
    n_skipped bigint := 0;
    parent_timeout text := pg_catalog.current_setting('lock_timeout');
BEGIN
    FOR p IN
        SELECT c.relname
          FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
         WHERE i.inhparent OPERATOR(pg_catalog.=) 'aeauth.user_audit_log'::pg_catalog.regclass
           AND c.relname OPERATOR(pg_catalog.~) '^user_audit_log_p[0-9]{6}$'
           AND (SELECT m.upper_bound
                  FROM aeauth.audit_month_partition(
                       pg_catalog.to_date(pg_catalog.substr(c.relname, 17), 'YYYYMM')) m)
               OPERATOR(pg_catalog.<=) pg_catalog.now()
         ORDER BY c.relname
    LOOP
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
            EXECUTE pg_catalog.format('LOCK TABLE aeauth.%I IN ACCESS EXCLUSIVE MODE', p.relname);
            PERFORM pg_catalog.set_config('lock_timeout', parent_timeout, true);
            EXECUTE pg_catalog.format('DROP TABLE aeauth.%I', p.relname);
            n_dropped := n_dropped OPERATOR(pg_catalog.+) 1;
        EXCEPTION WHEN lock_not_available THEN
            n_skipped := n_skipped OPERATOR(pg_catalog.+) 1;
        END;
    END LOOP;
    PERFORM pg_catalog.set_config('lock_timeout', parent_timeout, true);
    RETURN QUERY VALUES ('audit: expired partitions dropped'::text, n_dropped),
                        ('audit: expired partitions left for the next run (lock timeout)', n_skipped);
END
$fn$;

-- end of audit ---------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- sessions (issue 5)
-- ---------------------------------------------------------------------------------------------


-- end of sessions ------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- login and passwords (issues 4, 6)
-- ---------------------------------------------------------------------------------------------


-- end of login and passwords -------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.7', 'speed targets: audit, sessions, login and passwords');

SELECT aeauth.refresh_grants();
