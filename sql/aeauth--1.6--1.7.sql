/* aeauth 1.7: the speed targets of issues 3-6 and 9.
 *
 * Each part below belongs to one concern; see CHANGELOG.md "1.7".
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.7'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
-- audit (issue 3)
-- ---------------------------------------------------------------------------------------------


-- end of audit ---------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- sessions (issue 5)
-- ---------------------------------------------------------------------------------------------

-- validate_session runs as its caller.  As SECURITY DEFINER with SET search_path every call paid
-- a user switch, parsing and setting search_path and restoring it (which also made the caller's
-- next prepared statement recompute its search path): a sixth of the call's instructions, more
-- than its index probe.  Its C code checks no privilege and resolves no name through
-- search_path (the table and index by OID, the token by its hash); the once-a-minute
-- last_activity write, the one statement that needs a privilege, switches to the owner of
-- user_sessions and pins search_path = pg_catalog, pg_temp for itself (src/validate.c).  Who
-- may call it is unchanged: EXECUTE is granted to the app and admin roles only.
ALTER FUNCTION aeauth.validate_session(text) SECURITY INVOKER RESET search_path;

-- end of sessions ------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- login and passwords (issues 4, 6)
-- ---------------------------------------------------------------------------------------------


-- end of login and passwords -------------------------------------------------------------------



INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.7', 'speed targets: audit, sessions, login and passwords');

SELECT aeauth.refresh_grants();
