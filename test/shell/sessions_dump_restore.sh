#!/usr/bin/env bash
# Sessions survive pg_dump / restore: tokens issued before the dump validate and refresh after it,
# a retry within the grace period still gets the same pair (the derivation secret was dumped and
# the oldest secret wins over the one the restore's CREATE EXTENSION made), and a rotated token
# is still recognised as reuse.  Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; for d in aeauth_sdump_src aeauth_sdump_dst; do psqlq -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)"; done' EXIT
for d in aeauth_sdump_src aeauth_sdump_dst; do psqlq -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" -c "CREATE DATABASE $d"; done
# Long grace period so that dump and restore fit in it.
psqlq -d postgres -c "ALTER DATABASE aeauth_sdump_dst SET aeauth.refresh_reuse_interval = '1h'" \
                  -c "ALTER DATABASE aeauth_sdump_src SET aeauth.refresh_reuse_interval = '1h'"
psqlq -d aeauth_sdump_src -c "CREATE EXTENSION aeauth CASCADE" \
  -c "INSERT INTO aeauth.users (id, email, username, password_hash) VALUES ('00000000-0000-0000-0000-000000000001', 'p@x.com', 'p', 'x')"

n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi; }
session() { psqlq -d aeauth_sdump_src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('00000000-0000-0000-0000-000000000001', device_name => '$1')"; }

read -r a1 r1 <<<"$(session one)"          # untouched
read -r a2 r2 <<<"$(session two)"          # rotated once before the dump
read -r a3 r3 <<<"$(session three)"        # rotated twice before the dump
pair2=$(psqlq -d aeauth_sdump_src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.refresh_session('$r2')")
read -r _ r3b <<<"$(psqlq -d aeauth_sdump_src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.refresh_session('$r3')")"
psqlq -d aeauth_sdump_src -c "SELECT status FROM aeauth.refresh_session('$r3b')" >/dev/null

pg_dump -Fc -d aeauth_sdump_src -f "$tmp/db.dump"
pg_restore -d aeauth_sdump_dst "$tmp/db.dump"

check "restored: two secrets (dumped, and the restore's own)" \
  "$(psqlq -d aeauth_sdump_dst -c "SELECT count(*) FROM aeauth.session_secret")" "2"
check "an access token issued before the dump validates after the restore" \
  "$(psqlq -d aeauth_sdump_dst -c "SELECT count(*) FROM aeauth.validate_session('$a1')")" "1"
check "its refresh token rotates after the restore" \
  "$(psqlq -d aeauth_sdump_dst -c "SELECT status FROM aeauth.refresh_session('$r1')")" "ok"
check "a retry within the grace period across the restore gets the same pair as before the dump" \
  "$(psqlq -d aeauth_sdump_dst -c "SELECT access_token || ' ' || refresh_token FROM aeauth.refresh_session('$r2')")" "$pair2"
check "a token rotated twice before the dump is reuse after the restore" \
  "$(psqlq -d aeauth_sdump_dst -c "SELECT status FROM aeauth.refresh_session('$r3')")" "reused"
echo "1..$n"
