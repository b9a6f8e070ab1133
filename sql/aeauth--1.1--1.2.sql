/* aeauth 1.2: passwords and accounts.
 *
 * argon2id (libsodium) and legacy bcrypt verification, the password policy and its deny list,
 * registration, import, password change, status, unlock, email verification and password reset
 * tokens.  All the work is in C (src/password.c, src/account.c, src/recovery.c).
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.2'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- Passwords nobody may choose (admins fill it).  Compared after NFKC normalization and
-- case-insensitively; the unique index makes that comparison an index lookup.
CREATE TABLE aeauth.password_denylist (
    password    text        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX password_denylist_normalized_key
    ON aeauth.password_denylist (pg_catalog.lower(pg_catalog.normalize(password, 'NFKC')));
SELECT pg_catalog.pg_extension_config_dump('aeauth.password_denylist', '');
REVOKE ALL ON aeauth.password_denylist FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- request_password_reset must cost the same for an unknown email as for a known one.  A known
-- email updates its user row (heap update, index entries, the updated_at trigger); an unknown
-- one updates one of these decoy rows instead, in the same statement: same work, no user data.
-- The rows hold nothing secret (the hash of a token nobody ever sees) and are not dumped.
CREATE TABLE aeauth.password_reset_decoy (
    slot                        integer      PRIMARY KEY,
    email                       varchar(255) NOT NULL,
    username                    varchar(50)  NOT NULL,
    password_reset_token_hash   bytea,
    password_reset_expires_at   timestamptz,
    updated_at                  timestamptz  NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX password_reset_decoy_email_lower_key
    ON aeauth.password_reset_decoy (pg_catalog.lower(email));
CREATE UNIQUE INDEX password_reset_decoy_username_lower_key
    ON aeauth.password_reset_decoy (pg_catalog.lower(username));
CREATE UNIQUE INDEX password_reset_decoy_token_hash_key
    ON aeauth.password_reset_decoy (password_reset_token_hash)
    WHERE password_reset_token_hash IS NOT NULL;
CREATE TRIGGER password_reset_decoy_set_updated_at
    BEFORE UPDATE ON aeauth.password_reset_decoy
    FOR EACH ROW EXECUTE FUNCTION aeauth.set_updated_at();
INSERT INTO aeauth.password_reset_decoy (slot, email, username)
SELECT g, 'decoy-' || g || '@aeauth.invalid', 'decoy-' || g FROM pg_catalog.generate_series(0, 63) g;
REVOKE ALL ON aeauth.password_reset_decoy FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Accounts.  SECURITY DEFINER: the callers' roles have no table privileges.
CREATE FUNCTION aeauth.register_user(email text, username text, password text)
    RETURNS uuid
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_register_user';

CREATE FUNCTION aeauth.import_user(email text, username text, password_hash text,
                                   email_verified boolean DEFAULT false)
    RETURNS uuid
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_import_user';

CREATE FUNCTION aeauth.change_password(user_id uuid, current_password text, new_password text,
                                       keep_session_id uuid DEFAULT NULL)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_change_password';

CREATE FUNCTION aeauth.set_password(user_id uuid, new_password text)
    RETURNS void
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_set_password';

CREATE FUNCTION aeauth.set_user_status(user_id uuid, status text, reason text DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_set_user_status';

CREATE FUNCTION aeauth.unlock_user(user_id uuid)
    RETURNS void
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_unlock_user';

-- VOLATILE: a new random salt each call.
CREATE FUNCTION aeauth.hash_password(password text)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_hash_password';

-- VOLATILE, not IMMUTABLE: constant arguments must not be folded at plan time (and the answer
-- depends on settings that bound the accepted parameters).
CREATE FUNCTION aeauth.verify_password(password text, password_hash text)
    RETURNS boolean
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_verify_password';

-- Would this stored hash be replaced on the next successful login?  NULL: unusable hash.
CREATE FUNCTION aeauth.password_needs_rehash(password_hash text)
    RETURNS boolean
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_password_needs_rehash';

CREATE FUNCTION aeauth.request_email_verification(user_id uuid)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_request_email_verification';

CREATE FUNCTION aeauth.verify_email(token text)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_verify_email';

CREATE FUNCTION aeauth.request_password_reset(email text)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_request_password_reset';

CREATE FUNCTION aeauth.reset_password(token text, new_password text)
    RETURNS text
    LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'aeauth_reset_password';

REVOKE ALL ON FUNCTION aeauth.register_user(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.import_user(text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.change_password(uuid, text, text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.set_password(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.set_user_status(uuid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.unlock_user(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.hash_password(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.verify_password(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.password_needs_rehash(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.request_email_verification(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.verify_email(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.request_password_reset(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.reset_password(text, text) FROM PUBLIC;

INSERT INTO aeauth.api_objects (kind, name, access) VALUES
    ('function', 'aeauth.register_user(text,text,text)', 'app'),
    ('function', 'aeauth.import_user(text,text,text,boolean)', 'admin'),
    ('function', 'aeauth.change_password(uuid,text,text,uuid)', 'app'),
    ('function', 'aeauth.set_password(uuid,text)', 'admin'),
    ('function', 'aeauth.set_user_status(uuid,text,text)', 'admin'),
    ('function', 'aeauth.unlock_user(uuid)', 'admin'),
    ('function', 'aeauth.hash_password(text)', 'admin'),
    ('function', 'aeauth.verify_password(text,text)', 'admin'),
    ('function', 'aeauth.password_needs_rehash(text)', 'admin'),
    ('function', 'aeauth.request_email_verification(uuid)', 'app'),
    ('function', 'aeauth.verify_email(text)', 'app'),
    ('function', 'aeauth.request_password_reset(text)', 'app'),
    ('function', 'aeauth.reset_password(text,text)', 'app');

SELECT aeauth.refresh_grants();
INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.2', 'passwords and accounts: argon2id, legacy bcrypt, policy, registration, verification and reset tokens');
