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
step "8. Monitoring: security events of the last 7 days" \
  "SELECT event_type, status, ip_address, severity FROM aeauth.recent_security_events;"
step "9. Maintenance again: nothing due, nothing done (safe to run often)" \
  "SELECT * FROM aeauth.run_maintenance();"
printf '\nDemo finished.\n'
