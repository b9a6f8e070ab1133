/* aeauth 1.6: speed and hardening follow-ups.
 *
 * Each part below belongs to one concern; see CHANGELOG.md "1.6".
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.6'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- audit (issue 3): audit insert path and audit indexes
-- ---------------------------------------------------------------------------------------------


-- end of audit ---------------------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- sessions (issue 5): validation, refresh and session maintenance
-- ---------------------------------------------------------------------------------------------


-- end of sessions ------------------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- login and passwords (issues 4, 6)
-- ---------------------------------------------------------------------------------------------

-- users_clear_device_locks fired on every successful login (login sets the counter to 0 and
-- locked_until to NULL, so NEW always matched): a plpgsql call and an UPDATE per login, for an
-- account that almost never has anything to clear.  Now it fires only when the account had a
-- failure or a lock to lift (OLD), or for an update that is not a login (last_login unchanged:
-- unlock_user, reset_password, an admin's UPDATE), exactly as before for those.  login lifts
-- the user's other device locks itself, in the statement that records the success (src/login.c).
DROP TRIGGER users_clear_device_locks ON aeauth.users;
CREATE TRIGGER users_clear_device_locks
    AFTER UPDATE OF failed_login_attempts, locked_until ON aeauth.users
    FOR EACH ROW
    WHEN (NEW.failed_login_attempts = 0 AND NEW.locked_until IS NULL
          AND (OLD.failed_login_attempts <> 0 OR OLD.locked_until IS NOT NULL
               OR NEW.last_login IS NOT DISTINCT FROM OLD.last_login))
    EXECUTE FUNCTION aeauth.clear_device_locks();

-- request_password_reset for an unknown email updates a decoy row instead of a user's.  The
-- 1.2 decoy was 64 narrow rows keyed by an integer: always in cache, a quarter of a user row's
-- WAL, and eight clients collided on its rows, so under load an unknown email answered
-- measurably sooner than a known one (0.79x at 8 clients).  Now each decoy row has a user row's
-- columns and width, the table has the users table's indexes (primary key on a uuid, lower(email),
-- lower(username), the two partial token indexes, and one for the audit index entry a known
-- email writes) and the users table's updated_at trigger, and 4096 rows
-- (recovery.c RESET_DECOY_ROWS) spread over ~140 pages: the same statement kinds, index
-- inserts, heap and WAL traffic as a user's row.  No user data: addresses end in .invalid and
-- the hashes cannot verify anything.
ALTER TABLE aeauth.password_reset_decoy
    DROP CONSTRAINT password_reset_decoy_pkey,
    ADD COLUMN id uuid,
    ADD COLUMN password_hash varchar(255),
    ADD COLUMN status varchar(20) NOT NULL DEFAULT 'active',
    ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
    ADD COLUMN email_verification_token_hash bytea,
    ADD COLUMN email_verification_expires_at timestamptz,
    ADD COLUMN failed_login_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ADD COLUMN last_login timestamptz,
    ADD COLUMN lockout_count integer NOT NULL DEFAULT 0;
-- id: the uuid src/recovery.c computes from the slot (00000000-0000-4000-8000-<slot, 12 hex>);
-- password_hash: as long as an argon2id hash at the default parameters (97 characters).
UPDATE aeauth.password_reset_decoy
   SET id = ('00000000-0000-4000-8000-' OPERATOR(pg_catalog.||)
             pg_catalog.lpad(pg_catalog.to_hex(slot), 12, '0'))::uuid,
       password_hash = '$argon2id$v=19$m=19456,t=2,p=1$' OPERATOR(pg_catalog.||) pg_catalog.rpad('decoy', 22, '0')
                       OPERATOR(pg_catalog.||) '$' OPERATOR(pg_catalog.||)
                       pg_catalog.rpad('decoy' OPERATOR(pg_catalog.||) slot, 43, '0');
INSERT INTO aeauth.password_reset_decoy (slot, email, username, id, password_hash)
SELECT g, 'decoy-' OPERATOR(pg_catalog.||) g OPERATOR(pg_catalog.||) '@aeauth.invalid',
       'decoy-' OPERATOR(pg_catalog.||) g,
       ('00000000-0000-4000-8000-' OPERATOR(pg_catalog.||) pg_catalog.lpad(pg_catalog.to_hex(g), 12, '0'))::uuid,
       '$argon2id$v=19$m=19456,t=2,p=1$' OPERATOR(pg_catalog.||) pg_catalog.rpad('decoy', 22, '0')
       OPERATOR(pg_catalog.||) '$' OPERATOR(pg_catalog.||) pg_catalog.rpad('decoy' OPERATOR(pg_catalog.||) g, 43, '0')
  FROM pg_catalog.generate_series(64, 4095) g;
ALTER TABLE aeauth.password_reset_decoy
    ALTER COLUMN id SET NOT NULL,
    ALTER COLUMN password_hash SET NOT NULL,
    ADD CONSTRAINT password_reset_decoy_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX password_reset_decoy_email_verification_token_hash_key
    ON aeauth.password_reset_decoy (email_verification_token_hash)
    WHERE email_verification_token_hash IS NOT NULL;
-- A known email's audit row also goes into the audit log's (user_id, created_at) index; an
-- unknown email's (user_id NULL) does not.  This index of the same shape gives the decoy update
-- that one index entry back, so both paths write the same number of index entries.
CREATE INDEX password_reset_decoy_id_updated_at_idx
    ON aeauth.password_reset_decoy (id, updated_at);
ANALYZE aeauth.password_reset_decoy;

-- end of login and passwords -------------------------------------------------------------------



-- ---------------------------------------------------------------------------------------------
-- hardening (issue 8)
-- ---------------------------------------------------------------------------------------------


-- end of hardening -----------------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.6', 'speed and hardening follow-ups');

SELECT aeauth.refresh_grants();
