-- log_user_event: checks, retention at insert, secret scrubbing, ids.
BEGIN;
SELECT plan(40);

CREATE FUNCTION pg_temp.n() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM aeauth.user_audit_log';
-- The stored row of the event that a statement logs (run first, read after: a statement does
-- not see rows it inserts itself).
CREATE FUNCTION pg_temp.logged(call text) RETURNS aeauth.user_audit_log LANGUAGE plpgsql AS $$
DECLARE i uuid; r aeauth.user_audit_log;
BEGIN
  EXECUTE 'SELECT ' || call INTO i;
  SELECT * INTO r FROM aeauth.user_audit_log WHERE id = i;
  RETURN r;
END $$;
CREATE FUNCTION pg_temp.ev(policy text, category text DEFAULT 'game', severity text DEFAULT 'info')
RETURNS aeauth.user_audit_log LANGUAGE sql AS $$
  SELECT pg_temp.logged(format('aeauth.log_user_event(NULL, NULL, %L, %L, %L, %L, p_severity => %L, p_retention_policy => %L)',
                               'quest', category, 'complete', 'success', severity, policy))$$;

-- Retention per policy, decided at insert (the seed's rule).
SELECT is((pg_temp.ev('standard')).expires_at, now() + interval '90 days', 'standard: 90 days');
SELECT is((pg_temp.ev('extended')).expires_at, now() + interval '1 year', 'extended: 1 year');
SELECT is((pg_temp.ev('permanent')).expires_at, 'infinity'::timestamptz, 'permanent: never (infinity)');
SELECT is((pg_temp.ev('permanent')).retention_policy, 'permanent', 'permanent is recorded as asked');
SELECT is((pg_temp.logged($$aeauth.log_user_event(NULL, NULL, 'quest', 'game', 'complete', 'success')$$)).expires_at,
          now() + interval '90 days', 'no policy given: standard');
SELECT is((pg_temp.ev('standard')).created_at, now(), 'created_at is the transaction time');
-- The security/critical override: 2 years and policy extended, whatever was asked.
SELECT is((pg_temp.ev('standard', 'security')).expires_at, now() + interval '2 years', 'security category: 2 years');
SELECT is((pg_temp.ev('permanent', 'security')).expires_at, now() + interval '2 years', 'security category: 2 years even when permanent was asked');
SELECT is((pg_temp.ev('standard', 'security')).retention_policy, 'extended', 'security category is recorded as extended');
SELECT is((pg_temp.ev('standard', 'game', 'error')).expires_at, now() + interval '2 years', 'severity error: 2 years');
SELECT is((pg_temp.ev('extended', 'game', 'critical')).expires_at, now() + interval '2 years', 'severity critical: 2 years');
SELECT is((pg_temp.ev('standard', 'game', 'warning')).expires_at, now() + interval '90 days', 'severity warning: no override');
SELECT is((pg_temp.ev('standard', 'authentication', 'info')).expires_at, now() + interval '90 days', 'category authentication: no override');

-- Bad input: 22023 (rule broken) or 22004 (required NULL), and nothing written.
SELECT pg_temp.n() AS before \gset
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'bogus', 'login', 'success')$$,
                 '22023', 'invalid audit event_category "bogus"', 'unknown category refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'Security', 'login', 'success')$$,
                 '22023', NULL, 'category is case-sensitive, as the seed''s checks are');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'ok')$$,
                 '22023', 'invalid audit status "ok"', 'unknown status refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'success', p_severity => 'fatal')$$,
                 '22023', 'invalid audit severity "fatal"', 'unknown severity refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'login', 'security', 'login', 'success', p_retention_policy => 'forever')$$,
                 '22023', 'invalid audit retention_policy "forever"', 'unknown retention policy refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, repeat('x', 51), 'game', 'a', 'success')$$,
                 '22023', 'audit event_type is too long', 'event_type over 50 characters refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', repeat('é', 101), 'success')$$,
                 '22023', 'audit action is too long', 'action over 100 characters refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, NULL, 'game', 'a', 'success')$$,
                 '22004', 'audit event_type must not be null', 'NULL event_type refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'e', NULL, 'a', 'success')$$,
                 '22004', NULL, 'NULL event_category refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', NULL, 'success')$$,
                 '22004', NULL, 'NULL action refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', NULL)$$,
                 '22004', NULL, 'NULL status refused');
