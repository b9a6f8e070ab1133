-- change_password under real concurrency (1.6 hardening): N connections (dblink), released at
-- the same instant by an advisory-lock barrier, give wrong current passwords for one account.
-- The counter moves by exactly N, or stops exactly at the lock, with exactly one lock event;
-- mixed with failed logins it is one counter.  And the documented caveat: a change_password in a
-- transaction that is rolled back counts nothing.  No outer transaction: the other connections
-- must see committed rows (the database is dropped after this file).
SELECT plan(13);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;
SELECT aeauth.register_user('victim@example.com', 'victim', 'Victim-pass-2024') AS victim \gset

SELECT dblink_connect('c' || i, format('dbname=%s host=%s port=%s', current_database(),
                                       current_setting('unix_socket_directories'), current_setting('port')))
  FROM generate_series(1, 16) i;
SELECT dblink_exec('c' || i, 'SET aeauth.argon2_memory_kib = 64') FROM generate_series(1, 16) i;

-- race(clients, sql, sql_odd): each of the first `clients` connections runs sql (the odd-numbered
-- ones sql_odd, when given) as soon as the barrier opens; returns their answers.  The barrier: this session holds advisory lock 6366, each
-- connection's statement first waits for it (shared, released at its commit), and the lock is
-- let go once all of them are waiting.
CREATE FUNCTION pg_temp.race(clients int, q text, q_odd text DEFAULT NULL) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    i int;
    answer text;
BEGIN
    PERFORM pg_advisory_lock(6366);
    FOR i IN 1..clients LOOP
        PERFORM dblink_send_query('c' || i, format('SELECT (%s)::text FROM pg_advisory_xact_lock_shared(6366)',
                                                   CASE WHEN i % 2 = 1 THEN coalesce(q_odd, q) ELSE q END));
    END LOOP;
    WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 6366 AND NOT granted) < clients LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
    PERFORM pg_advisory_unlock(6366);
    FOR i IN 1..clients LOOP
        SELECT r INTO answer FROM dblink_get_result('c' || i) AS t(r text);
        RETURN NEXT answer;
        PERFORM * FROM dblink_get_result('c' || i) AS t(r text);	-- the end of the results
    END LOOP;
END
$f$;

CREATE TABLE answers (round text, answer text);

-- 16 at once, no lock in reach: exactly 16.
SELECT dblink_exec('c' || i, 'SET aeauth.max_failed_attempts = 1000') FROM generate_series(1, 16) i;
INSERT INTO answers SELECT 'unlimited', pg_temp.race(16, format('aeauth.change_password(%L, %L, %L)', :'victim', 'wrong guess', 'New-pass-2024'));
SELECT is((SELECT string_agg(DISTINCT answer, ',') || ' x' || count(*) FROM answers WHERE round = 'unlimited'),
          'invalid_credentials x16', '16 concurrent wrong current passwords: all invalid_credentials');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'victim'), 16,
          '16 concurrent wrong current passwords move the counter by exactly 16');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = :'victim' AND event_type = 'password_change' AND status = 'failure'),
          16, 'and are all audited');

-- Mixed with failed logins: one counter.
UPDATE aeauth.users SET failed_login_attempts = 0 WHERE id = :'victim';
INSERT INTO answers SELECT 'mixed', pg_temp.race(16,
    format('aeauth.change_password(%L, %L, %L)', :'victim', 'wrong guess', 'New-pass-2024'),
    format('(SELECT status FROM aeauth.login(%L, %L))', 'victim', 'wrong guess'));
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = :'victim' AND event_type = 'login' AND status = 'failure'), 8,
          'half of them were logins');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'victim'), 16,
          '16 concurrent failures, change_password and login mixed, move the one counter by exactly 16');

-- The default limit (5): 16 at once stop exactly at the lock, one lock event.
SELECT dblink_exec('c' || i, 'RESET aeauth.max_failed_attempts') FROM generate_series(1, 16) i;
UPDATE aeauth.users SET failed_login_attempts = 0, lockout_count = 0, locked_until = NULL WHERE id = :'victim';
INSERT INTO answers SELECT 'limit', pg_temp.race(16, format('aeauth.change_password(%L, %L, %L)', :'victim', 'wrong guess', 'New-pass-2024'));
SELECT is((SELECT string_agg(DISTINCT answer, ',') FROM answers WHERE round = 'limit'), 'invalid_credentials',
          'all answered invalid_credentials');
SELECT is((SELECT failed_login_attempts || ' ' || (locked_until > now()) FROM aeauth.users WHERE id = :'victim'), '5 true',
          '16 concurrent wrong current passwords stop exactly at the lock (5)');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = :'victim' AND event_type = 'account_locked'), 1,
          'exactly one account_locked event');
SELECT is((SELECT count(*)::int FROM aeauth.user_audit_log WHERE user_id = :'victim' AND event_type = 'password_change' AND metadata->>'reason' = 'locked'),
          11, 'the 11 that came after the lock were refused as locked, not counted');

-- The right password on the locked account, from 4 connections at once: refused, nothing changes.
CREATE TABLE locked_state AS SELECT locked_until, password_hash FROM aeauth.users WHERE id = :'victim';
INSERT INTO answers SELECT 'right', pg_temp.race(4, format('aeauth.change_password(%L, %L, %L)', :'victim', 'Victim-pass-2024', 'New-pass-2024'));
SELECT is((SELECT string_agg(DISTINCT answer, ',') FROM answers WHERE round = 'right'), 'invalid_credentials',
          'the right password on a locked account: invalid_credentials');
SELECT ok((SELECT u.locked_until = l.locked_until AND u.password_hash = l.password_hash AND u.failed_login_attempts = 5
             FROM aeauth.users u, locked_state l WHERE u.id = :'victim'), 'the lock is not extended and the password not changed');

-- Documented (README): like login, change_password must run in its own transaction.  Rolled
-- back, it leaves no count and no audit row.
SELECT aeauth.unlock_user(:'victim');
SELECT dblink_exec('c1', 'BEGIN');
SELECT * FROM dblink('c1', format('SELECT aeauth.change_password(%L, %L, %L)', :'victim', 'wrong guess', 'New-pass-2024')) AS t(r text);
SELECT dblink_exec('c1', 'ROLLBACK');
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'victim'), 0,
          'a change_password in a rolled-back transaction counts nothing (run it in its own transaction)');
SELECT * FROM dblink('c1', format('SELECT aeauth.change_password(%L, %L, %L)', :'victim', 'wrong guess', 'New-pass-2024')) AS t(r text);
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'victim'), 1,
          'in autocommit the same call is counted');

SELECT dblink_disconnect('c' || i) FROM generate_series(1, 16) i;
SELECT * FROM finish();
