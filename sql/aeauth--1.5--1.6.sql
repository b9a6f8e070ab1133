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


-- end of hardening -----------------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.6', 'speed and hardening follow-ups');

SELECT aeauth.refresh_grants();
