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

-- validate_session runs as its caller.  As SECURITY DEFINER with SET search_path every call paid
-- a user switch, parsing and setting search_path and restoring it (which also made the caller's
-- next prepared statement recompute its search path): a sixth of the call's instructions, more
-- than its index probe.  Its C code checks no privilege and resolves no name through
-- search_path (the table and index by OID, the token by its hash); the once-a-minute
-- last_activity write, the one statement that needs a privilege, switches to the owner of
-- user_sessions and pins search_path = pg_catalog, pg_temp for itself (src/validate.c).  Who
-- may call it is unchanged: EXECUTE is granted to the app and admin roles only.
ALTER FUNCTION aeauth.validate_session(text) SECURITY INVOKER RESET search_path;

-- end of sessions ------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- login and passwords (issues 4, 6)
-- ---------------------------------------------------------------------------------------------

-- Password reset tokens in a table of their own (issue 4, P2).  Until 1.6 a known email updated
-- its row of aeauth.users (a big table: random pages, five indexes, cache misses and full-page
-- images after checkpoints) and an unknown one updated a row of a small decoy table that stayed
-- cached: at 1 million users the unknown path was 0.5-0.7x the cost of the known one.  Now both
-- paths INSERT one row of the same shape into this table: the token's hash, a user id, the
-- creation and expiry times.  For an unknown or inactive email the user id is a fresh random
-- uuid that is nobody's (no foreign key: such a row points at no user, expires and is removed
-- like the others).  Both inserts go to random places of both indexes and to the same heap
-- pages, whatever the number of users.  reset_password accepts a row only when it is unexpired,
-- belongs to an active user and is that user's newest; redeeming it deletes all of the user's
-- rows (single use, and older tokens void), as does a password change.
CREATE TABLE aeauth.password_reset_tokens (
    token_hash  bytea       PRIMARY KEY,
    user_id     uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    expires_at  timestamptz NOT NULL
);
-- The user's newest token (reset_password), and all of a user's tokens (redemption, password change).
CREATE INDEX password_reset_tokens_user_id_created_at_idx
    ON aeauth.password_reset_tokens (user_id, created_at);
SELECT pg_catalog.pg_extension_config_dump('aeauth.password_reset_tokens', '');
REVOKE ALL ON TABLE aeauth.password_reset_tokens FROM PUBLIC;

-- Tokens pending at the upgrade keep working until they expire.
INSERT INTO aeauth.password_reset_tokens (token_hash, user_id, created_at, expires_at)
SELECT u.password_reset_token_hash, u.id, pg_catalog.now(),
       COALESCE(u.password_reset_expires_at, '-infinity')
  FROM aeauth.users u
 WHERE u.password_reset_token_hash IS NOT NULL;
-- (A move, not a change of the account: updated_at stays as it was.)
ALTER TABLE aeauth.users DISABLE TRIGGER users_set_updated_at;
UPDATE aeauth.users
   SET password_reset_token_hash = NULL, password_reset_expires_at = NULL
 WHERE password_reset_token_hash IS NOT NULL OR password_reset_expires_at IS NOT NULL;
ALTER TABLE aeauth.users ENABLE TRIGGER users_set_updated_at;
-- Served 1.2-1.6's unknown-email path; 1.7 writes no decoy rows.
DROP TABLE aeauth.password_reset_decoy;

-- Maintenance: expired reset tokens (real and unknown-email rows alike) are removed.
CREATE FUNCTION aeauth.expire_reset_tokens() RETURNS TABLE(task text, affected bigint)
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
    WITH gone AS (
        DELETE FROM aeauth.password_reset_tokens t
         WHERE t.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
        RETURNING 1)
    SELECT 'passwords: expired reset tokens removed'::text, pg_catalog.count(*) FROM gone
$fn$;
REVOKE ALL ON FUNCTION aeauth.expire_reset_tokens() FROM PUBLIC;
INSERT INTO aeauth.maintenance_tasks (position, function) VALUES (450, 'aeauth.expire_reset_tokens()');
INSERT INTO aeauth.api_objects VALUES ('function', 'aeauth.expire_reset_tokens()', 'admin');

-- Room for HOT updates (issue 6, L1 and L2).  login writes the user's row on every success
-- (last_login, counters) and on every wrong password (the counter): columns no index covers, so
-- the update can stay on its page (HOT: no index entries, one heap page of WAL) when the page has
-- room.  With the default fillfactor of 100 a bulk-loaded or long-lived table has full pages and
-- each such update moves the row to another page and adds an entry to each of the five indexes.
-- fillfactor applies to pages written from now on (new users, rows moved by an update); existing
-- full pages gain room as their rows move once (or at once with VACUUM FULL aeauth.users).  The
-- trusted device row that a successful login upserts is updated the same way.
ALTER TABLE aeauth.users SET (fillfactor = 85);
ALTER TABLE aeauth.trusted_devices SET (fillfactor = 85);


-- end of login and passwords -------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.7', 'speed targets: audit, sessions, login and passwords');

SELECT aeauth.refresh_grants();
