-- Sessions (1.3): tokens, validation, expiry limits, rotation, reuse, logout, revocation,
-- eviction, risk, identity.  Time is moved by rewriting stored timestamps, never by sleeping.
BEGIN;
SELECT plan(111);

INSERT INTO aeauth.users (id, email, username, password_hash) VALUES
  ('00000000-0000-0000-0000-0000000000a1', 'alice@x.com', 'alice', 'x'),
  ('00000000-0000-0000-0000-0000000000b0', 'bob@x.com', 'bob', 'x'),
  ('00000000-0000-0000-0000-0000000000c0', 'carol@x.com', 'carol', 'x');
UPDATE aeauth.users SET status = 'banned' WHERE username = 'carol';

-- Every token this file sees, to check later that none was stored or written anywhere.
CREATE TEMP TABLE seen (tok text);
CREATE TEMP TABLE s1 AS
  SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '10.1.2.3', 'GameClient/1.0', 'mobile', 'Pixel');
INSERT INTO seen SELECT access_token FROM s1 UNION ALL SELECT refresh_token FROM s1;

-- ---- creation ---------------------------------------------------------------------------
SELECT is((SELECT status FROM s1), 'ok', 'create_session returns ok');
SELECT matches((SELECT access_token FROM s1), '^aea_[A-Za-z0-9_-]{43}$', 'access token: aea_ + 43 base64url characters');
SELECT matches((SELECT refresh_token FROM s1), '^aer_[A-Za-z0-9_-]{43}$', 'refresh token: aer_ + 43 base64url characters');
SELECT is((SELECT access_token_hash FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)),
          (SELECT sha256(convert_to(access_token, 'UTF8')) FROM s1), 'only the SHA-256 of the access token is stored');
SELECT is((SELECT refresh_token_hash FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)),
          (SELECT sha256(convert_to(refresh_token, 'UTF8')) FROM s1), 'only the SHA-256 of the refresh token is stored');
SELECT is((SELECT access_expires_at FROM s1), now() + interval '15 minutes', 'access token lives aeauth.access_token_ttl (15 min)');
SELECT is((SELECT refresh_expires_at FROM s1), now() + interval '30 days', 'refresh token lives aeauth.refresh_token_ttl (30 days)');
SELECT is((SELECT risk_score FROM s1), 0, 'a first session has nothing to compare with: risk 0');
SELECT throws_ok($$SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000c0')$$,
                 '22023', 'user is not active', 'no session for a banned user');
SELECT throws_ok($$SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-00000000dead')$$,
                 '22023', 'user does not exist', 'no session for an unknown user');
SELECT throws_ok($$SELECT * FROM aeauth.create_session(NULL)$$, '22004', NULL, 'a NULL user raises 22004');

-- ---- validation --------------------------------------------------------------------------
SELECT is(aeauth.current_user_id(), NULL, 'no identity before validation');
SELECT results_eq($$SELECT user_id, session_id, expires_at FROM aeauth.validate_session((SELECT access_token FROM s1))$$,
                  $$SELECT user_id, session_id, access_expires_at FROM s1$$, 'a live access token validates: user, session, access expiry');
SELECT is(aeauth.current_user_id(), '00000000-0000-0000-0000-0000000000a1'::uuid, 'current_user_id() is the validated user');
SELECT is_empty($$SELECT * FROM aeauth.validate_session('aea_' || repeat('A', 43))$$, 'an unknown well-formed token: zero rows');
SELECT is(aeauth.current_user_id(), NULL, 'a failed validation clears the identity');

