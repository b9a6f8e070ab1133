-- login: statuses, counting, progressive lockout, paranoid mode, trusted devices, throttling,
-- rehash on use, audit.  Concurrency and the rolled-back transaction: test/shell/login_*.sh.
BEGIN;
SELECT plan(71);

-- Small argon2 parameters keep the suite fast; the rules do not depend on them.
SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;

SELECT aeauth.register_user('Alice@Example.com', 'alice', 'correct horse battery') AS alice \gset
SELECT aeauth.register_user('bob@example.com', 'bob', 'bob password 1') AS bob \gset

CREATE TEMP TABLE r AS SELECT * FROM aeauth.login('alice', 'correct horse battery', '198.51.100.1');
SELECT is((SELECT status FROM r), 'ok', 'login by username');
SELECT is((SELECT user_id FROM r), :'alice'::uuid, 'the right user');
SELECT ok((SELECT access_token LIKE 'aea\_%' AND refresh_token LIKE 'aer\_%' FROM r), 'both tokens, with their prefixes');
SELECT ok((SELECT access_expires_at > now() AND refresh_expires_at > access_expires_at FROM r), 'expiries');
SELECT is((SELECT count(*) FROM aeauth.validate_session((SELECT access_token FROM r))), 1::bigint,
          'the access token validates');
SELECT is((SELECT status FROM aeauth.login('ALICE@example.COM', 'correct horse battery')), 'ok',
          'login by email, case-insensitively');
SELECT is((SELECT count(*) FROM aeauth.login('alice', 'nope')), 1::bigint, 'exactly one row, also on failure');
SELECT ok((SELECT user_id IS NULL AND session_id IS NULL AND access_token IS NULL AND refresh_token IS NULL
                  AND access_expires_at IS NULL AND refresh_expires_at IS NULL
             FROM aeauth.login('alice', 'nope')), 'no token columns unless ok');
SELECT ok((SELECT last_login = now() FROM aeauth.users WHERE id = :'alice'), 'last_login set');

-- Failures are counted; success resets the count.
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'alice'), 2, 'two wrong passwords counted');
SELECT is((SELECT status FROM aeauth.login('alice', 'correct horse battery')), 'ok', 'right password');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'alice'), 0, 'success resets the counter');

-- Unknown identifiers: the same answer, audited without the identifier.
SELECT is((SELECT status FROM aeauth.login('nobody-here', 'whatever pw')), 'invalid_credentials', 'unknown username');
SELECT is((SELECT status FROM aeauth.login('nobody@example.com', 'whatever pw')), 'invalid_credentials', 'unknown email');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE event_type = 'login' AND status = 'failure' AND user_id IS NULL
              AND metadata->>'reason' = 'unknown_identifier'), 2::bigint,
          'unknown identifiers audited with no user and the reason');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE metadata::text LIKE '%nobody%' OR message LIKE '%nobody%'), 0::bigint,
          'the raw identifier is not stored');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE metadata::text ~* 'correct horse|nope|whatever pw'), 0::bigint, 'no password in the audit log');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'alice' AND event_type = 'login' AND status = 'failure'
              AND metadata->>'reason' = 'wrong_password'), 2::bigint, 'wrong passwords audited with the reason');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'alice' AND event_type = 'login' AND status = 'success'), 3::bigint,
          'successes audited');

-- Lockout at max_failed_attempts, never later.
SELECT aeauth.login('alice', 'wrong ' || g) FROM generate_series(1, 4) g;
SELECT ok((SELECT locked_until IS NULL FROM aeauth.users WHERE id = :'alice'), 'four failures: not locked');
SELECT is((SELECT status FROM aeauth.login('alice', 'wrong 5')), 'invalid_credentials', 'fifth failure');
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'alice'), now() + interval '1 minute',
          'the fifth failure locks for lockout_base (1 min)');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'alice' AND event_type = 'account_locked' AND event_category = 'security'), 1::bigint,
          'the lock is a security audit event');
SELECT is((SELECT status FROM aeauth.login('alice', 'correct horse battery')), 'invalid_credentials',
          'paranoid: a correct password on a locked account looks like a wrong one');
SET aeauth.paranoid = off;
SELECT is((SELECT status FROM aeauth.login('alice', 'correct horse battery')), 'locked',
          'not paranoid: locked');
SELECT is((SELECT status FROM aeauth.login('alice', 'wrong again')), 'locked',
          'a wrong password on a locked account: locked too (correctness not revealed)');
RESET aeauth.paranoid;
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'alice'), 5,
          'attempts on a locked account are not counted');
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'alice'), now() + interval '1 minute',
          'nor do they extend the lock');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'alice' AND metadata->>'reason' = 'locked'), 3::bigint,
          'the audit log keeps the true reason');

