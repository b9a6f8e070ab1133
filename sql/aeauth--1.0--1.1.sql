/* aeauth 1.0 -> 1.1: the audit log.
 *
 *  - aeauth.user_audit_log becomes a table partitioned by RANGE (expires_at): one partition per
 *    expiry month (UTC), created ahead by aeauth.run_maintenance(), one for permanent rows
 *    (expires_at = 'infinity'; the seed stored NULL, which a range partition cannot hold), and a
 *    DEFAULT partition that catches what maintenance has not prepared.  Retention then costs one
 *    DROP TABLE per month, not one DELETE per row.  The rows of 1.0 are carried over.
 *  - aeauth.log_user_event() (C, src/audit.c): checks, retention decided at insert (no row
 *    trigger), secret scrubbing, UUIDv7 ids.
 *  - aeauth.run_maintenance(): one row per task; tasks are listed in aeauth.maintenance_tasks.
 *  - the seed's views recent_security_events and failed_login_attempts.
 */
\echo Use "CREATE EXTENSION aeauth" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- The partitioned audit table.  The old one steps aside; its rows move over below.
ALTER TABLE aeauth.user_audit_log RENAME TO user_audit_log_1_0;
ALTER INDEX aeauth.user_audit_log_pkey RENAME TO user_audit_log_1_0_pkey;
ALTER INDEX aeauth.user_audit_log_user_id_created_at_idx RENAME TO user_audit_log_1_0_user_idx;

-- The parent has no index and no primary key: a partitioned table's unique index would have to
-- include expires_at, and an index defined on the parent would be created again by pg_dump for
-- every partition maintenance made (they are not extension members, so pg_dump dumps them as
-- ordinary tables with their own indexes).  aeauth.audit_partition_indexes() gives each
-- partition its indexes instead.  ids are UUIDv7 made in C, unique without a global index.
CREATE TABLE aeauth.user_audit_log (
    id                  uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id             uuid,
    session_id          uuid,
    event_type          varchar(50)  NOT NULL,
    event_category      varchar(30)  NOT NULL,
    action              varchar(100) NOT NULL,
    resource_type       varchar(50),
    resource_id         varchar(255),

    status              varchar(20)  NOT NULL,
    result_code         varchar(20),
    message             text,
    ip_address          inet,
    user_agent          text,
    location_country    varchar(2),
    location_city       varchar(100),
    risk_score          integer
        CONSTRAINT user_audit_log_risk_score_check CHECK (risk_score BETWEEN 0 AND 100),

    request_method      varchar(10),
    request_path        varchar(500),
    request_params      jsonb,
    response_status     integer,

    metadata            jsonb,
    tags                text[],
    severity            varchar(20)  NOT NULL DEFAULT 'info'
        -- Spelt with a text array: partitions made by maintenance carry a local copy of this
        -- constraint, which pg_dump prints and a restore compares with the parent's; the
        -- seed's IN list over varchar does not come back from that round trip identical.
        CONSTRAINT user_audit_log_severity_check
        CHECK (severity::text = ANY (ARRAY['debug'::text, 'info'::text, 'warning'::text, 'error'::text, 'critical'::text])),
    is_sensitive        boolean      NOT NULL DEFAULT false,
    retention_policy    varchar(30)  NOT NULL DEFAULT 'standard',

    created_at          timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    processed_at        timestamptz,
    -- When the row may go ('infinity': never).  Set by log_user_event from the retention rules.
    expires_at          timestamptz  NOT NULL
) PARTITION BY RANGE (expires_at);

-- Fixed partitions, members of the extension (their rows are dumped through
-- pg_extension_config_dump below).  Month partitions are made by run_maintenance().
CREATE TABLE aeauth.user_audit_log_permanent PARTITION OF aeauth.user_audit_log
    FOR VALUES FROM ('infinity') TO (MAXVALUE);
-- Catches rows whose month has no partition yet.  Meant to stay nearly empty: attaching a month
-- partition scans it under an exclusive lock, and run_maintenance() moves its rows out.
CREATE TABLE aeauth.user_audit_log_default PARTITION OF aeauth.user_audit_log DEFAULT;

