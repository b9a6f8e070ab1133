#!/usr/bin/env bash
# The aeauth demo: a throwaway cluster with the extension installed, and a game backend's
# flow shown step by step.  Run as root (or a user with sudo) on Debian bookworm.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

install_packages
build_and_install
start_cluster
psql -qX -d postgres -c 'CREATE DATABASE game' >/dev/null
export PGDATABASE=game

# Each step: a caption, then the SQL as the backend would send it, then what came back.
step() { printf '\n=== %s\n' "$1"; printf '%s\n' "$2" | sed 's/^/    /'; psql -X -v ON_ERROR_STOP=1 -P pager=off -c "$2"; }

step "1. Install aeauth (one statement)" \
  "CREATE EXTENSION aeauth CASCADE;"
step "2. What it installed, and its version history" \
  "SELECT version, applied_at::date, description FROM aeauth.schema_history ORDER BY applied_at;"
step "3. The tables it owns (tokens are stored only as hashes)" \
  "SELECT table_name, count(*) AS columns FROM information_schema.columns WHERE table_schema = 'aeauth' GROUP BY 1 ORDER BY 1;"
step "4. Prepare the audit log's partitions (schedule this every few minutes with pg_cron)" \
  "SELECT * FROM aeauth.run_maintenance();"
step "5. The game backend logs its own event; a secret in the metadata is scrubbed" \
  "SELECT aeauth.log_user_event(NULL, NULL, 'quest_complete', 'game', 'complete', 'success', '203.0.113.7', 'game-client/2.1', '{\"quest\": 17, \"session_token\": \"oops\"}');"
step "6. Retention is decided at insert: 90 days, 1 year, never; security events 2 years" \
  "SELECT aeauth.log_user_event(NULL, NULL, 'export', 'admin', 'export', 'success', p_retention_policy => 'extended');
SELECT aeauth.log_user_event(NULL, NULL, 'tos_accepted', 'account', 'accept', 'success', p_retention_policy => 'permanent');
SELECT aeauth.log_user_event(NULL, NULL, 'suspicious_ip', 'security', 'flag', 'failure', '198.51.100.9');
SELECT event_type, retention_policy, CASE WHEN expires_at = 'infinity' THEN 'never' ELSE (expires_at - created_at)::text END AS kept_for,
       tableoid::regclass AS partition, metadata
  FROM aeauth.user_audit_log ORDER BY id;"
step "7. A bad category is refused (SQLSTATE 22023) and nothing is written" \
  "SELECT aeauth.log_user_event(NULL, NULL, 'x', 'gossip', 'x', 'success');" || true
step "7b. A user agent is kept up to 1024 characters: log_user_event refuses a longer one (22023); a login's is cut" \
  "SELECT aeauth.log_user_event(NULL, NULL, 'x', 'game', 'x', 'success', NULL, repeat('A', 1025));" || true
step "8. Monitoring: security events of the last 7 days" \
  "SELECT event_type, status, ip_address, severity FROM aeauth.recent_security_events;"
step "9. Maintenance again: nothing due, nothing done (safe to run often)" \
  "SELECT * FROM aeauth.run_maintenance();"
step "10. Register a player (the password is hashed with argon2id in C; only the hash is stored)" \
  "SELECT aeauth.register_user('alice@example.com', 'alice', 'correct horse battery') IS NOT NULL AS registered;
SELECT username, status, email_verified, left(password_hash, 30) || '...' AS password_hash FROM aeauth.users;"
step "11. The password policy names the broken rule and never echoes the password" \
  "DO \$\$
DECLARE pw text; d text;
BEGIN
  FOREACH pw IN ARRAY ARRAY['short', 'bobthebuilder', 'BOB@example.com'] LOOP
    BEGIN
      PERFORM aeauth.register_user('bob@example.com', 'BobTheBuilder', pw);
    EXCEPTION WHEN invalid_parameter_value THEN
      GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
      RAISE NOTICE '% (%): %', SQLERRM, SQLSTATE, d;
    END;
  END LOOP;