-- The lock lifts by itself; each further lock since the last success doubles.
UPDATE aeauth.users SET locked_until = now() - interval '1 second' WHERE id = :'alice';
SELECT aeauth.login('alice', 'wrong ' || g) FROM generate_series(1, 5) g;
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'alice'), now() + interval '2 minutes',
          'second lock: twice lockout_base');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'alice' AND event_type = 'account_unlocked'), 1::bigint,
          'the lapsed lock is audited as an unlock');
UPDATE aeauth.users SET locked_until = now() - interval '1 second' WHERE id = :'alice';
SELECT aeauth.login('alice', 'wrong ' || g) FROM generate_series(1, 5) g;
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'alice'), now() + interval '4 minutes',
          'third lock: four times');
SET aeauth.lockout_max = '3min';
UPDATE aeauth.users SET locked_until = now() - interval '1 second' WHERE id = :'alice';
SELECT aeauth.login('alice', 'wrong ' || g) FROM generate_series(1, 5) g;
SELECT is((SELECT locked_until FROM aeauth.users WHERE id = :'alice'), now() + interval '3 minutes',
          'capped at lockout_max');
RESET aeauth.lockout_max;
UPDATE aeauth.users SET locked_until = now() - interval '1 second' WHERE id = :'alice';
SELECT is((SELECT status FROM aeauth.login('alice', 'correct horse battery')), 'ok', 'a lapsed lock lets the right password in');
SELECT is((SELECT lockout_count FROM aeauth.users WHERE id = :'alice'), 0, 'success resets the doubling');

-- unlock_user lifts a lock at once.
SELECT aeauth.login('alice', 'wrong ' || g) FROM generate_series(1, 5) g;
SELECT ok((SELECT locked_until > now() FROM aeauth.users WHERE id = :'alice'), 'locked again');
SELECT aeauth.unlock_user(:'alice');
SELECT is((SELECT status FROM aeauth.login('alice', 'correct horse battery')), 'ok', 'unlock_user lifts it');

-- Disabled and unverified accounts.
SELECT aeauth.set_user_status(:'bob', 'suspended', 'test');
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'invalid_credentials', 'paranoid: suspended looks invalid');
SET aeauth.paranoid = off;
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'disabled', 'suspended: disabled');
SELECT aeauth.set_user_status(:'bob', 'banned', 'test');
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'disabled', 'banned: disabled');
SELECT aeauth.set_user_status(:'bob', 'inactive', 'test');
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'disabled', 'inactive: disabled');
SELECT aeauth.set_user_status(:'bob', 'active', 'test');
SET aeauth.require_verified_email = on;
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'unverified', 'require_verified_email: unverified');
SELECT is((SELECT status FROM aeauth.login('bob', 'wrong')), 'invalid_credentials', 'a wrong password is still invalid');
RESET aeauth.paranoid;
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'invalid_credentials', 'paranoid: unverified looks invalid');
UPDATE aeauth.users SET email_verified = true WHERE id = :'bob';
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1')), 'ok', 'verified: ok');
RESET aeauth.require_verified_email;
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'bob' AND metadata->>'reason' IN ('disabled', 'unverified')), 6::bigint,
          'disabled and unverified attempts audited with their reason');

-- Trusted devices: failures from elsewhere do not lock the player out of their own device.
SELECT aeauth.register_user('carol@example.com', 'carol', 'carol password') AS carol \gset
SELECT is((SELECT status FROM aeauth.login('carol', 'carol password', '198.51.100.7', NULL, 'mobile', 'phone', 'device-carol')),
          'ok', 'carol logs in from her phone');
SELECT is((SELECT is_trusted FROM aeauth.list_sessions(:'carol')), false, 'a first login is not yet trusted');
SELECT aeauth.login('carol', 'attacker ' || g, '203.0.113.66'::inet) FROM generate_series(1, 5) g;
SELECT ok((SELECT locked_until > now() FROM aeauth.users WHERE id = :'carol'), 'an attacker locked the account');
SELECT is((SELECT status FROM aeauth.login('carol', 'carol password', '203.0.113.66')), 'invalid_credentials',
          'the attacker''s source stays locked out, even with the right password');
CREATE TEMP TABLE t AS
SELECT * FROM aeauth.login('carol', 'carol password', '198.51.100.99', NULL, 'mobile', 'phone', 'device-carol');
SELECT is((SELECT status FROM t), 'ok', 'her trusted device still gets in (another IP, same device id)');
SELECT is((SELECT is_trusted FROM aeauth.list_sessions(:'carol') WHERE session_id = (SELECT session_id FROM t)), true,
          'and its session is marked is_trusted');