-- Malformed tokens never reach a lookup and give zero rows.
SELECT is_empty(format($$SELECT * FROM aeauth.validate_session(%L)$$, t), d)
  FROM (VALUES
    ((SELECT refresh_token FROM s1), 'a refresh token is not an access token (prefix)'),
    ((SELECT 'aeb_' || substr(access_token, 5) FROM s1), 'wrong prefix'),
    ((SELECT access_token || 'A' FROM s1), 'too long'),
    ((SELECT left(access_token, -1) FROM s1), 'too short'),
    ((SELECT access_token || '=' FROM s1), 'base64 padding'),
    ((SELECT ' ' || access_token FROM s1), 'leading whitespace'),
    ((SELECT access_token || E'\n' FROM s1), 'trailing newline'),
    ((SELECT replace(access_token, '_', '/') FROM s1), 'standard base64 alphabet'),
    ((SELECT left(access_token, -1) || 'B' FROM s1), 'non-canonical last character'),
    ((SELECT upper(access_token) FROM s1), 'case changed'),
    ('', 'empty string')
  ) v(t, d);
SELECT is_empty($$SELECT * FROM aeauth.validate_session(NULL)$$, 'NULL: zero rows');

-- ---- limits ------------------------------------------------------------------------------
CREATE TEMP TABLE saved AS SELECT * FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1);
CREATE FUNCTION pg_temp.restore() RETURNS void LANGUAGE sql AS $$
  UPDATE aeauth.user_sessions s SET access_expires_at = v.access_expires_at, expires_at = v.expires_at,
         last_activity = v.last_activity, created_at = v.created_at FROM saved v WHERE s.id = v.id $$;
CREATE FUNCTION pg_temp.valid() RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM aeauth.validate_session((SELECT access_token FROM s1))) $$;

UPDATE aeauth.user_sessions SET access_expires_at = now() - interval '1 second' WHERE id = (SELECT session_id FROM s1);
SELECT ok(NOT pg_temp.valid(), 'an expired access token is refused');
SELECT pg_temp.restore();
UPDATE aeauth.user_sessions SET access_expires_at = now() WHERE id = (SELECT session_id FROM s1);
SELECT ok(NOT pg_temp.valid(), 'an access token expiring right now is refused');
SELECT pg_temp.restore();
SELECT ok(pg_temp.valid(), 'restored: valid again');

UPDATE aeauth.user_sessions SET last_activity = now() - interval '7 days' - interval '1 second' WHERE id = (SELECT session_id FROM s1);
SELECT ok(NOT pg_temp.valid(), 'idle longer than aeauth.session_idle_timeout (7 days): refused');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s1))), 'expired', 'and cannot be refreshed: expired');
UPDATE aeauth.user_sessions SET last_activity = now() - interval '6 days 23 hours' WHERE id = (SELECT session_id FROM s1);
SELECT ok(pg_temp.valid(), 'idle a little less than the timeout: accepted');
SET LOCAL aeauth.session_idle_timeout = 0;
UPDATE aeauth.user_sessions SET last_activity = now() - interval '300 days' WHERE id = (SELECT session_id FROM s1);
SELECT ok(pg_temp.valid(), 'session_idle_timeout = 0 disables the idle limit');
RESET aeauth.session_idle_timeout;
SELECT pg_temp.restore();

UPDATE aeauth.user_sessions SET created_at = now() - interval '90 days' WHERE id = (SELECT session_id FROM s1);
SELECT ok(NOT pg_temp.valid(), 'older than aeauth.session_absolute_timeout (90 days): refused, fresh tokens or not');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s1))), 'expired', 'and refresh says expired');
SET LOCAL aeauth.session_absolute_timeout = '1h';
UPDATE aeauth.user_sessions SET created_at = now() - interval '61 minutes' WHERE id = (SELECT session_id FROM s1);
SELECT ok(NOT pg_temp.valid(), 'lowering session_absolute_timeout applies to existing sessions');
RESET aeauth.session_absolute_timeout;
SELECT pg_temp.restore();

UPDATE aeauth.user_sessions SET expires_at = now() - interval '1 second' WHERE id = (SELECT session_id FROM s1);
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s1))), 'expired', 'an expired refresh token: expired');
SELECT pg_temp.restore();

-- ---- the once-a-minute write rule --------------------------------------------------------
CREATE FUNCTION pg_temp.updates() RETURNS bigint LANGUAGE sql AS $$
  SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'aeauth.user_sessions'::regclass $$;
