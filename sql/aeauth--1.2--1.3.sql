/* aeauth 1.3: sessions.  Opaque tokens, validation on every request, refresh rotation with
 * reuse detection, logout everywhere, revocation NOTIFY, session risk.  See README "Sessions".
 */
\echo Use "CREATE EXTENSION aeauth" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- user_sessions, as of 1.3:
--   expires_at         the refresh token's (and so the session's) expiry: refresh_token_ttl after
--                      the last rotation, never beyond created_at + session_absolute_timeout;
--   access_expires_at  the current access token's expiry (new; '-infinity' for rows written
--                      without it: their access token is dead, their refresh token still works);
--   rotated_at         when the current pair replaced the previous one (NULL: never rotated);
--   generation         rotations so far (0 for the login's pair).
-- The absolute and idle limits are not stored: they are measured from created_at and
-- last_activity against the settings when checked, so lowering a setting applies at once.
-- No new index: validate_session probes user_sessions_access_token_hash_key, refresh_session
-- user_sessions_refresh_token_hash_key (both 1.0), list/revoke by user user_sessions_user_id_idx.
-- None of the new columns is indexed, so validate_session's last_activity write stays HOT.
ALTER TABLE aeauth.user_sessions
    ADD COLUMN access_expires_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN rotated_at        timestamptz,
    ADD COLUMN generation        integer     NOT NULL DEFAULT 0
        CONSTRAINT user_sessions_generation_check CHECK (generation >= 0);

-- Refresh tokens that have been rotated away, kept (as SHA-256 hashes) so that one coming back
-- is recognised as reuse of this session, however many rotations ago.  One row per refresh;
-- a row is useless once its token would have expired anyway (refresh_token_ttl after it was
-- issued, so at the latest refresh_token_ttl after rotated_at) or its session is gone, and
-- maintenance deletes it then.  The primary key is the only index: the lookup by hash.
-- No foreign key: it would cost a lock per refresh and an index on session_id.
CREATE TABLE aeauth.session_rotated_tokens (
    token_hash  bytea       PRIMARY KEY,
    session_id  uuid        NOT NULL,
    rotated_at  timestamptz NOT NULL
);

-- The key of the keyed hash that derives a rotated pair from its parent token (src/refresh.c).
-- 256 bits from the server's strong random source (three gen_random_uuid(), 366 random bits,
-- through SHA-256).  Readable by nobody but the extension owner (no grant exists).
-- Dumped, so that after a restore a retry within refresh_reuse_interval still gets the same
-- pair; the restore's CREATE EXTENSION adds a fresh row first, so the OLDEST row is the key.
-- Anybody who holds the key and a parent token can compute its children: back it up like
-- the database itself.
CREATE TABLE aeauth.session_secret (
    key         bytea       NOT NULL CONSTRAINT session_secret_key_check CHECK (pg_catalog.length(key) = 32),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
INSERT INTO aeauth.session_secret (key)
SELECT pg_catalog.sha256(pg_catalog.convert_to(
           pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text
           || pg_catalog.gen_random_uuid()::text, 'UTF8'));

SELECT pg_catalog.pg_extension_config_dump('aeauth.session_rotated_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('aeauth.session_secret', '');

-- ---------------------------------------------------------------------------------------------
-- Functions.  All SECURITY DEFINER (they reach tables the caller cannot), all with a fixed
-- search_path, none executable by PUBLIC; access per api_objects below.

CREATE FUNCTION aeauth.create_session(for_user uuid, ip inet DEFAULT NULL,
                                      user_agent text DEFAULT NULL,
                                      device_type text DEFAULT NULL,
                                      device_name text DEFAULT NULL,
                                      is_trusted boolean DEFAULT false)
    RETURNS TABLE(status text, user_id uuid, session_id uuid, access_token text,
                  refresh_token text, access_expires_at timestamptz,
                  refresh_expires_at timestamptz, risk_score integer, is_suspicious boolean)
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_create_session';

CREATE FUNCTION aeauth.validate_session(access_token text)
    RETURNS TABLE(user_id uuid, session_id uuid, expires_at timestamptz)
    LANGUAGE c VOLATILE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_validate_session';

CREATE FUNCTION aeauth.refresh_session(token text, ip inet DEFAULT NULL, user_agent text DEFAULT NULL)
    RETURNS TABLE(status text, user_id uuid, session_id uuid, access_token text,
                  refresh_token text, access_expires_at timestamptz, refresh_expires_at timestamptz)
    LANGUAGE c VOLATILE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_refresh_session';

CREATE FUNCTION aeauth.logout(access_token text) RETURNS boolean
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_logout';

CREATE FUNCTION aeauth.revoke_session(session_id uuid, revoked_by text DEFAULT 'user') RETURNS boolean
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_revoke_session';

CREATE FUNCTION aeauth.revoke_user_sessions(user_id uuid, except_session_id uuid DEFAULT NULL,
                                            revoked_by text DEFAULT 'user') RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_revoke_user_sessions';

-- Live sessions only; no token material (hashes included) ever leaves through here.
CREATE FUNCTION aeauth.list_sessions(user_id uuid)
    RETURNS TABLE(session_id uuid, device_type text, device_name text, user_agent text,
                  ip_address inet, created_at timestamptz, last_activity timestamptz,
                  expires_at timestamptz, is_trusted boolean, is_suspicious boolean,
                  risk_score integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT s.id, s.device_type::text, s.device_name::text, s.user_agent, s.ip_address,
               s.created_at, s.last_activity, s.expires_at, s.is_trusted, s.is_suspicious,
               s.risk_score
          FROM aeauth.user_sessions s
         WHERE s.user_id OPERATOR(pg_catalog.=) list_sessions.user_id
           AND s.status OPERATOR(pg_catalog.=) 'active'
           AND s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()
         ORDER BY s.last_activity DESC;
    END;

-- Not SECURITY DEFINER: it reads only this backend's memory, and row-level security policies
-- call it per row (a definer's SET search_path would cost a GUC save/restore each time).
-- PARALLEL RESTRICTED: the identity lives in the leader only.
CREATE FUNCTION aeauth.current_user_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'aeauth_current_user_id';

-- Housekeeping (admin; run_maintenance() calls it): marks dead sessions 'expired' and deletes
-- rotated refresh token hashes that can no longer matter.  Safe to run at any time.
CREATE FUNCTION aeauth.expire_sessions() RETURNS TABLE(task text, affected bigint)
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_expire_sessions';

INSERT INTO aeauth.maintenance_tasks (position, function) VALUES (300, 'aeauth.expire_sessions()');

-- A user leaving 'active' loses every session at once, whoever changes the status; this is
-- what lets validate_session refuse non-active users without a second lookup.
CREATE FUNCTION aeauth.revoke_sessions_on_status() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'aeauth_revoke_sessions_on_status';
CREATE TRIGGER users_revoke_sessions_on_status
    AFTER UPDATE OF status ON aeauth.users
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status::text <> 'active')
    EXECUTE FUNCTION aeauth.revoke_sessions_on_status();

-- Sessions of users who were not active before this version are revoked now, for the same reason.
UPDATE aeauth.user_sessions s
   SET status = 'revoked', revoked_at = pg_catalog.now(), revoked_by = 'system'
  FROM aeauth.users u
 WHERE u.id OPERATOR(pg_catalog.=) s.user_id
   AND u.status OPERATOR(pg_catalog.<>) 'active'
   AND s.status OPERATOR(pg_catalog.=) 'active';
-- Sessions from before 1.3 keep their single expiry for the access token too.
UPDATE aeauth.user_sessions SET access_expires_at = expires_at;

REVOKE ALL ON FUNCTION aeauth.create_session(uuid, inet, text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.validate_session(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.refresh_session(text, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.logout(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.revoke_session(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.revoke_user_sessions(uuid, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.list_sessions(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.current_user_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.revoke_sessions_on_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.expire_sessions() FROM PUBLIC;

INSERT INTO aeauth.api_objects (kind, name, access) VALUES
    ('function', 'aeauth.create_session(uuid,inet,text,text,text,boolean)', 'admin'),
    ('function', 'aeauth.validate_session(text)', 'app'),
    ('function', 'aeauth.refresh_session(text,inet,text)', 'app'),
    ('function', 'aeauth.logout(text)', 'app'),
    ('function', 'aeauth.revoke_session(uuid,text)', 'app'),
    ('function', 'aeauth.revoke_user_sessions(uuid,uuid,text)', 'app'),
    ('function', 'aeauth.list_sessions(uuid)', 'app'),
    ('function', 'aeauth.current_user_id()', 'app'),
    ('function', 'aeauth.expire_sessions()', 'admin');

INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.3', 'sessions: validate, refresh rotation with reuse detection, logout, revocation NOTIFY, risk');

SELECT aeauth.refresh_grants();
