-- The catalog of the installed aeauth, one sorted line per fact, for comparing two installs
-- (test/shell/fresh_equals_upgraded.sh, upgrade_paths.sh).  Independent of aeauth's own
-- integrity_snapshot() on purpose: the test must not trust the code it tests.
-- Audit partitions made by run_maintenance() (not extension members) are data, not schema.
\pset format unaligned
\pset tuples_only on
WITH ext AS (
    SELECT e.oid, e.extowner FROM pg_extension e WHERE e.extname = 'aeauth'
), member AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.*, EXISTS (SELECT FROM member m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid) AS is_member
      FROM pg_class c
     WHERE c.relnamespace = 'aeauth'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
), kept AS (
    SELECT * FROM rels WHERE is_member OR NOT relispartition
), facts(f) AS (
    SELECT format('extension %s relocatable=%s schema=%s owner=%s', e.extname, e.extrelocatable,
                  e.extnamespace::regnamespace, pg_get_userbyid(e.extowner))
      FROM pg_extension e WHERE e.extname = 'aeauth'
    UNION ALL
    SELECT format('schema aeauth owner=%s acl=%s', pg_get_userbyid(n.nspowner), n.nspacl)
      FROM pg_namespace n WHERE n.nspname = 'aeauth'
    UNION ALL
    SELECT format('relation %s kind=%s persistence=%s owner=%s member=%s acl=%s options=%s bound=%s partkey=%s rls=%s',
                  r.relname, r.relkind, r.relpersistence, pg_get_userbyid(r.relowner), r.is_member, r.relacl,
                  r.reloptions, pg_get_expr(r.relpartbound, r.oid),
                  CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END, r.relrowsecurity)
      FROM kept r
    UNION ALL
    SELECT format('column %s.%s %s notnull=%s default=%s collation=%s identity=%s generated=%s position=%s acl=%s',
                  r.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attcollation, a.attidentity, a.attgenerated,
                  a.attnum, a.attacl)
      FROM kept r JOIN pg_attribute a ON a.attrelid = r.oid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s.%s %s deferrable=%s validated=%s', r.relname, co.conname,
                  pg_get_constraintdef(co.oid), co.condeferrable, co.convalidated)
      FROM kept r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT format('index %s %s', i.relname, pg_get_indexdef(i.oid))
      FROM kept r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid
    UNION ALL
    SELECT format('trigger %s.%s %s enabled=%s', r.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled)
      FROM kept r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('view %s %s', r.relname, pg_get_viewdef(r.oid))
      FROM kept r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('function %s returns %s language=%s volatility=%s parallel=%s strict=%s security_definer=%s leakproof=%s config=%s owner=%s member=%s acl=%s definition_md5=%s',
                  p.oid::regprocedure, pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proparallel,
                  p.proisstrict, p.prosecdef, p.proleakproof, p.proconfig, pg_get_userbyid(p.proowner),
                  EXISTS (SELECT FROM member m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid),
                  p.proacl, md5(pg_get_functiondef(p.oid)))
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'aeauth'::regnamespace
    UNION ALL
    SELECT format('init_privs %s %s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype, ip.initprivs)
      FROM pg_init_privs ip
     WHERE (ip.classoid = 'pg_class'::regclass AND ip.objoid IN (SELECT oid FROM kept))
        OR (ip.classoid = 'pg_proc'::regclass AND ip.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'aeauth'::regnamespace))
        OR (ip.classoid = 'pg_namespace'::regclass AND ip.objoid = 'aeauth'::regnamespace)
    UNION ALL
    SELECT format('member %s', pg_describe_object(m.classid, m.objid, 0)) FROM member m
    UNION ALL
    SELECT format('config_dump %s where=%s', x.rel::regclass, x.cond)
      FROM pg_extension e, ROWS FROM (unnest(e.extconfig), unnest(e.extcondition)) AS x(rel, cond)
     WHERE e.extname = 'aeauth'
    UNION ALL
    SELECT format('api_object %s %s %s', a.kind, a.name, a.access) FROM aeauth.api_objects a
    UNION ALL
    SELECT format('maintenance_task %s %s', t.position, t.function) FROM aeauth.maintenance_tasks t
)
SELECT f FROM facts ORDER BY f COLLATE "C";