CREATE FUNCTION pg_temp.hot_updates() RETURNS bigint LANGUAGE sql AS $$
  SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'aeauth.user_sessions'::regclass $$;
UPDATE aeauth.user_sessions SET last_activity = now() - interval '59 seconds' WHERE id = (SELECT session_id FROM s1);
CREATE TEMP TABLE c AS SELECT pg_temp.updates() AS upd, pg_temp.hot_updates() AS hot;
SELECT ok(pg_temp.valid() AND pg_temp.valid() AND pg_temp.valid(), 'three validations');
SELECT is(pg_temp.updates(), (SELECT upd FROM c), 'activity less than a minute old: validation writes nothing');
SELECT is((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)),
          now() - interval '59 seconds', 'last_activity untouched');
UPDATE aeauth.user_sessions SET last_activity = now() - interval '61 seconds' WHERE id = (SELECT session_id FROM s1);
UPDATE c SET upd = pg_temp.updates(), hot = pg_temp.hot_updates();
SELECT ok(pg_temp.valid() AND pg_temp.valid() AND pg_temp.valid(), 'three more validations');
SELECT is(pg_temp.updates(), (SELECT upd + 1 FROM c), 'activity a minute old: exactly one write for three validations');
SELECT is(pg_temp.hot_updates(), (SELECT hot + 1 FROM c), 'and that write is a HOT update');
SELECT is((SELECT last_activity FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), now(), 'last_activity is now');

-- ---- rotation ----------------------------------------------------------------------------
CREATE TEMP TABLE r1 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM s1), '10.1.2.4', 'GameClient/1.1');
INSERT INTO seen SELECT access_token FROM r1 UNION ALL SELECT refresh_token FROM r1;
SELECT is((SELECT status FROM r1), 'ok', 'refresh: ok');
SELECT results_eq($$SELECT user_id, session_id FROM r1$$, $$SELECT user_id, session_id FROM s1$$, 'same user, same session');
SELECT ok((SELECT r1.access_token <> s1.access_token AND r1.refresh_token <> s1.refresh_token FROM r1, s1), 'both tokens rotated');
SELECT matches((SELECT access_token || ' ' || refresh_token FROM r1), '^aea_[A-Za-z0-9_-]{43} aer_[A-Za-z0-9_-]{43}$', 'rotated tokens have the same shape');
SELECT ok(NOT pg_temp.valid(), 'the old access token is dead');
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM r1))$$, 'the new access token validates');
SELECT is((SELECT generation FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), 1, 'generation 1');
SELECT is((SELECT rotated_at FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), now(), 'rotated_at recorded');
SELECT is((SELECT ip_address FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), '10.1.2.4'::inet, 'the refresh records the new IP');
SELECT is((SELECT session_id FROM aeauth.session_rotated_tokens WHERE token_hash = (SELECT sha256(convert_to(refresh_token, 'UTF8')) FROM s1)),
          (SELECT session_id FROM s1), 'the rotated refresh token is kept as a hash, for reuse detection');
SELECT results_eq($$SELECT status, access_token, refresh_token, access_expires_at, refresh_expires_at
                      FROM aeauth.refresh_session((SELECT refresh_token FROM s1))$$,
                  $$SELECT status, access_token, refresh_token, access_expires_at, refresh_expires_at FROM r1$$,
                  'the same parent again within aeauth.refresh_reuse_interval: ok and the same pair');
SELECT is((SELECT generation FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), 1, 'a repeat does not rotate again');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT access_token FROM r1))), 'invalid', 'an access token is not a refresh token');
SELECT is((SELECT status FROM aeauth.refresh_session('aer_' || repeat('A', 43))), 'invalid', 'an unknown refresh token: invalid');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token || ' ' FROM r1))), 'invalid', 'a malformed refresh token: invalid');
SELECT is((SELECT user_id FROM aeauth.refresh_session('aer_' || repeat('A', 43))), NULL, 'a failed refresh returns no user');
SELECT throws_ok($$SELECT * FROM aeauth.refresh_session(NULL)$$, '22004', 'token must not be null', 'a NULL token raises 22004');