-- The indexes of every audit partition.  Each one is paid for by every insert, so each must
-- serve a documented query.
CREATE FUNCTION aeauth.audit_partition_indexes(part regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
BEGIN
    -- Looking an event up by the id log_user_event returned.  ids are UUIDv7 (time-ordered), so
    -- each insert appends to the rightmost leaf: few pages touched, little WAL.
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (id)', part);
    -- Per-user history ("what happened to this account", newest first).  Events without a user
    -- are left out of it.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (user_id, created_at) WHERE user_id IS NOT NULL', part);
    -- recent_security_events (security events of the last 7 days); only security rows pay.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (created_at) WHERE event_category = ''security''', part);
    -- failed_login_attempts (failed logins of the last 24 hours); only failed logins pay.
    EXECUTE pg_catalog.format(
        'CREATE INDEX ON %s (created_at) WHERE event_type = ''login'' AND status = ''failure''', part);
END
$fn$;

SELECT aeauth.audit_partition_indexes('aeauth.user_audit_log_permanent');
SELECT aeauth.audit_partition_indexes('aeauth.user_audit_log_default');

-- The rows of 1.0, with expires_at filled by the seed's rule where it was NULL.  They land in
-- the default partition; the first run_maintenance() moves them into their month partitions.
INSERT INTO aeauth.user_audit_log
SELECT id, user_id, session_id, event_type, event_category, action, resource_type, resource_id,
       status, result_code, message, ip_address, user_agent, location_country, location_city,
       risk_score, request_method, request_path, request_params, response_status, metadata, tags,
       severity, is_sensitive, retention_policy, created_at, processed_at,
       CASE
           WHEN expires_at IS NOT NULL THEN expires_at
           WHEN event_category = 'security' OR severity IN ('error', 'critical')
               THEN created_at + interval '2 years'
           WHEN retention_policy = 'permanent' THEN 'infinity'
           WHEN retention_policy = 'extended' THEN created_at + interval '1 year'
           ELSE created_at + interval '90 days'
       END
  FROM aeauth.user_audit_log_1_0;

ALTER EXTENSION aeauth DROP TABLE aeauth.user_audit_log_1_0;   -- also leaves extconfig
DROP TABLE aeauth.user_audit_log_1_0;