SELECT throws_ok($$SELECT aeauth.log_user_event(NULL, NULL, '', 'game', 'a', 'success')$$,
                 '22023', 'audit event_type must not be empty', 'empty event_type refused');
SELECT is(pg_temp.n(), :before::bigint, 'refused events wrote nothing');
SELECT lives_ok($$SELECT aeauth.log_user_event(NULL, NULL, repeat('x', 50), 'game', repeat('é', 100), 'success')$$,
                'exactly 50 and 100 characters are accepted');
SELECT is((pg_temp.logged($$aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', p_severity => NULL)$$)).severity,
          'info', 'a NULL severity is info');

-- Secret scrubbing at any depth, case-insensitively, in metadata and request_params.
SELECT aeauth.log_user_event(
  NULL, NULL, 'profile', 'account', 'update', 'success', NULL, NULL,
  '{"user": {"Password": "hunter2", "profile": {"API-Key": "k1", "name": "Ann"}},
    "list": [{"refresh_token": "aer_x"}, {"ok": true}],
    "Authorization": {"scheme": "Bearer", "value": "aea_y"},
    "note": "the word password in a value stays", "clientSecret": 7}',
  p_request_params => '{"form": {"new_password": "p", "email": "a@b.c"}}') AS sid \gset
SELECT is((SELECT metadata #>> '{user,Password}' FROM aeauth.user_audit_log WHERE id = :'sid'), '[redacted]', 'top-level nested key redacted, case-insensitively');
SELECT is((SELECT metadata #>> '{user,profile,API-Key}' FROM aeauth.user_audit_log WHERE id = :'sid'), '[redacted]', 'key at depth 3 with punctuation redacted');
SELECT is((SELECT metadata #>> '{list,0,refresh_token}' FROM aeauth.user_audit_log WHERE id = :'sid'), '[redacted]', 'key inside an array element redacted');
SELECT is((SELECT metadata -> 'Authorization' FROM aeauth.user_audit_log WHERE id = :'sid'), '"[redacted]"'::jsonb, 'an object under a secret key goes as a whole');
SELECT is((SELECT metadata ->> 'clientSecret' FROM aeauth.user_audit_log WHERE id = :'sid'), '[redacted]', 'a number under a secret key is redacted too');
SELECT is((SELECT metadata #>> '{user,profile,name}' FROM aeauth.user_audit_log WHERE id = :'sid'), 'Ann', 'other keys are kept');
SELECT is((SELECT metadata ->> 'note' FROM aeauth.user_audit_log WHERE id = :'sid'), 'the word password in a value stays', 'values are not searched, only keys');
SELECT is((SELECT metadata -> 'list' -> 1 FROM aeauth.user_audit_log WHERE id = :'sid'), '{"ok": true}'::jsonb, 'array elements without secrets are kept');
SELECT is((SELECT request_params FROM aeauth.user_audit_log WHERE id = :'sid'),
          '{"form": {"new_password": "[redacted]", "email": "a@b.c"}}'::jsonb, 'request_params are scrubbed the same way');
SELECT is((pg_temp.logged($$aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', NULL, NULL, '{"level": 3, "items": ["sword"]}')$$)).metadata,
          '{"level": 3, "items": ["sword"]}'::jsonb, 'metadata without secrets is stored unchanged');

-- ids: UUIDv7, time-ordered.
SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success') AS id1 \gset
SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success') AS id2 \gset
SELECT is(substr(:'id1', 15, 1), '7', 'ids are version 7 UUIDs');
SELECT ok(:'id2'::uuid > :'id1'::uuid, 'a later id sorts after an earlier one');

SELECT * FROM finish();
ROLLBACK;