-- A second rotation: the grandparent is no longer one step behind, so it is reuse even inside the interval.
CREATE TEMP TABLE r2 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM r1));
INSERT INTO seen SELECT access_token FROM r2 UNION ALL SELECT refresh_token FROM r2;
SELECT is((SELECT status FROM r2), 'ok', 'second rotation: ok');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s1))), 'reused',
          'the grandparent token, even within the interval: reused');
SELECT is((SELECT status || '/' || revoked_by FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM s1)), 'revoked/security',
          'reuse revokes the session');
SELECT is_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM r2))$$, 'every token descended from the login is dead');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM r2))), 'invalid', 'the newest refresh token too');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE event_type = 'refresh_token_reuse' AND severity = 'critical'
             AND event_category = 'security' AND session_id = (SELECT session_id FROM s1)), 1, 'a critical security audit event');

-- Reuse after the interval (rotated_at moved back rather than sleeping).
CREATE TEMP TABLE s2 AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '10.1.2.3', 'GameClient/1.0', 'mobile', 'Pixel');
CREATE TEMP TABLE r3 AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM s2));
INSERT INTO seen SELECT access_token FROM s2 UNION ALL SELECT refresh_token FROM s2 UNION ALL SELECT access_token FROM r3 UNION ALL SELECT refresh_token FROM r3;
UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '10 seconds'
 WHERE session_id = (SELECT session_id FROM s2);
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s2))), 'ok', 'exactly aeauth.refresh_reuse_interval (10 s) later: still the grace period');
UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '1 millisecond'
 WHERE session_id = (SELECT session_id FROM s2);
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s2))), 'reused', 'just after the interval: reused');
SELECT is_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM r3))$$, 'the pair given out by the rotation is dead');

-- ---- logout and revocation ---------------------------------------------------------------
CREATE TEMP TABLE s3 AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '10.1.2.3', 'GameClient/1.0', 'mobile', 'Pixel');
INSERT INTO seen SELECT access_token FROM s3 UNION ALL SELECT refresh_token FROM s3;
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM s3))$$, 'a new session validates');
SELECT ok(aeauth.logout((SELECT access_token FROM s3)), 'logout: true');
SELECT is(aeauth.current_user_id(), NULL, 'logout of the validated session clears the identity');
SELECT is_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM s3))$$, 'after logout: refused');
SELECT is((SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM s3))), 'invalid', 'after logout: cannot refresh');
SELECT ok(NOT aeauth.logout((SELECT access_token FROM s3)), 'a second logout: false');
SELECT ok(NOT aeauth.logout('nonsense'), 'logout with a malformed token: false');

CREATE TEMP TABLE b AS SELECT c.* FROM generate_series(1, 3) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-0000000000b0', device_name => 'd' || g) c;
INSERT INTO seen SELECT access_token FROM b UNION ALL SELECT refresh_token FROM b;
SELECT ok(aeauth.revoke_session((SELECT min(session_id::text)::uuid FROM b), 'admin'), 'revoke_session: true');
SELECT ok(NOT aeauth.revoke_session((SELECT min(session_id::text)::uuid FROM b)), 'again: false');
SELECT is((SELECT revoked_by FROM aeauth.user_sessions WHERE id = (SELECT min(session_id::text)::uuid FROM b)), 'admin', 'revoked_by recorded');
SELECT is(aeauth.revoke_user_sessions('00000000-0000-0000-0000-0000000000b0', (SELECT max(session_id::text)::uuid FROM b)), 1,
          'revoke_user_sessions keeps the excepted session and counts the others');
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM b WHERE session_id = (SELECT max(session_id::text)::uuid FROM b)))$$,
                  'the excepted session still validates');
SELECT throws_ok($$SELECT aeauth.revoke_session(gen_random_uuid(), 'hacker')$$, '22023', 'invalid revoked_by value', 'revoked_by outside the list: 22023');
SELECT throws_ok($$SELECT aeauth.revoke_user_sessions(NULL)$$, '22004', NULL, 'revoke_user_sessions(NULL): 22004');

