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

-- refresh_session finds the session by the SHA-256 of the presented refresh token through a hash
-- index instead of the unique btree of 1.0: a 4-byte hash code per entry instead of the 33-byte
-- key (about 32 MB instead of 73 MB at a million sessions), one bucket page per probe instead of
-- a descent through three or four btree levels, and no unique check for the new entry each
-- rotation writes.  Uniqueness is not lost in practice: a refresh token is 256 bits from
-- pg_strong_random, or the HMAC-SHA-256 of one under the database's secret (each parent is
-- rotated once, so no two sessions are given children of the same parent); two alike would take
-- a SHA-256 collision.  The C lookup compares the stored hash (a hash index is lossy) and takes
-- the first live match; it finds the 1.0 name on databases still at 1.3-1.5.
-- The access token hash keeps its unique btree: its uniqueness is part of the 1.0 schema's
-- contract (a duplicate raises 23505), which a hash index cannot enforce.
DROP INDEX aeauth.user_sessions_refresh_token_hash_key;
CREATE INDEX user_sessions_refresh_token_hash_idx
    ON aeauth.user_sessions USING hash (refresh_token_hash);


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

-- Emails are folded to Unicode NFKC (issue 8 follow-up): the library stores every new email
-- folded and finds accounts by the folded form, so the full-width look-alike
-- "ｐｌａｙｅｒ＠ｅｘａｍｐｌｅ.com" is "player@example.com" (23505 on registration, the same
-- account at login).  Existing emails are folded here, except where two accounts fold to the
-- same address: those are neither merged nor broken.  Of each such group one account (already
-- folded, else the oldest) holds the folded address; the others keep their email as typed
-- (email_kept_as_typed), still log in with it typed exactly, are reported by a WARNING (an
-- extension script hides NOTICEs) and listed in the admin view aeauth.email_lookalikes.  The same happens to an email whose folded form
-- would not fit the column.
ALTER TABLE aeauth.users ADD COLUMN email_kept_as_typed boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN aeauth.users.email_kept_as_typed IS
    'The email is stored as typed, not NFKC-folded: the 1.6 upgrade found another account with the same folded email (see aeauth.email_lookalikes).';

UPDATE aeauth.users u
   SET email_kept_as_typed = f.keep,
       email = CASE WHEN f.keep THEN u.email ELSE f.folded END
  FROM (SELECT g.id, g.folded,
               g.rank OPERATOR(pg_catalog.>) 1 OR pg_catalog.length(g.folded) OPERATOR(pg_catalog.>) 255 AS keep
          FROM (SELECT v.id, v.folded,
                       pg_catalog.row_number() OVER (PARTITION BY v.folded_key
                                                     ORDER BY pg_catalog.lower(v.email) OPERATOR(pg_catalog.=) v.folded_key DESC,
                                                              v.created_at, v.id) AS rank
                  FROM (SELECT w.id, w.email::text AS email, w.created_at,
                               pg_catalog.normalize(w.email::text, 'NFKC') AS folded,
                               pg_catalog.lower(pg_catalog.normalize(w.email::text, 'NFKC')) AS folded_key
                          FROM aeauth.users w) v) g) f
 WHERE u.id OPERATOR(pg_catalog.=) f.id
   AND (f.keep OR u.email::text OPERATOR(pg_catalog.<>) f.folded);

DO $$
DECLARE
    kept bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO kept FROM aeauth.users WHERE email_kept_as_typed;
    IF kept OPERATOR(pg_catalog.>) 0 THEN
        RAISE WARNING 'aeauth: % account(s) keep their email as typed: it is a Unicode look-alike of another account''s email', kept
            USING DETAIL = 'Emails are now compared after NFKC normalization.  These accounts were neither merged nor changed: they log in with their email typed exactly, or with their username.',
                  HINT = 'SELECT * FROM aeauth.email_lookalikes; lists them with the account holding the folded address.';
    END IF;
END
$$;

-- New and updated emails are folded (only rows the upgrade kept apart are exempt), and the
-- folded form is unique: together with users_email_lower_key no two accounts can be look-alikes
-- any more, whatever writes the table.
ALTER TABLE aeauth.users ADD CONSTRAINT users_email_nfkc_check
    CHECK (email_kept_as_typed OR email::text IS NFKC NORMALIZED);
CREATE UNIQUE INDEX users_email_nfkc_key
    ON aeauth.users (pg_catalog.lower(pg_catalog.normalize(email::text, 'NFKC')))
    WHERE NOT email_kept_as_typed;

-- Admin: the accounts whose emails are look-alikes of each other (one row per account, grouped
-- by the folded address), and any email kept as typed.
CREATE VIEW aeauth.email_lookalikes AS
WITH kept AS (
    SELECT DISTINCT pg_catalog.lower(pg_catalog.normalize(k.email::text, 'NFKC')) AS folded_email
      FROM aeauth.users k
     WHERE k.email_kept_as_typed)
SELECT kept.folded_email, u.id AS user_id, u.username, u.email,
       u.email_kept_as_typed AS kept_as_typed, u.status, u.created_at
  FROM kept
  JOIN aeauth.users u
    ON pg_catalog.lower(pg_catalog.normalize(u.email::text, 'NFKC')) OPERATOR(pg_catalog.=) kept.folded_email
 ORDER BY kept.folded_email, u.email_kept_as_typed, u.created_at;

INSERT INTO aeauth.api_objects (kind, name, access) VALUES
    ('view', 'aeauth.email_lookalikes', 'admin');

-- request_password_reset's decoy rows keep a user row's shape (login and passwords part above):
-- the same new column and the same folded-email index, so that a reset for an unknown email
-- still writes what a known one writes.
ALTER TABLE aeauth.password_reset_decoy
    ADD COLUMN email_kept_as_typed boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX password_reset_decoy_email_nfkc_key
    ON aeauth.password_reset_decoy (pg_catalog.lower(pg_catalog.normalize(email::text, 'NFKC')))
    WHERE NOT email_kept_as_typed;


-- end of hardening -----------------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.6', 'speed and hardening follow-ups');

SELECT aeauth.refresh_grants();