END \$\$;"
step "12. Verify the email address (the token would travel by email; here it goes straight back)" \
  "SELECT aeauth.verify_email(aeauth.request_email_verification(id)) AS first_use FROM aeauth.users WHERE username = 'alice';
SELECT email_verified FROM aeauth.users WHERE username = 'alice';"
step "13. Reset a forgotten password: a token for a known email, NULL for an unknown one (same cost)" \
  "SELECT aeauth.reset_password(aeauth.request_password_reset('alice@example.com'), 'a brand new passphrase') AS reset;
SELECT aeauth.request_password_reset('nobody@example.com') IS NULL AS unknown_email_gets_null;"
step "14. Bring over a legacy bcrypt user (bcryptjs hash); it verifies and is marked for rehash" \
  "SELECT aeauth.import_user('legacy@example.com', 'legacy', '\$2a\$04\$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.') IS NOT NULL AS imported;
SELECT aeauth.password_needs_rehash(password_hash) AS needs_rehash FROM aeauth.users WHERE username = 'legacy';
SELECT aeauth.change_password(id, 'correct horse battery staple', 'a fresh argon2 passphrase') FROM aeauth.users WHERE username = 'legacy';
SELECT left(password_hash, 30) || '...' AS now_stored FROM aeauth.users WHERE username = 'legacy';"
step "15. Every account event is in the audit log, without secrets" \
  "SELECT event_type, action, status, metadata FROM aeauth.user_audit_log
 WHERE event_category <> 'game' AND action NOT IN ('export', 'accept', 'flag') ORDER BY id;"
step "16. Sessions: a player signs in on a phone (create_session; login will do this; the demo keeps the tokens in a table only to reuse them below)" \
  "INSERT INTO aeauth.users (id, email, username, password_hash)
     VALUES ('00000000-0000-0000-0000-00000000d001', 'ada@example.com', 'ada', 'x');
CREATE TABLE phone AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-00000000d001',
  '203.0.113.7', 'GameClient/1.4', 'mobile', 'Pixel 8');
SELECT status, session_id, left(access_token, 10) || '...' AS access_token,
       left(refresh_token, 10) || '...' AS refresh_token, access_expires_at, risk_score FROM phone;"
step "17. Every request: validate_session (one index lookup) sets current_user_id() for this transaction" \
  "BEGIN;
SELECT * FROM aeauth.validate_session((SELECT access_token FROM phone));
SELECT aeauth.current_user_id();
COMMIT;
SELECT aeauth.current_user_id() AS after_commit;"
step "18. Refresh: both tokens rotate; a retry with the same refresh token gets the same pair" \
  "CREATE TABLE r AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM phone));
SELECT status, (SELECT r.access_token = x.access_token FROM aeauth.refresh_session((SELECT refresh_token FROM phone)) x) AS retry_gets_same_pair FROM r;"
step "19. A new device from another network scores a risk; list_sessions shows devices, never tokens" \
  "SELECT risk_score, is_suspicious FROM aeauth.create_session('00000000-0000-0000-0000-00000000d001',
  '198.51.100.20', 'Mozilla/5.0', 'desktop', 'Work PC');
SELECT session_id, device_type, device_name, ip_address, is_suspicious, risk_score
  FROM aeauth.list_sessions('00000000-0000-0000-0000-00000000d001');"
step "20. The old refresh token comes back after the grace period: reuse, the whole session is revoked" \
  "UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '1 minute';  -- instead of waiting
SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM phone));
SELECT count(*) AS still_valid FROM aeauth.validate_session((SELECT access_token FROM r));
SELECT event_type, severity, metadata->>'reason' AS reason FROM aeauth.user_audit_log WHERE event_type = 'refresh_token_reuse';"
step "21. Log out everywhere (game servers LISTEN on aeauth_session_revoked to drop connections at once)" \
  "SELECT aeauth.revoke_user_sessions('00000000-0000-0000-0000-00000000d001') AS revoked;"
step "22. The game backend's flow: a player registers and logs in (one call, one row; tokens shown once)" \
  "SELECT aeauth.register_user('lin@example.com', 'lin', 'dragon slayer 99') IS NOT NULL AS registered;
