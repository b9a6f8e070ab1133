/* aeauth 1.5: versions as migrations.
 *
 *  - aeauth.verify_integrity() (admin): the installed objects are what this version's scripts
 *    made (compared with a manifest recorded at the end of the install or update), nothing is
 *    granted to PUBLIC, every SECURITY DEFINER function pins its search_path, every API object
 *    exists, the library's version matches the SQL's.
 *  - grants survive pg_dump of a database whose grants were re-applied by an update (trigger
 *    on aeauth.grantees).
 *  - aeauth.refresh_grants(), the last statement of every install and update script, also
 *    records that manifest; so a later version's additions are part of it without more work.
 */
\echo Use "ALTER EXTENSION aeauth UPDATE TO '1.5'" to load this file. \quit

-- integrity (migrations issue) ----------------------------------------------------------------

-- What is installed in schema aeauth, one row per object or attribute that a version's scripts
-- decide: tables (kind, persistence, partitioning, membership, owner), columns (type, not null,
-- default), constraints, indexes, triggers, views, functions (signature, result, language,
-- volatility, security, settings, body, membership, owner) and the tables pg_dump keeps.
-- Privileges are not part of it (grants to roles change at run time); verify_integrity checks
-- PUBLIC's separately.  Audit partitions made by run_maintenance() (not members of the
-- extension) are data, not schema, and are left out with their indexes.
CREATE FUNCTION aeauth.integrity_snapshot() RETURNS TABLE(kind text, name text, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
    WITH ext AS (
        SELECT e.oid, e.extowner, e.extconfig, e.extcondition FROM pg_catalog.pg_extension e
         WHERE e.extname OPERATOR(pg_catalog.=) 'aeauth'
    ), members AS (
        SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
         WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.refobjid OPERATOR(pg_catalog.=) ext.oid
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
    ), rels AS (
        SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relispartition, c.relowner,
               EXISTS (SELECT FROM members m
                        WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND m.objid OPERATOR(pg_catalog.=) c.oid) AS member
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'S', 'f']::"char"[])
    ), kept AS (
        SELECT * FROM rels r WHERE r.member OR NOT r.relispartition
    )
    SELECT 'table', r.relname::text,
           pg_catalog.concat_ws(' ', 'relkind=' OPERATOR(pg_catalog.||) r.relkind::text,
                                'persistence=' OPERATOR(pg_catalog.||) r.relpersistence::text,
                                CASE WHEN r.relispartition
                                     THEN 'partition of ' OPERATOR(pg_catalog.||)
                                          (SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i
                                            WHERE i.inhrelid OPERATOR(pg_catalog.=) r.oid)
                                          OPERATOR(pg_catalog.||) ' '
                                          OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
                                CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'p'
                                     THEN 'partitioned by ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_partkeydef(r.oid) END,
                                CASE WHEN r.member THEN 'member' ELSE 'not a member' END,
                                CASE WHEN r.relowner OPERATOR(pg_catalog.=) (SELECT extowner FROM ext)
                                     THEN 'owned by the extension owner' ELSE 'other owner' END)
      FROM kept r JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.oid
    UNION ALL
    SELECT 'column', r.relname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) a.attname,
           pg_catalog.concat_ws(' ', pg_catalog.format_type(a.atttypid, a.atttypmod),
                                CASE WHEN a.attnotnull THEN 'not null' END,
                                CASE WHEN a.attcollation OPERATOR(pg_catalog.<>) 0
                                      AND a.attcollation OPERATOR(pg_catalog.<>) 100
                                     THEN 'collate ' OPERATOR(pg_catalog.||) a.attcollation::pg_catalog.regcollation::text END,
                                'default ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
                                'position ' OPERATOR(pg_catalog.||) a.attnum::text)
      FROM kept r
      JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid
                                        AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
     WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', r.relname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) co.conname,
           pg_catalog.pg_get_constraintdef(co.oid)
      FROM kept r JOIN pg_catalog.pg_constraint co ON co.conrelid OPERATOR(pg_catalog.=) r.oid
    UNION ALL
    SELECT 'index', ic.relname::text, pg_catalog.pg_get_indexdef(ic.oid)
      FROM kept r
      JOIN pg_catalog.pg_index ix ON ix.indrelid OPERATOR(pg_catalog.=) r.oid
      JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) ix.indexrelid
    UNION ALL
    SELECT 'trigger', r.relname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) t.tgname,
           pg_catalog.pg_get_triggerdef(t.oid)
         OPERATOR(pg_catalog.||) CASE t.tgenabled WHEN 'O' THEN '' ELSE ' (enabled=' OPERATOR(pg_catalog.||) t.tgenabled::text OPERATOR(pg_catalog.||) ')' END
      FROM kept r JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) r.oid
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'view', r.relname::text, pg_catalog.md5(pg_catalog.pg_get_viewdef(r.oid))
      FROM kept r WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[])
    UNION ALL
    SELECT 'function', p.oid::pg_catalog.regprocedure::text,
           pg_catalog.concat_ws(' ', 'returns ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_function_result(p.oid),
                                'language ' OPERATOR(pg_catalog.||) l.lanname,
                                'volatility=' OPERATOR(pg_catalog.||) p.provolatile::text,
                                'parallel=' OPERATOR(pg_catalog.||) p.proparallel::text,
                                'strict=' OPERATOR(pg_catalog.||) p.proisstrict::text,
                                CASE WHEN p.prosecdef THEN 'security definer' ELSE 'security invoker' END,
                                'config=' OPERATOR(pg_catalog.||) COALESCE(p.proconfig::text, '{}'),
                                'body=' OPERATOR(pg_catalog.||) pg_catalog.md5(pg_catalog.concat(p.prosrc, p.probin,
                                        CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END)),
                                CASE WHEN EXISTS (SELECT FROM members m
                                                   WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                                     AND m.objid OPERATOR(pg_catalog.=) p.oid)
                                     THEN 'member' ELSE 'not a member' END,
                                CASE WHEN p.proowner OPERATOR(pg_catalog.=) (SELECT extowner FROM ext)
                                     THEN 'owned by the extension owner' ELSE 'other owner' END)
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
     WHERE p.pronamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
    UNION ALL
    SELECT 'config_dump', x.rel::pg_catalog.regclass::text, x.cond
      FROM ext, ROWS FROM (pg_catalog.unnest(ext.extconfig), pg_catalog.unnest(ext.extcondition)) AS x(rel, cond);
    END;

