/* aeauth 1.3 -> 1.4: login and lockout in C. */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.4'" to load this file. \quit

-- How many locks since the last successful login: each doubles the next (lockout_base,
-- 2x, 4x ... capped at lockout_max).
ALTER TABLE aeauth.users
    ADD COLUMN lockout_count integer NOT NULL DEFAULT 0
        CONSTRAINT users_lockout_count_check CHECK (lockout_count >= 0);

-- Devices a user has logged in from.  A device is the backend's device id when it passes one,
-- else the IP; only SHA-256 of it is kept.  Within aeauth.trusted_device_days of its last
-- success a device is trusted: it keeps its own failure counter and lock, so failures from
-- elsewhere cannot lock the player out of it (and its own failures still count against it).
CREATE TABLE aeauth.trusted_devices (
    user_id                 uuid        NOT NULL REFERENCES aeauth.users (id) ON DELETE CASCADE,
    device_key              bytea       NOT NULL,
    last_success_at         timestamptz NOT NULL,
    failed_login_attempts   integer     NOT NULL DEFAULT 0
        CONSTRAINT trusted_devices_failed_login_attempts_check CHECK (failed_login_attempts >= 0),
    lockout_count           integer     NOT NULL DEFAULT 0
        CONSTRAINT trusted_devices_lockout_count_check CHECK (lockout_count >= 0),
    locked_until            timestamptz,
    -- login's lookup and its upsert: one probe by (user, device).
    PRIMARY KEY (user_id, device_key)
);
SELECT pg_catalog.pg_extension_config_dump('aeauth.trusted_devices', '');

-- Failed logins per source (IPv4 address or IPv6 /64) per minute, for throttling.  UNLOGGED:
-- it is rebuilt within aeauth.ip_window of a crash, and a failed login should not cost WAL
-- for it.  Old buckets are removed by run_maintenance().
CREATE UNLOGGED TABLE aeauth.login_source_failures (
    source      cidr        NOT NULL,
    bucket      timestamptz NOT NULL,
    failures    integer     NOT NULL,
    -- the throttle check sums one source's recent buckets; the upsert hits one bucket.
    PRIMARY KEY (source, bucket)
);

CREATE FUNCTION aeauth.login(identifier text, password text, ip inet DEFAULT NULL,
                             user_agent text DEFAULT NULL, device_type text DEFAULT NULL,
                             device_name text DEFAULT NULL, device_id text DEFAULT NULL)
    RETURNS TABLE (status text, user_id uuid, session_id uuid, access_token text,
                   refresh_token text, access_expires_at timestamptz,
                   refresh_expires_at timestamptz)
    LANGUAGE c VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    ROWS 1
    AS 'MODULE_PATHNAME', 'aeauth_login';
REVOKE ALL ON FUNCTION aeauth.login(text, text, inet, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON TABLE aeauth.trusted_devices, aeauth.login_source_failures FROM PUBLIC;

-- A lock lifted on the account (unlock_user, a password reset, a successful login) lifts the
-- device locks too.  A trigger rather than code in each of those functions, so that every path
-- that clears the account's lock is covered; failures (counter > 0) do not fire it.
CREATE FUNCTION aeauth.clear_device_locks() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
BEGIN
    UPDATE aeauth.trusted_devices d
       SET failed_login_attempts = 0, locked_until = NULL
     WHERE d.user_id OPERATOR(pg_catalog.=) NEW.id
       AND (d.locked_until IS NOT NULL OR d.failed_login_attempts OPERATOR(pg_catalog.>) 0);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER users_clear_device_locks
    AFTER UPDATE OF failed_login_attempts, locked_until ON aeauth.users
    FOR EACH ROW
    WHEN (NEW.failed_login_attempts = 0 AND NEW.locked_until IS NULL)
    EXECUTE FUNCTION aeauth.clear_device_locks();

-- Maintenance: throttling buckets older than the window, and devices no longer trusted.
CREATE FUNCTION aeauth.expire_login_state() RETURNS TABLE(task text, affected bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    n_buckets bigint;
    n_devices bigint;
BEGIN
    DELETE FROM aeauth.login_source_failures f
     WHERE f.bucket OPERATOR(pg_catalog.<) (pg_catalog.now()
           OPERATOR(pg_catalog.-) pg_catalog.current_setting('aeauth.ip_window')::interval
           OPERATOR(pg_catalog.-) interval '1 minute');
    GET DIAGNOSTICS n_buckets = ROW_COUNT;
    DELETE FROM aeauth.trusted_devices d
     WHERE d.last_success_at OPERATOR(pg_catalog.<) (pg_catalog.now()
           OPERATOR(pg_catalog.-) pg_catalog.make_interval(
               days => pg_catalog.current_setting('aeauth.trusted_device_days')::integer))
       AND (d.locked_until IS NULL OR d.locked_until OPERATOR(pg_catalog.<=) pg_catalog.now());
    GET DIAGNOSTICS n_devices = ROW_COUNT;
    RETURN QUERY VALUES ('login: throttling buckets removed'::text, n_buckets),
                        ('login: devices no longer trusted removed', n_devices);
END
$fn$;
INSERT INTO aeauth.maintenance_tasks (position, function) VALUES (400, 'aeauth.expire_login_state()');
REVOKE ALL ON FUNCTION aeauth.clear_device_locks(), aeauth.expire_login_state() FROM PUBLIC;

INSERT INTO aeauth.api_objects VALUES
    ('function', 'aeauth.login(text,text,inet,text,text,text,text)', 'app'),
    ('function', 'aeauth.expire_login_state()', 'admin');

INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.4', 'login and lockout in C: exact counting, progressive lockout, trusted devices, throttling by source');

SELECT aeauth.refresh_grants();
