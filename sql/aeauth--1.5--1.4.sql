/* aeauth 1.5 -> 1.4: the downgrade of "versions as migrations".
 *
 * 1.5 added only derived objects (verify_integrity, the integrity manifest and what records it),
 * no user data, so the step can be undone without losing anything: this script removes them and
 * puts 1.0's refresh_grants() back.  The schema_history row of 1.5 goes too (the table says what
 * is installed; updating again writes it anew).  See README "Upgrading" for the steps that
 * cannot be undone.
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.4'" to load this file. \quit

-- integrity (migrations issue) ----------------------------------------------------------------
DROP FUNCTION aeauth.verify_integrity();
DELETE FROM aeauth.api_objects
 WHERE kind OPERATOR(pg_catalog.=) 'function' AND name OPERATOR(pg_catalog.=) 'aeauth.verify_integrity()';

CREATE OR REPLACE FUNCTION aeauth.refresh_grants() RETURNS void
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

DROP TRIGGER grantees_apply ON aeauth.grantees;
DROP FUNCTION aeauth.grantees_apply();
DROP FUNCTION aeauth.record_integrity_manifest();
DROP TABLE aeauth.integrity_manifest;
DROP FUNCTION aeauth.integrity_snapshot();
-- end of integrity (migrations issue) ---------------------------------------------------------

DELETE FROM aeauth.schema_history WHERE version OPERATOR(pg_catalog.=) '1.5';

SELECT aeauth.refresh_grants();