-- What the scripts of the installed version made.  Not dumped: a restore's CREATE EXTENSION
-- runs the scripts and records it again.
CREATE TABLE aeauth.integrity_manifest (
    kind        text NOT NULL,
    name        text NOT NULL,
    detail      text,
    version     text NOT NULL,
    PRIMARY KEY (kind, name)
);
REVOKE ALL ON aeauth.integrity_manifest FROM PUBLIC;

-- Records the manifest once per version: the first call after an install or update step (the
-- script's last statement, refresh_grants()) records it; later calls in the same version keep
-- it, so an administrator re-granting cannot bless a change made since.
CREATE FUNCTION aeauth.record_integrity_manifest() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    v text := (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'aeauth');
BEGIN
    IF EXISTS (SELECT FROM aeauth.integrity_manifest m WHERE m.version OPERATOR(pg_catalog.=) v) THEN
        RETURN;
    END IF;
    DELETE FROM aeauth.integrity_manifest;
    INSERT INTO aeauth.integrity_manifest (kind, name, detail, version)
    SELECT s.kind, s.name, s.detail, v FROM aeauth.integrity_snapshot() s;
END
$fn$;

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
    PERFORM aeauth.record_integrity_manifest();
END
$fn$;

CREATE FUNCTION aeauth.verify_integrity() RETURNS TABLE(check_name text, ok boolean, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    ext_version text := (SELECT e.extversion FROM pg_catalog.pg_extension e
                          WHERE e.extname OPERATOR(pg_catalog.=) 'aeauth');
    lib_version text := aeauth.library_version();
    manifest_version text := (SELECT pg_catalog.min(m.version) FROM aeauth.integrity_manifest m);
    r record;
    problems text[];
BEGIN
    check_name := 'library version matches the SQL version';
    ok := lib_version OPERATOR(pg_catalog.=) ext_version;
    detail := pg_catalog.format('aeauth.so %s, SQL %s', lib_version, ext_version);
    RETURN NEXT;

    check_name := 'manifest recorded for this version';
    ok := manifest_version IS NOT DISTINCT FROM ext_version;
    detail := pg_catalog.format('manifest of %s', COALESCE(manifest_version, 'no version'));
    RETURN NEXT;

    -- One snapshot against the manifest, one row per kind of object.
    FOR r IN
        WITH diff AS (
            SELECT COALESCE(s.kind, m.kind) AS kind,
                   CASE WHEN s.name IS NULL THEN 'missing ' OPERATOR(pg_catalog.||) m.name
                        WHEN m.name IS NULL THEN 'unexpected ' OPERATOR(pg_catalog.||) s.name
                        WHEN s.detail IS DISTINCT FROM m.detail
                        THEN pg_catalog.format('changed %s: %s, expected %s', s.name, s.detail, m.detail)
                   END AS problem,
                   m.name IS NOT NULL AS expected
              FROM aeauth.integrity_snapshot() s
              FULL JOIN aeauth.integrity_manifest m ON m.kind OPERATOR(pg_catalog.=) s.kind
                                                   AND m.name OPERATOR(pg_catalog.=) s.name
        )
        SELECT k.kind,
               pg_catalog.array_agg(d.problem ORDER BY d.problem) FILTER (WHERE d.problem IS NOT NULL) AS problems,
               pg_catalog.count(*) FILTER (WHERE d.expected) AS n
          FROM pg_catalog.unnest(ARRAY['table', 'column', 'constraint', 'index', 'trigger', 'view',
                                       'function', 'config_dump']) WITH ORDINALITY AS k(kind, ord)
          LEFT JOIN diff d ON d.kind OPERATOR(pg_catalog.=) k.kind
         GROUP BY k.kind, k.ord ORDER BY k.ord
    LOOP
        check_name := 'objects: ' OPERATOR(pg_catalog.||) r.kind;
        ok := r.problems IS NULL;
        detail := CASE WHEN r.problems IS NULL THEN r.n::text OPERATOR(pg_catalog.||) ' as expected'
                       ELSE pg_catalog.array_to_string(r.problems, '; ') END;
        RETURN NEXT;
    END LOOP;

    SELECT pg_catalog.array_agg(a.kind OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) a.name ORDER BY a.name)
      INTO problems
      FROM aeauth.api_objects a
     WHERE (a.kind OPERATOR(pg_catalog.=) 'function' AND pg_catalog.to_regprocedure(a.name) IS NULL)
        OR (a.kind OPERATOR(pg_catalog.=) 'view' AND pg_catalog.to_regclass(a.name) IS NULL);
    check_name := 'every API object exists';
    ok := problems IS NULL;
    detail := COALESCE('missing: ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(problems, ', '),
                                  (SELECT pg_catalog.count(*) FROM aeauth.api_objects)::text OPERATOR(pg_catalog.||) ' API objects');
    RETURN NEXT;

    SELECT pg_catalog.array_agg(o ORDER BY o) INTO problems FROM (
        SELECT 'schema aeauth' AS o
         WHERE pg_catalog.has_schema_privilege('public', 'aeauth', 'USAGE')
            OR pg_catalog.has_schema_privilege('public', 'aeauth', 'CREATE')
        UNION ALL
        SELECT p.oid::pg_catalog.regprocedure::text FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
           AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
        UNION ALL
        SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'S', 'f']::"char"[])
           AND pg_catalog.has_table_privilege('public', c.oid,
                   'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')) x;
    check_name := 'nothing granted to PUBLIC';
    ok := problems IS NULL;
    detail := COALESCE('PUBLIC may use: ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(problems, ', '),
                                  'none');
    RETURN NEXT;

    SELECT pg_catalog.array_agg(p.oid::pg_catalog.regprocedure::text ORDER BY 1) INTO problems
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
       AND p.prosecdef
       AND NOT COALESCE('search_path=pg_catalog, pg_temp' OPERATOR(pg_catalog.=) ANY (p.proconfig), false);
    check_name := 'security definer functions pin search_path';
    ok := problems IS NULL;
    detail := COALESCE('without search_path=pg_catalog, pg_temp: '
                                  OPERATOR(pg_catalog.||) pg_catalog.array_to_string(problems, ', '),
                                  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p
                                    WHERE p.pronamespace OPERATOR(pg_catalog.=) 'aeauth'::pg_catalog.regnamespace
                                      AND p.prosecdef)::text OPERATOR(pg_catalog.||) ' functions');
    RETURN NEXT;

    check_name := 'schema_history has the installed version';
    ok := EXISTS (SELECT FROM aeauth.schema_history h WHERE h.version OPERATOR(pg_catalog.=) ext_version);
    detail := (SELECT pg_catalog.string_agg(h.version, ', ' ORDER BY h.applied_at, h.version) FROM aeauth.schema_history h);
    RETURN NEXT;
