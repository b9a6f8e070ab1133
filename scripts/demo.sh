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
step "4. Register a player (the password is hashed with argon2id in C; only the hash is stored)" \
  "SELECT aeauth.register_user('alice@example.com', 'alice', 'correct horse battery') IS NOT NULL AS registered;
SELECT username, status, email_verified, left(password_hash, 30) || '...' AS password_hash FROM aeauth.users;"
step "5. The password policy names the broken rule and never echoes the password" \
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
step "6. Verify the email address (the token would travel by email; here it goes straight back)" \
  "SELECT aeauth.verify_email(aeauth.request_email_verification(id)) AS first_use FROM aeauth.users WHERE username = 'alice';
SELECT email_verified FROM aeauth.users WHERE username = 'alice';"
step "7. Reset a forgotten password: a token for a known email, NULL for an unknown one (same cost)" \
  "SELECT aeauth.reset_password(aeauth.request_password_reset('alice@example.com'), 'a brand new passphrase') AS reset;
SELECT aeauth.request_password_reset('nobody@example.com') IS NULL AS unknown_email_gets_null;"
step "8. Bring over a legacy bcrypt user (bcryptjs hash); it verifies and is marked for rehash" \
  "SELECT aeauth.import_user('legacy@example.com', 'legacy', '\$2a\$04\$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.') IS NOT NULL AS imported;
SELECT aeauth.password_needs_rehash(password_hash) AS needs_rehash FROM aeauth.users WHERE username = 'legacy';
SELECT aeauth.change_password(id, 'correct horse battery staple', 'a fresh argon2 passphrase') FROM aeauth.users WHERE username = 'legacy';
SELECT left(password_hash, 30) || '...' AS now_stored FROM aeauth.users WHERE username = 'legacy';"
step "9. Every account event is in the audit log, without secrets" \
  "SELECT event_type, action, status, metadata FROM aeauth.user_audit_log ORDER BY created_at, event_type;"
printf '\nDemo finished.\n'
