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

-- Token lookups through hash indexes instead of unique btrees.  validate_session (every request)
-- and refresh_session probe by the SHA-256 of a token: a hash index keeps a 4-byte hash code per
-- entry instead of the 33-byte key (about a third of the size, so a million sessions' index
-- stays in the CPU caches longer), finds the entry in one bucket page instead of a descent
-- through three or four btree levels, and each rotation's two new entries skip the unique
-- check.  Uniqueness is not lost in practice: an access or refresh token is 256 bits from
-- pg_strong_random, or the HMAC-SHA-256 of such a token under the database's secret (each
-- parent is rotated once, so no two sessions are given children of the same parent); two
-- tokens hashing alike would take a SHA-256 collision.  The C lookups compare the stored hash
-- (a hash index is lossy) and take the first live match.  The names change with the kind: the
-- C code looks the new names up first and the 1.0 names next, so the newest aeauth.so also
-- serves databases still at 1.3-1.5.
DROP INDEX aeauth.user_sessions_access_token_hash_key;
CREATE INDEX user_sessions_access_token_hash_idx
    ON aeauth.user_sessions USING hash (access_token_hash);
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