SELECT aeauth.login('carol', 'attacker ' || g, '203.0.113.66'::inet) FROM generate_series(1, 5) g;
SELECT aeauth.login('carol', 'typo ' || g, '198.51.100.7'::inet, NULL, NULL, NULL, 'device-carol') FROM generate_series(1, 5) g;
SET aeauth.paranoid = off;
SELECT is((SELECT status FROM aeauth.login('carol', 'carol password', '198.51.100.7', NULL, NULL, NULL, 'device-carol')),
          'locked', 'the trusted device''s own failures lock it');
RESET aeauth.paranoid;
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'carol' AND event_type = 'account_locked' AND metadata->>'scope' = 'device'), 1::bigint,
          'the device lock is audited with its scope');
SELECT is((SELECT count(*) FROM aeauth.trusted_devices WHERE user_id = :'carol'), 1::bigint,
          'one device row: both successes came from the same device id, from two IPs');
SELECT is((SELECT count(*) FROM aeauth.trusted_devices WHERE device_key::text LIKE '%device-carol%'), 0::bigint,
          'no device id in clear');
SELECT aeauth.unlock_user(:'carol');
SELECT is((SELECT status FROM aeauth.login('carol', 'carol password', '198.51.100.7', NULL, NULL, NULL, 'device-carol')),
          'ok', 'unlock_user lifts the device lock too');

-- Throttling by source.
SET aeauth.ip_max_failures = 3;
SELECT aeauth.login('nobody' || g, 'pw', '192.0.2.10'::inet) FROM generate_series(1, 3) g;
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1', '192.0.2.10')), 'throttled',
          'more failures than ip_max_failures from one IPv4 address: throttled, whatever the account');
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1', '192.0.2.11')), 'ok', 'the next address is not');
SELECT aeauth.login('nobody' || g, 'pw', ('2001:db8:1:2::' || g)::inet) FROM generate_series(1, 3) g;
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1', '2001:db8:1:2:ffff::1')), 'throttled',
          'IPv6 failures count per /64');
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1', '2001:db8:1:3::1')), 'ok', 'another /64 is not throttled');
UPDATE aeauth.login_source_failures SET bucket = bucket - interval '6 minutes';
SELECT is((SELECT status FROM aeauth.login('bob', 'bob password 1', '192.0.2.10')), 'ok',
          'failures older than ip_window no longer count');
RESET aeauth.ip_max_failures;

-- Maintenance removes old throttling buckets and devices that are no longer trusted.
UPDATE aeauth.trusted_devices SET last_success_at = now() - interval '31 days' WHERE user_id = :'carol';
SELECT is((SELECT array_agg(affected ORDER BY task) FROM aeauth.run_maintenance() WHERE task LIKE 'login:%'),
          ARRAY[1, 4]::bigint[], 'run_maintenance: one stale device, four old buckets');
SELECT is((SELECT count(*) FROM aeauth.login_source_failures WHERE bucket < now() - interval '5 minutes'), 0::bigint,
          'no bucket older than the window is left');

-- Rehash on use: bcrypt (imported) and weaker argon2id become argon2id at the current settings.
-- (bcryptjs 2.4.3 hash of 'correct horse battery staple', from test/fixtures/password_vectors.tsv)
SELECT aeauth.import_user('dave@example.com', 'dave',
                          '$2b$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.', true) AS dave \gset
SELECT is((SELECT status FROM aeauth.login('dave', 'correct horse battery staple')), 'ok', 'login with an imported bcrypt hash');
SELECT ok((SELECT password_hash LIKE '$argon2id$v=19$m=64,t=1,p=1$%' FROM aeauth.users WHERE id = :'dave'),
          'bcrypt rehashed to argon2id at the current parameters in the same transaction');
SET aeauth.argon2_memory_kib = 128;
SELECT is((SELECT status FROM aeauth.login('dave', 'correct horse battery staple')), 'ok', 'login with a weaker argon2id hash');
SELECT ok((SELECT password_hash LIKE '$argon2id$v=19$m=128,t=1,p=1$%' FROM aeauth.users WHERE id = :'dave'),
          'weaker argon2id rehashed at the current parameters');
SELECT is((SELECT count(*) FROM aeauth.user_audit_log
            WHERE user_id = :'dave' AND metadata->>'reason' = 'password_rehashed'), 2::bigint,
          'the rehash is audited');

-- Bad input raises.
SELECT throws_ok($$SELECT * FROM aeauth.login(NULL, 'x')$$, '22004', NULL, 'NULL identifier: 22004');
SELECT throws_ok($$SELECT * FROM aeauth.login('alice', NULL)$$, '22004', NULL, 'NULL password: 22004');

SELECT * FROM finish();
ROLLBACK;