-- pg_dump keeps the rows of registered tables only, and of a partitioned table only those of
-- the registered partitions.  Month partitions are not extension members: pg_dump dumps them,
-- rows and all, as ordinary tables attached to the parent.
SELECT pg_catalog.pg_extension_config_dump('aeauth.user_audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('aeauth.user_audit_log_permanent', '');
SELECT pg_catalog.pg_extension_config_dump('aeauth.user_audit_log_default', '');

-- Append-only: the backend's role has no privilege on the table at all; this refuses UPDATE,
-- DELETE and TRUNCATE of the parent to everyone else.  Retention removes rows by dropping
-- partitions (and deleting expired rows from the default partition), never through the parent.
-- Statement-level, so inserts do not pay for it.
CREATE FUNCTION aeauth.audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
BEGIN
    RAISE EXCEPTION 'aeauth.user_audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('%s is refused on the audit log.', TG_OP),
              HINT = 'Rows leave when aeauth.run_maintenance() finds them expired.';
END
$fn$;

CREATE TRIGGER user_audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON aeauth.user_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION aeauth.audit_log_refuse_change();

-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION aeauth.log_user_event(
    p_user_id uuid,
    p_session_id uuid,
    p_event_type varchar,
    p_event_category varchar,
    p_action varchar,
    p_status varchar,
    p_ip_address inet DEFAULT NULL,
    p_user_agent text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL,
    p_severity varchar DEFAULT 'info',
    p_retention_policy varchar DEFAULT 'standard',
    p_request_params jsonb DEFAULT NULL
) RETURNS uuid
    LANGUAGE c
    -- Not SECURITY DEFINER: the C code runs its one fixed insert as the audit table's owner
    -- (src/audit.c, audit_log_event), without the cost of a SET search_path on every call.
    AS 'MODULE_PATHNAME', 'aeauth_log_user_event';

-- ---------------------------------------------------------------------------------------------
-- Maintenance.  run_maintenance() runs the tasks listed here in order; a later version adds a
-- task with one INSERT.  Each task function returns TABLE(task text, affected bigint).  Tasks
-- that take strong locks on busy tables go last: locks are held until the caller commits.
CREATE TABLE aeauth.maintenance_tasks (
    position    integer PRIMARY KEY,
    function    text    NOT NULL UNIQUE   -- a regprocedure spelling, e.g. 'aeauth.audit_expire_default()'
);

-- The partition name of an expiry month, and its bounds (UTC months).
CREATE FUNCTION aeauth.audit_month_partition(month date,
    OUT name text, OUT lower_bound timestamptz, OUT upper_bound timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT 'user_audit_log_p' OPERATOR(pg_catalog.||)
                   pg_catalog.to_char(pg_catalog.date_trunc('month', month::timestamp), 'YYYYMM'),
               pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', month::timestamp)),
               pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', month::timestamp)
                                          OPERATOR(pg_catalog.+) interval '1 month');
    END;

-- Creates the partition of one expiry month unless it exists.  Rows of that month waiting in
-- the default partition are moved into the new table before it is attached (ATTACH refuses a
-- default partition holding rows of the new range).  ATTACH takes only SHARE UPDATE EXCLUSIVE
-- on the parent, so inserts into other partitions go on; the lock on the default partition
-- makes only inserts routed there wait.
CREATE FUNCTION aeauth.audit_create_partition(month date, OUT created boolean, OUT moved bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    p record;
BEGIN
    SELECT * INTO p FROM aeauth.audit_month_partition(month);
    created := false;
    moved := 0;
    IF pg_catalog.to_regclass(pg_catalog.format('aeauth.%I', p.name)) IS NOT NULL THEN
        RETURN;
    END IF;
    LOCK TABLE aeauth.user_audit_log_default IN EXCLUSIVE MODE;
    EXECUTE pg_catalog.format(
        'CREATE TABLE aeauth.%I (LIKE aeauth.user_audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        p.name);
    EXECUTE pg_catalog.format(
        'WITH m AS (DELETE FROM aeauth.user_audit_log_default d'
        '            WHERE d.expires_at OPERATOR(pg_catalog.>=) $1'
        '              AND d.expires_at OPERATOR(pg_catalog.<) $2 RETURNING d.*)'
        ' INSERT INTO aeauth.%I SELECT * FROM m', p.name)
        USING p.lower_bound, p.upper_bound;
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM aeauth.audit_partition_indexes(pg_catalog.format('aeauth.%I', p.name)::regclass);
    EXECUTE pg_catalog.format(
        'ALTER TABLE aeauth.user_audit_log ATTACH PARTITION aeauth.%I FOR VALUES FROM (%L) TO (%L)',
        p.name, p.lower_bound, p.upper_bound);
    created := true;
END
$fn$;

-- Task: delete the expired rows of the default partition (rows of months without a partition).
CREATE FUNCTION aeauth.audit_expire_default() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    n bigint;
BEGIN
    DELETE FROM aeauth.user_audit_log_default d
     WHERE d.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'audit: expired rows deleted from the default partition'::text, n;
END
$fn$;

-- Task: the partitions of this month and the next 25 (a 2-year event, the longest finite
-- retention, expires in month 24), moving any of their rows out of the default partition.
-- A month whose locks are not granted within lock_timeout is left for the next run.
CREATE FUNCTION aeauth.audit_create_partitions() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    first_month date := pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', pg_catalog.now()))::date;
    r record;
    n_created bigint := 0;
    n_moved bigint := 0;
    n_skipped bigint := 0;
BEGIN
    FOR i IN 0..25 LOOP
        BEGIN
            SELECT * INTO r FROM aeauth.audit_create_partition(
                (first_month OPERATOR(pg_catalog.+) pg_catalog.make_interval(months => i))::date);
            n_created := n_created OPERATOR(pg_catalog.+) r.created::int;
            n_moved := n_moved OPERATOR(pg_catalog.+) r.moved;
        EXCEPTION WHEN lock_not_available THEN
            n_skipped := n_skipped OPERATOR(pg_catalog.+) 1;
        END;
    END LOOP;
    RETURN QUERY VALUES ('audit: partitions created'::text, n_created),
                        ('audit: rows moved from the default partition', n_moved),
                        ('audit: partitions left for the next run (lock timeout)', n_skipped);
END
$fn$;

-- Task: drop every month partition whose upper bound has passed (all its rows have expired;
-- none is dropped earlier).  DROP takes ACCESS EXCLUSIVE on the parent until commit, which is
-- why this task runs last; a partition whose lock is not granted within lock_timeout is left
-- for the next run rather than making inserts queue behind the wait.
CREATE FUNCTION aeauth.audit_drop_expired_partitions() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    p record;
    n_dropped bigint := 0;
    n_skipped bigint := 0;
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
            EXECUTE pg_catalog.format('DROP TABLE aeauth.%I', p.relname);
            n_dropped := n_dropped OPERATOR(pg_catalog.+) 1;
        EXCEPTION WHEN lock_not_available THEN
            n_skipped := n_skipped OPERATOR(pg_catalog.+) 1;
        END;
    END LOOP;
    RETURN QUERY VALUES ('audit: expired partitions dropped'::text, n_dropped),
                        ('audit: expired partitions left for the next run (lock timeout)', n_skipped);
END
$fn$;

INSERT INTO aeauth.maintenance_tasks (position, function) VALUES
    (100, 'aeauth.audit_expire_default()'),
    (200, 'aeauth.audit_create_partitions()'),
    (900, 'aeauth.audit_drop_expired_partitions()');

-- Safe to run every few minutes (pg_cron): each task does nothing when nothing is due, and no
-- lock is waited for longer than lock_timeout.
CREATE FUNCTION aeauth.run_maintenance() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '200ms'
    AS $fn$
DECLARE
    t record;
BEGIN
    -- One run at a time (a slow run must not collide with the next scheduled one); the later
    -- one returns at once.  The key is the bytes of "aeauth".
    IF NOT pg_catalog.pg_try_advisory_xact_lock(107088054678632) THEN
        RETURN QUERY SELECT 'skipped: another run_maintenance() is in progress'::text, 0::bigint;
        RETURN;
    END IF;
    FOR t IN SELECT m.function FROM aeauth.maintenance_tasks m ORDER BY m.position LOOP
        RETURN QUERY EXECUTE pg_catalog.format('SELECT * FROM %s', t.function::pg_catalog.regprocedure);
    END LOOP;
END
$fn$;

-- ---------------------------------------------------------------------------------------------
-- The seed's monitoring views, schema-qualified.
CREATE VIEW aeauth.recent_security_events AS
SELECT
    ual.id, ual.user_id, u.username, u.email,
    ual.event_type, ual.action, ual.status,
    ual.ip_address, ual.severity, ual.created_at
FROM aeauth.user_audit_log ual
LEFT JOIN aeauth.users u ON ual.user_id = u.id
WHERE ual.event_category = 'security'
    AND ual.created_at >= pg_catalog.now() - interval '7 days'
ORDER BY ual.created_at DESC;

CREATE VIEW aeauth.failed_login_attempts AS
SELECT
    ual.user_id, u.username, u.email,
    pg_catalog.count(*) AS attempt_count,
    pg_catalog.max(ual.created_at) AS last_attempt,
    pg_catalog.array_agg(DISTINCT ual.ip_address) AS ip_addresses
FROM aeauth.user_audit_log ual
LEFT JOIN aeauth.users u ON ual.user_id = u.id
WHERE ual.event_type = 'login' AND ual.status = 'failure'
    AND ual.created_at >= pg_catalog.now() - interval '24 hours'
GROUP BY ual.user_id, u.username, u.email
HAVING pg_catalog.count(*) >= 3
ORDER BY attempt_count DESC;

-- ---------------------------------------------------------------------------------------------
INSERT INTO aeauth.api_objects (kind, name, access) VALUES
    ('function', 'aeauth.log_user_event(uuid,uuid,character varying,character varying,character varying,character varying,inet,text,jsonb,character varying,character varying,jsonb)', 'app'),
    ('function', 'aeauth.run_maintenance()', 'admin'),
    ('view', 'aeauth.recent_security_events', 'admin'),
    ('view', 'aeauth.failed_login_attempts', 'admin');

REVOKE ALL ON ALL TABLES IN SCHEMA aeauth FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_partition_indexes(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_log_refuse_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.log_user_event(uuid, uuid, varchar, varchar, varchar, varchar, inet, text, jsonb, varchar, varchar, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_month_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_create_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_expire_default() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_create_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.audit_drop_expired_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.run_maintenance() FROM PUBLIC;

INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.1', 'audit log: log_user_event in C, partitions by expiry month, run_maintenance, monitoring views');

SELECT aeauth.refresh_grants();