END
$fn$;

-- Grants that an update script re-applies (refresh_grants() runs inside ALTER EXTENSION) are
-- recorded in pg_init_privs as the objects' initial privileges, and pg_dump leaves initial
-- privileges out: a database updated after grant_app_access() would be restored without its
-- grants.  The grantees rows are dumped, though, and restoring them inserts them here: this
-- trigger applies each restored grantee's privileges then (and is harmless in
-- grant_app_access()/grant_admin_access(), which apply them anyway).
CREATE FUNCTION aeauth.grantees_apply() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
BEGIN
    PERFORM aeauth.apply_grants(NEW.grantee);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER grantees_apply
    AFTER INSERT ON aeauth.grantees
    FOR EACH ROW EXECUTE FUNCTION aeauth.grantees_apply();

REVOKE ALL ON FUNCTION aeauth.integrity_snapshot() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.grantees_apply() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.record_integrity_manifest() FROM PUBLIC;
REVOKE ALL ON FUNCTION aeauth.verify_integrity() FROM PUBLIC;

INSERT INTO aeauth.api_objects (kind, name, access) VALUES
    ('function', 'aeauth.verify_integrity()', 'admin');

-- end of integrity (migrations issue) ---------------------------------------------------------

INSERT INTO aeauth.schema_history (version, description)
VALUES ('1.5', 'versions as migrations: verify_integrity, integrity manifest, version check of aeauth.so');

SELECT aeauth.refresh_grants();
