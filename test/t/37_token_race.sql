-- Single use under concurrency: two real connections (dblink) redeem the same token at once.
-- Connection a redeems and holds its transaction open; connection b redeems the same token and
-- must wait for a's row lock, then find the token gone.  No outer transaction: the other
-- connections must see committed rows (the database is dropped after this file).
SELECT plan(8);

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;
SELECT aeauth.register_user('race@example.com', 'racer', 'original password') IS NOT NULL AS registered;
CREATE TABLE race_tokens AS
SELECT aeauth.request_password_reset('race@example.com') AS reset_token,
       aeauth.request_email_verification((SELECT id FROM aeauth.users WHERE username = 'racer')) AS verify_token;

SELECT dblink_connect('a', format('dbname=%s host=%s port=%s', current_database(), current_setting('unix_socket_directories'), current_setting('port')));
SELECT dblink_connect('b', format('dbname=%s host=%s port=%s', current_database(), current_setting('unix_socket_directories'), current_setting('port')));
SELECT dblink_exec('a', 'SET aeauth.argon2_memory_kib = 64');
SELECT dblink_exec('b', 'SET aeauth.argon2_memory_kib = 64');

-- password reset
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_send_query('a', format('SELECT aeauth.reset_password(%L, %L)', reset_token, 'password from a')) FROM race_tokens;
SELECT is((SELECT r FROM dblink_get_result('a') AS t(r text)), 'ok', 'connection a redeems the reset token (not yet committed)');
SELECT * FROM dblink_get_result('a') AS t(r text);
SELECT dblink_send_query('b', format('SELECT aeauth.reset_password(%L, %L)', reset_token, 'password from b')) FROM race_tokens;
SELECT pg_sleep(0.3);
SELECT is(dblink_is_busy('b'), 1, 'connection b waits for a''s row lock');
SELECT dblink_exec('a', 'COMMIT');
SELECT is((SELECT r FROM dblink_get_result('b') AS t(r text)), 'invalid', 'after a commits, b finds the token used: invalid');
SELECT * FROM dblink_get_result('b') AS t(r text);
SELECT ok((SELECT aeauth.verify_password('password from a', password_hash) FROM aeauth.users WHERE username = 'racer'),
          'the password is a''s');
SELECT ok((SELECT NOT aeauth.verify_password('password from b', password_hash) FROM aeauth.users WHERE username = 'racer'),
          'b changed nothing');

-- email verification
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_send_query('a', format('SELECT aeauth.verify_email(%L)', verify_token)) FROM race_tokens;
SELECT is((SELECT r FROM dblink_get_result('a') AS t(r text)), 'ok', 'connection a redeems the verification token');
SELECT * FROM dblink_get_result('a') AS t(r text);
SELECT dblink_send_query('b', format('SELECT aeauth.verify_email(%L)', verify_token)) FROM race_tokens;
SELECT pg_sleep(0.3);
SELECT is(dblink_is_busy('b'), 1, 'connection b waits');
SELECT dblink_exec('a', 'COMMIT');
SELECT is((SELECT r FROM dblink_get_result('b') AS t(r text)), 'invalid', 'then gets invalid: the token works once');
SELECT * FROM dblink_get_result('b') AS t(r text);

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
SELECT * FROM finish();