-- A user who stops being active loses every session, whoever changed the status.
UPDATE aeauth.users SET status = 'suspended' WHERE username = 'bob';
SELECT is_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM b WHERE session_id = (SELECT max(session_id::text)::uuid FROM b)))$$,
                'a suspended user is refused');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions WHERE user_id = '00000000-0000-0000-0000-0000000000b0' AND status = 'active'), 0,
          'all the suspended user''s sessions are revoked');

-- ---- max sessions per user ---------------------------------------------------------------
UPDATE aeauth.users SET status = 'active' WHERE username = 'bob';
SET LOCAL aeauth.max_sessions_per_user = 3;
CREATE TEMP TABLE m AS SELECT g, c.* FROM generate_series(1, 3) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-0000000000b0', device_name => 'd' || g) c;
INSERT INTO seen SELECT access_token FROM m UNION ALL SELECT refresh_token FROM m;
-- session 2 is the least recently used, session 1 was used a moment ago.
UPDATE aeauth.user_sessions s SET last_activity = now() - (CASE m.g WHEN 1 THEN 1 WHEN 2 THEN 30 ELSE 5 END) * interval '1 minute'
  FROM m WHERE s.id = m.session_id;
CREATE TEMP TABLE m4 AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000b0');
INSERT INTO seen SELECT access_token FROM m4 UNION ALL SELECT refresh_token FROM m4;
SELECT is((SELECT count(*)::int FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000b0')), 3, 'a fourth session keeps the count at max_sessions_per_user');
SELECT is((SELECT status || '/' || revoked_by FROM aeauth.user_sessions WHERE id = (SELECT session_id FROM m WHERE g = 2)), 'revoked/system',
          'the least recently used one was revoked');
SELECT set_eq($$SELECT session_id FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000b0')$$,
              $$SELECT session_id FROM m WHERE g <> 2 UNION ALL SELECT session_id FROM m4$$, 'the others are live');
SELECT is((SELECT metadata::text FROM aeauth.user_audit_log
            WHERE event_type = 'session_evicted' AND user_id = '00000000-0000-0000-0000-0000000000b0'),
          '{"count": 1, "max_sessions_per_user": 3}', 'the eviction is audited once, with its count and the limit');
SET LOCAL aeauth.max_sessions_per_user = 0;
CREATE TEMP TABLE m0 AS SELECT g, c.* FROM generate_series(1, 2) g,
  LATERAL aeauth.create_session('00000000-0000-0000-0000-0000000000b0', device_name => 'z' || g) c;
INSERT INTO seen SELECT access_token FROM m0 UNION ALL SELECT refresh_token FROM m0;
SELECT is((SELECT count(*)::int FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000b0')), 5,
          'aeauth.max_sessions_per_user = 0: no limit, nothing evicted');
RESET aeauth.max_sessions_per_user;

-- ---- risk --------------------------------------------------------------------------------
CREATE TEMP TABLE k AS
  SELECT 1 AS n, * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '10.1.2.99', 'GameClient/1.0', 'mobile', 'Pixel')
  UNION ALL SELECT 2, * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '10.1.2.3', 'Firefox', 'mobile', 'Pixel')
  UNION ALL SELECT 3, * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '192.0.2.1', 'GameClient/1.0', 'mobile', 'Pixel')
  UNION ALL SELECT 4, * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '2001:db8::1', 'Bot/2', 'desktop', 'Box');
INSERT INTO seen SELECT access_token FROM k UNION ALL SELECT refresh_token FROM k;
SELECT results_eq($$SELECT risk_score, is_suspicious FROM k ORDER BY n$$,
                  $$VALUES (0, false), (20, false), (40, false), (100, true)$$,
                  'risk: same /24 and device 0; new user agent 20; new network 40; new network, device and agent 100 (suspicious)');
