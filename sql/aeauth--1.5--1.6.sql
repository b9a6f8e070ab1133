/* aeauth 1.6: speed and hardening follow-ups.
 *
 * Each part below belongs to one concern; see CHANGELOG.md "1.6".
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.6'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- audit (issue 3): audit insert path and audit indexes
-- ---------------------------------------------------------------------------------------------

-- log_user_event now inserts straight into the partition of the event's expiry month (C,
-- src/audit.c and src/direct.c); nothing in SQL changes for that.  What changes here: the
-- per-user index of every audit partition is (user_id) instead of (user_id, created_at).
-- Within one partition the entries of one user are then deduplicated by the btree (one key
-- and a list of row pointers: about 6 bytes per event instead of a 36-byte entry), and since
-- rows are only ever appended, heap order is time order: an account's history is one index
-- lookup per partition and a sort of that account's rows.  Partitions made later by
-- run_maintenance() get the same indexes, through this function.
CREATE OR REPLACE FUNCTION aeauth.audit_partition_indexes(part regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
BEGIN
    -- Looking an event up by the id log_user_event returned (and ids unique within a
    -- partition).  ids are UUIDv7 (time-ordered), so each insert appends to the rightmost
    -- leaf: few pages touched, little WAL, leaves filled to the fillfactor.
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (id)', part);
    -- An account's history, WHERE user_id = $1 ... ORDER BY created_at DESC (README "Audit
    -- log").  Events without a user are left out.  (user_id) alone, so that the btree
    -- deduplicates the events of one user in one partition.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (user_id) WHERE user_id IS NOT NULL', part);
    -- recent_security_events (security events of the last 7 days); only security rows pay.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (created_at) WHERE event_category = ''security''', part);
    -- failed_login_attempts (failed logins of the last 24 hours); only failed logins pay.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (created_at) WHERE event_type = ''login'' AND status = ''failure''', part);
END
$fn$;

-- The partitions that exist (permanent, default and every month made so far): the old per-user
-- index is replaced by the new one.  Each CREATE INDEX reads its partition once under a SHARE
-- lock (inserts into that partition wait for it): update at a quiet moment.
DO $do$
DECLARE
    p record;
    i record;
BEGIN
    FOR p IN
        SELECT h.inhrelid::pg_catalog.regclass AS part
          FROM pg_catalog.pg_inherits h
         WHERE h.inhparent OPERATOR(pg_catalog.=) 'aeauth.user_audit_log'::pg_catalog.regclass
         ORDER BY h.inhrelid
    LOOP
        FOR i IN
            SELECT x.indexrelid::pg_catalog.regclass AS idx
              FROM pg_catalog.pg_index x
             WHERE x.indrelid OPERATOR(pg_catalog.=) p.part
               AND pg_catalog.pg_get_indexdef(x.indexrelid) OPERATOR(pg_catalog.~)
                   ' USING btree \(user_id, created_at\) WHERE \(user_id IS NOT NULL\)$'
        LOOP
            EXECUTE pg_catalog.format('DROP INDEX %s', i.idx);
        END LOOP;
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_index x
             WHERE x.indrelid OPERATOR(pg_catalog.=) p.part
               AND pg_catalog.pg_get_indexdef(x.indexrelid) OPERATOR(pg_catalog.~)
                   ' USING btree \(user_id\) WHERE \(user_id IS NOT NULL\)$') THEN
            EXECUTE pg_catalog.format('CREATE INDEX ON %s (user_id) WHERE user_id IS NOT NULL', p.part);
        END IF;
    END LOOP;
END
$do$;


-- end of audit ---------------------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- sessions (issue 5): validation, refresh and session maintenance
-- ---------------------------------------------------------------------------------------------


-- end of sessions ------------------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- login and passwords (issues 4, 6)
-- ---------------------------------------------------------------------------------------------


-- end of login and passwords -------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- hardening (issue 8)
-- ---------------------------------------------------------------------------------------------


-- end of hardening -----------------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.6', 'speed and hardening follow-ups');

SELECT aeauth.refresh_grants();
