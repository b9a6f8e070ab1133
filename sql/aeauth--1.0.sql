/* aeauth 1.0: the schema of the seed's migrations 001-003, corrected.
 *
 * Corrections against the seed (../shared/seeds/):
 *  - timestamps are timestamptz;
 *  - email and username are unique case-insensitively (unique indexes on lower());
 *  - no token is stored in plain text: verification, reset, access and refresh tokens are kept
 *    as SHA-256 hashes (bytea) looked up through unique indexes;
 *  - indexes only where a documented query needs one (the seed had 33 on write-heavy tables);
 *  - the audit log has no foreign keys: a row lock on the user for every audit insert would
 *    cost more than the insert, and audit rows must outlive the sessions they mention.
 */
\echo Use "CREATE EXTENSION aeauth" to load this file. \quit

-- The control file names pg_catalog (as pg_cron does) so that the script creates the schema
-- itself: it is then a member of the extension, DROP EXTENSION removes it, and CREATE EXTENSION
-- fails rather than adopt a schema of the same name that somebody else made.
CREATE SCHEMA aeauth;
-- Nothing in this schema is for PUBLIC; access is granted per role (grant_app_access).
REVOKE ALL ON SCHEMA aeauth FROM PUBLIC;

CREATE FUNCTION aeauth.library_version() RETURNS text
    LANGUAGE c STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'aeauth_library_version';

CREATE FUNCTION aeauth.set_updated_at() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'aeauth_set_updated_at';

-- ---------------------------------------------------------------------------------------------
-- Versions installed: one row per install or update step (the seed's migration_history).
-- Not dumped: CREATE EXTENSION on restore writes the rows of the steps it runs.
CREATE TABLE aeauth.schema_history (
    version     text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    description text        NOT NULL
);
INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.0', 'schema: users, user_sessions, user_audit_log (seed migrations 001-003, corrected)');

-- ---------------------------------------------------------------------------------------------
CREATE TABLE aeauth.users (
    id                              uuid         PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    email                           varchar(255) NOT NULL,
    username                        varchar(50)  NOT NULL,
    password_hash                   varchar(255) NOT NULL,

    status                          varchar(20)  NOT NULL DEFAULT 'active'
        CONSTRAINT users_status_check
        CHECK (status IN ('active', 'inactive', 'suspended', 'banned')),
    email_verified                  boolean      NOT NULL DEFAULT false,
    -- SHA-256 of the verification token; the token itself is shown once and never stored.
    email_verification_token_hash   bytea,
    email_verification_expires_at   timestamptz,
    -- SHA-256 of the reset token.
    password_reset_token_hash       bytea,
    password_reset_expires_at       timestamptz,

    failed_login_attempts           integer      NOT NULL DEFAULT 0
        CONSTRAINT users_failed_login_attempts_check CHECK (failed_login_attempts >= 0),
    locked_until                    timestamptz,

    created_at                      timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at                      timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    last_login                      timestamptz
);

-- Login looks a user up by email or by username, case-insensitively; these also enforce
-- "one account for Alice@X.com and alice@x.com".
CREATE UNIQUE INDEX users_email_lower_key ON aeauth.users (pg_catalog.lower(email));
CREATE UNIQUE INDEX users_username_lower_key ON aeauth.users (pg_catalog.lower(username));
-- verify_email / reset_password find the user by the token's hash.  Partial: almost every
-- row has no pending token, so the index stays tiny and most updates stay HOT.
CREATE UNIQUE INDEX users_email_verification_token_hash_key
    ON aeauth.users (email_verification_token_hash)
    WHERE email_verification_token_hash IS NOT NULL;
CREATE UNIQUE INDEX users_password_reset_token_hash_key
    ON aeauth.users (password_reset_token_hash)
    WHERE password_reset_token_hash IS NOT NULL;

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON aeauth.users
    FOR EACH ROW EXECUTE FUNCTION aeauth.set_updated_at();

-- ---------------------------------------------------------------------------------------------
CREATE TABLE aeauth.user_sessions (
    id                  uuid         PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    user_id             uuid         NOT NULL REFERENCES aeauth.users (id) ON DELETE CASCADE,
    -- SHA-256 of the current access and refresh tokens (the seed stored session_token in clear).
    access_token_hash   bytea        NOT NULL,
    refresh_token_hash  bytea        NOT NULL,
    token_family        uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),

    device_type         varchar(50),
    device_name         varchar(100),
    user_agent          text,
    ip_address          inet,
    location_country    varchar(2),
    location_city       varchar(100),

    status              varchar(20)  NOT NULL DEFAULT 'active'
        CONSTRAINT user_sessions_status_check
        CHECK (status IN ('active', 'expired', 'revoked', 'suspicious')),
    is_trusted          boolean      NOT NULL DEFAULT false,
    last_activity       timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    expires_at          timestamptz  NOT NULL,
    login_method        varchar(50)  NOT NULL DEFAULT 'password',
    is_suspicious       boolean      NOT NULL DEFAULT false,
    risk_score          integer      NOT NULL DEFAULT 0
        CONSTRAINT user_sessions_risk_score_check CHECK (risk_score BETWEEN 0 AND 100),

    created_at          timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    revoked_at          timestamptz,
    revoked_by          varchar(50)
);

-- validate_session: one lookup by the access token's hash, on every request.
CREATE UNIQUE INDEX user_sessions_access_token_hash_key
    ON aeauth.user_sessions (access_token_hash);
-- refresh_session: one lookup by the refresh token's hash.
CREATE UNIQUE INDEX user_sessions_refresh_token_hash_key
    ON aeauth.user_sessions (refresh_token_hash);
-- list_sessions, revoke_user_sessions, and the ON DELETE CASCADE from users.
CREATE INDEX user_sessions_user_id_idx ON aeauth.user_sessions (user_id);