SELECT is((SELECT risk_score FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000a1') WHERE session_id = (SELECT session_id FROM k WHERE n = 4)),
          100, 'risk visible in list_sessions');
SELECT is((SELECT (metadata->>'risk_score')::int FROM aeauth.user_audit_log WHERE event_type = 'session_created' AND session_id = (SELECT session_id FROM k WHERE n = 4)),
          100, 'and in the audit metadata');
SELECT results_eq($$SELECT (a.metadata->'risk_reasons')::text FROM k JOIN aeauth.user_audit_log a
                      ON a.session_id = k.session_id AND a.event_type = 'session_created' ORDER BY k.n$$,
                  $$VALUES ('[]'), ('["new_user_agent"]'), ('["new_network"]'), ('["new_network", "new_device", "new_user_agent"]')$$,
                  'the audit metadata names the risk reasons');
CREATE TEMP TABLE k5 AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', NULL, 'Other/3', 'console', 'Deck');
INSERT INTO seen SELECT access_token FROM k5 UNION ALL SELECT refresh_token FROM k5;
SELECT is((SELECT (metadata->'risk_reasons')::text || ' ' || (metadata->>'risk_score') FROM aeauth.user_audit_log
            WHERE event_type = 'session_created' AND session_id = (SELECT session_id FROM k5)),
          '["new_device", "new_user_agent"] 50', 'without an IP the network is no reason (30 + 20)');
SET LOCAL aeauth.session_risk_threshold = 30;
SELECT ok((SELECT is_suspicious FROM aeauth.create_session('00000000-0000-0000-0000-0000000000a1', '198.51.100.7', 'GameClient/1.0', 'mobile', 'Pixel')),
          'aeauth.session_risk_threshold decides what is suspicious (40 > 30)');
RESET aeauth.session_risk_threshold;

-- ---- no token material anywhere ----------------------------------------------------------
SELECT hasnt_column('aeauth', 'user_sessions', 'access_token', 'no plaintext access token column');
SELECT is((SELECT count(*)::int FROM aeauth.user_sessions s, seen WHERE strpos(s::text, seen.tok) > 0), 0, 'no token appears in user_sessions');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log a, seen WHERE strpos(a::text, seen.tok) > 0
             OR strpos(a::text, encode(sha256(convert_to(seen.tok, 'UTF8')), 'hex')) > 0), 0, 'no token nor token hash appears in the audit log');
SELECT is((SELECT count(*)::int FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000a1') l, aeauth.user_sessions s
             WHERE s.user_id = '00000000-0000-0000-0000-0000000000a1'
               AND (strpos(l::text, encode(s.access_token_hash, 'hex')) > 0 OR strpos(l::text, encode(s.refresh_token_hash, 'hex')) > 0)), 0,
          'list_sessions shows no token hash');
SELECT is((SELECT count(*)::int FROM aeauth.list_sessions('00000000-0000-0000-0000-0000000000a1') l, seen WHERE strpos(l::text, seen.tok) > 0), 0,
          'list_sessions shows no token');
SELECT ok((SELECT count(*) FROM seen) > 30, 'the checks above had tokens to look for');

-- ---- identity and savepoints -------------------------------------------------------------
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM k WHERE n = 1))$$, 'alice validates');
SAVEPOINT sp;
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM m4))$$, 'bob validates inside a savepoint');
SELECT is(aeauth.current_user_id(), '00000000-0000-0000-0000-0000000000b0'::uuid, 'inside: bob');
ROLLBACK TO SAVEPOINT sp;
SELECT is(aeauth.current_user_id(), '00000000-0000-0000-0000-0000000000a1'::uuid, 'rolled back: alice again');
SAVEPOINT sp2;
SELECT isnt_empty($$SELECT * FROM aeauth.validate_session((SELECT access_token FROM m4))$$, 'bob validates inside another savepoint');
RELEASE SAVEPOINT sp2;
SELECT is(aeauth.current_user_id(), '00000000-0000-0000-0000-0000000000b0'::uuid, 'released: bob stays');

SELECT * FROM finish();
ROLLBACK;
