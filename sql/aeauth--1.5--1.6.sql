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


-- end of hardening -----------------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.6', 'speed and hardening follow-ups');

SELECT aeauth.refresh_grants();