-- ---------------------------------------------------------------------------------------------
CREATE TABLE aeauth.user_audit_log (
    id                  uuid         PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
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
        CONSTRAINT user_audit_log_severity_check
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    is_sensitive        boolean      NOT NULL DEFAULT false,
    retention_policy    varchar(30)  NOT NULL DEFAULT 'standard',

    created_at          timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    processed_at        timestamptz,
    expires_at          timestamptz
);

-- Per-user history ("what happened to this account"), newest first.
CREATE INDEX user_audit_log_user_id_created_at_idx
    ON aeauth.user_audit_log (user_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- pg_dump keeps user data of extension tables only when they are registered.
SELECT pg_catalog.pg_extension_config_dump('aeauth.users', '');
SELECT pg_catalog.pg_extension_config_dump('aeauth.user_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('aeauth.user_audit_log', '');

-- ---------------------------------------------------------------------------------------------
-- Access.  The backend's role reaches data only through functions.  Each version's script lists
-- the functions (and views) it adds in api_objects, with the kind of role that may use them;
-- grant_app_access / grant_admin_access grant from that list and remember the grantee, and every
-- upgrade script ends with aeauth.refresh_grants(), so new objects reach existing grantees.
CREATE TABLE aeauth.api_objects (
    kind    text NOT NULL CONSTRAINT api_objects_kind_check CHECK (kind IN ('function', 'view')),
    name    text NOT NULL,   -- a regprocedure or regclass spelling: 'aeauth.login(text,text,...)'
    access  text NOT NULL CONSTRAINT api_objects_access_check CHECK (access IN ('app', 'admin')),
    PRIMARY KEY (kind, name)
);

-- Who was granted what; dumped, so that a restored database keeps its grantees.
CREATE TABLE aeauth.grantees (
    grantee regrole NOT NULL,
    access  text    NOT NULL CONSTRAINT grantees_access_check CHECK (access IN ('app', 'admin')),
    PRIMARY KEY (grantee, access)
);
SELECT pg_catalog.pg_extension_config_dump('aeauth.grantees', '');

INSERT INTO aeauth.api_objects VALUES ('function', 'aeauth.library_version()', 'admin');

-- Makes one role's privileges match what aeauth.grantees says of it: revoke everything listed
-- in api_objects, then grant per level ('admin' includes 'app').
CREATE FUNCTION aeauth.apply_grants(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    o record;
    is_app boolean;
    is_admin boolean;
BEGIN
    SELECT bool_or(g.access OPERATOR(pg_catalog.=) 'app'), bool_or(g.access OPERATOR(pg_catalog.=) 'admin')
      INTO is_app, is_admin
      FROM aeauth.grantees g WHERE g.grantee OPERATOR(pg_catalog.=) role;
    is_app := coalesce(is_app, false);
    is_admin := coalesce(is_admin, false);

    FOR o IN SELECT a.kind, a.name, a.access FROM aeauth.api_objects a ORDER BY a.kind, a.name LOOP
        IF o.kind OPERATOR(pg_catalog.=) 'function' THEN
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', o.name::regprocedure, role);
            IF is_admin OR (is_app AND o.access OPERATOR(pg_catalog.=) 'app') THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', o.name::regprocedure, role);
            END IF;
        ELSE
            EXECUTE format('REVOKE ALL ON %s FROM %s', o.name::regclass, role);
            IF is_admin OR (is_app AND o.access OPERATOR(pg_catalog.=) 'app') THEN
                EXECUTE format('GRANT SELECT ON %s TO %s', o.name::regclass, role);
            END IF;
        END IF;
    END LOOP;

    IF is_app OR is_admin THEN
        EXECUTE format('GRANT USAGE ON SCHEMA aeauth TO %s', role);
    ELSE
        EXECUTE format('REVOKE ALL ON SCHEMA aeauth FROM %s', role);
    END IF;
END
$fn$;

-- Re-applies every recorded grant; the last statement of every upgrade script.
CREATE FUNCTION aeauth.refresh_grants() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    r regrole;
BEGIN
    FOR r IN SELECT DISTINCT g.grantee FROM aeauth.grantees g LOOP
        PERFORM aeauth.apply_grants(r);
    END LOOP;
END
$fn$;

CREATE FUNCTION aeauth.grant_app_access(grantee regrole) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        INSERT INTO aeauth.grantees (grantee, access) VALUES (grantee, 'app') ON CONFLICT DO NOTHING;
        SELECT aeauth.apply_grants(grantee);
    END;

CREATE FUNCTION aeauth.revoke_app_access(grantee regrole) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        DELETE FROM aeauth.grantees g
         WHERE g.grantee OPERATOR(pg_catalog.=) revoke_app_access.grantee
           AND g.access OPERATOR(pg_catalog.=) 'app';
        SELECT aeauth.apply_grants(grantee);
    END;

CREATE FUNCTION aeauth.grant_admin_access(grantee regrole) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        INSERT INTO aeauth.grantees (grantee, access) VALUES (grantee, 'admin') ON CONFLICT DO NOTHING;
        SELECT aeauth.apply_grants(grantee);
    END;

CREATE FUNCTION aeauth.revoke_admin_access(grantee regrole) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        DELETE FROM aeauth.grantees g
         WHERE g.grantee OPERATOR(pg_catalog.=) revoke_admin_access.grantee
           AND g.access OPERATOR(pg_catalog.=) 'admin';
        SELECT aeauth.apply_grants(grantee);
    END;

-- Nothing is executable or readable by PUBLIC (functions are executable by PUBLIC by default).
REVOKE ALL ON ALL TABLES IN SCHEMA aeauth FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA aeauth FROM PUBLIC;
