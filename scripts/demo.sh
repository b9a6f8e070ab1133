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
step "4. Sessions: a player signs in on a phone (create_session; login will do this; the demo keeps the tokens in a table only to reuse them below)" \
  "INSERT INTO aeauth.users (id, email, username, password_hash)
     VALUES ('00000000-0000-0000-0000-00000000d001', 'ada@example.com', 'ada', 'x');
CREATE TABLE phone AS SELECT * FROM aeauth.create_session('00000000-0000-0000-0000-00000000d001',
  '203.0.113.7', 'GameClient/1.4', 'mobile', 'Pixel 8');
SELECT status, session_id, left(access_token, 10) || '...' AS access_token,
       left(refresh_token, 10) || '...' AS refresh_token, access_expires_at, risk_score FROM phone;"
step "5. Every request: validate_session (one index lookup) sets current_user_id() for this transaction" \
  "BEGIN;
SELECT * FROM aeauth.validate_session((SELECT access_token FROM phone));
SELECT aeauth.current_user_id();
COMMIT;
SELECT aeauth.current_user_id() AS after_commit;"
step "6. Refresh: both tokens rotate; a retry with the same refresh token gets the same pair" \
  "CREATE TABLE r AS SELECT * FROM aeauth.refresh_session((SELECT refresh_token FROM phone));
SELECT status, (SELECT r.access_token = x.access_token FROM aeauth.refresh_session((SELECT refresh_token FROM phone)) x) AS retry_gets_same_pair FROM r;"
step "7. A new device from another network scores a risk; list_sessions shows devices, never tokens" \
  "SELECT risk_score, is_suspicious FROM aeauth.create_session('00000000-0000-0000-0000-00000000d001',
  '198.51.100.20', 'Mozilla/5.0', 'desktop', 'Work PC');
SELECT session_id, device_type, device_name, ip_address, is_suspicious, risk_score
  FROM aeauth.list_sessions('00000000-0000-0000-0000-00000000d001');"
step "8. The old refresh token comes back after the grace period: reuse, the whole session is revoked" \
  "UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '1 minute';  -- instead of waiting
SELECT status FROM aeauth.refresh_session((SELECT refresh_token FROM phone));
SELECT count(*) AS still_valid FROM aeauth.validate_session((SELECT access_token FROM r));
SELECT event_type, severity, metadata->>'reason' AS reason FROM aeauth.user_audit_log WHERE event_type = 'refresh_token_reuse';"
step "9. Log out everywhere (game servers LISTEN on aeauth_session_revoked to drop connections at once)" \
  "SELECT aeauth.revoke_user_sessions('00000000-0000-0000-0000-00000000d001') AS revoked;"
printf '\nDemo finished.\n'
