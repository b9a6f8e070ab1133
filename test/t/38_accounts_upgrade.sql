-- Upgrade 1.1 -> 1.2 keeps existing grantees: the app role gets the new app functions, not the
-- admin ones; the new tables exist and are dumped (deny list) or not (decoys).
BEGIN;
SELECT plan(7);

DROP EXTENSION aeauth;
CREATE EXTENSION aeauth VERSION '1.1';
CREATE ROLE aeauth_t_app38;
CREATE ROLE aeauth_t_admin38;
SELECT aeauth.grant_app_access('aeauth_t_app38');
SELECT aeauth.grant_admin_access('aeauth_t_admin38');
SELECT hasnt_function('aeauth', 'register_user', ARRAY['text', 'text', 'text'], 'no register_user at 1.1');

ALTER EXTENSION aeauth UPDATE TO '1.2';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'aeauth'), '1.2', 'updated to 1.2');
SELECT ok(has_function_privilege('aeauth_t_app38', 'aeauth.register_user(text,text,text)', 'EXECUTE')
      AND has_function_privilege('aeauth_t_app38', 'aeauth.request_password_reset(text)', 'EXECUTE'),
          'an existing app grantee gets the new app functions');
SELECT ok(NOT has_function_privilege('aeauth_t_app38', 'aeauth.set_user_status(uuid,text,text)', 'EXECUTE'),
          'but not the admin ones');
SELECT ok(has_function_privilege('aeauth_t_admin38', 'aeauth.set_user_status(uuid,text,text)', 'EXECUTE'),
          'an existing admin grantee gets them');
SELECT ok(NOT has_function_privilege('public', 'aeauth.register_user(text,text,text)', 'EXECUTE'),
          'PUBLIC gets nothing');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
            WHERE e.extname = 'aeauth' AND c.relname LIKE 'password%'),
          ARRAY['password_denylist'], 'the deny list is dumped, the decoys are not');

SELECT * FROM finish();
ROLLBACK;