CREATE TABLE lin AS SELECT * FROM aeauth.login('Lin', 'dragon slayer 99', '203.0.113.40', 'GameClient/1.4', 'console', 'living room', 'install-7f3a');
SELECT status, user_id IS NOT NULL AS has_user, left(access_token, 10) || '...' AS access_token, access_expires_at FROM lin;"
step "23. Wrong passwords: the fifth locks the account; a locked account answers like a wrong password (paranoid)" \
  "SELECT g AS attempt, (SELECT status FROM aeauth.login('lin', 'guess ' || g, '198.51.100.66')) FROM generate_series(1, 6) g;
SELECT failed_login_attempts, locked_until > now() AS locked FROM aeauth.users WHERE username = 'lin';"
step "24. ...but Lin's own console (a trusted device) still gets in: attackers cannot lock a player out" \
  "CREATE TABLE lin2 AS SELECT * FROM aeauth.login('lin', 'dragon slayer 99', '203.0.113.41', 'GameClient/1.4', 'console', 'living room', 'install-7f3a');
SELECT l.status, s.is_trusted FROM lin2 l JOIN aeauth.list_sessions(l.user_id) s USING (session_id);"
step "25. An unknown name costs a dummy argon2id verification and gets the same answer; the audit log keeps the truth" \
  "SELECT status FROM aeauth.login('nobody', 'whatever');
SELECT event_type, status, metadata->>'reason' AS reason, metadata->>'scope' AS scope
  FROM aeauth.user_audit_log WHERE event_type IN ('login', 'account_locked') ORDER BY created_at DESC, id DESC LIMIT 6;"
step "26. Versions are migrations: one history row per step, and the installed objects checked against what the scripts made" \
  "SELECT version, applied_at, description FROM aeauth.schema_history ORDER BY applied_at, version;
SELECT check_name, ok, left(detail, 60) AS detail FROM aeauth.verify_integrity();"
step "27. Drift is reported: somebody drops an index and grants a table to PUBLIC (rolled back)" \
  "BEGIN;
DROP INDEX aeauth.user_sessions_user_id_idx;
GRANT SELECT ON aeauth.users TO PUBLIC;
SELECT check_name, detail FROM aeauth.verify_integrity() WHERE NOT ok;
ROLLBACK;"
step "28. A stolen session cannot guess the password: change_password counts wrong guesses like login, and a locked account refuses even the right one" \
  "SELECT aeauth.register_user('mia@example.com', 'mia', 'silver arrow 42') IS NOT NULL AS registered;
SELECT g AS attempt, aeauth.change_password((SELECT id FROM aeauth.users WHERE username = 'mia'), 'guess ' || g, 'a new password 1') AS result
  FROM generate_series(1, 5) g;
SELECT aeauth.change_password((SELECT id FROM aeauth.users WHERE username = 'mia'), 'silver arrow 42', 'a new password 1') AS right_password_while_locked;
SELECT failed_login_attempts, locked_until > now() AS locked FROM aeauth.users WHERE username = 'mia';"
step "29. Look-alikes: a full-width email is the same address (23505, and it logs in); a password of zero-width characters is refused" \
  "DO \$\$
DECLARE d text;
BEGIN
  BEGIN
    PERFORM aeauth.register_user(E'\\uff4d\\uff49\\uff41\\uff20\\uff45\\uff58\\uff41\\uff4d\\uff50\\uff4c\\uff45.com', 'mia_again', 'another password 7');
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE '% (%): %', SQLERRM, SQLSTATE, d;
  END;
  BEGIN
    PERFORM aeauth.register_user('zoe@example.com', 'zoe', repeat(E'\\u200b', 12));
  EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE '% (%): %', SQLERRM, SQLSTATE, d;
  END;
END \$\$;
SELECT aeauth.unlock_user(id) FROM aeauth.users WHERE username = 'mia';  -- the admin lifts step 28's lock
SELECT status, (SELECT username FROM aeauth.users WHERE id = l.user_id) AS account
  FROM aeauth.login(E'\\uff4d\\uff49\\uff41\\uff20example.com', 'silver arrow 42') l;"
printf '\nDemo finished.\n'
