#!/usr/bin/env bash
# Refresh races on real connections: 2 and then 16 clients present the same refresh token at the
# same moment (held at an advisory lock, released together); all must get 'ok' and the same new
# pair, and the session must stay alive.  Then a reuse after the interval from one of them
# revokes it.  Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
db=aeauth_race
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psqlq -d $db -c "CREATE EXTENSION aeauth CASCADE" \
  -c "INSERT INTO aeauth.users (id, email, username, password_hash) VALUES ('00000000-0000-0000-0000-000000000001', 'p@x.com', 'p', 'x')"
# Generous grace period: the clients' connection start-up must not count against it.
psqlq -d postgres -c "ALTER DATABASE $db SET aeauth.refresh_reuse_interval = '10min'"

n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi; }

# race CLIENTS TOKEN: every client waits on advisory lock 42 (held by the gate connection),
# then refreshes TOKEN; outputs in $tmp/out.*.
race() {
  local clients=$1 token=$2 i
  rm -f "$tmp"/out.*
  mkfifo "$tmp/gate"
  # The gate: a connection that takes the lock, waits for a line on the fifo, then lets go.
  psql -qXAt -d $db -f - <"$tmp/gate" >/dev/null &
  local gate=$!
  exec 7>"$tmp/gate"
  echo "SELECT pg_advisory_lock(42);" >&7
  until [ "$(psqlq -d $db -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND granted")" = 1 ]; do sleep 0.05; done
  for i in $(seq 1 "$clients"); do
    psql -qXAt -v ON_ERROR_STOP=1 -d $db -v tok="$token" >"$tmp/out.$i" 2>&1 <<'SQL' &
SELECT pg_advisory_lock_shared(42) \g /dev/null
SELECT status || ' ' || coalesce(access_token, '-') || ' ' || coalesce(refresh_token, '-') FROM aeauth.refresh_session(:'tok');
SQL
  done
  until [ "$(psqlq -d $db -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND NOT granted")" = "$clients" ]; do sleep 0.05; done
  echo "SELECT pg_advisory_unlock(42);" >&7
  exec 7>&-
  wait
  rm -f "$tmp/gate"
}

for clients in 2 16; do
  row=$(psqlq -d $db -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('00000000-0000-0000-0000-000000000001')")
  refresh=${row#* }
  sid=$(psqlq -d $db -c "SELECT id FROM aeauth.user_sessions WHERE status = 'active' ORDER BY created_at DESC LIMIT 1")
  race "$clients" "$refresh"
  check "$clients clients: every client answered ok" "$(cat "$tmp"/out.* | grep -c '^ok aea_[A-Za-z0-9_-]\{43\} aer_[A-Za-z0-9_-]\{43\}$')" "$clients"
  check "$clients clients: all got the same pair" "$(cat "$tmp"/out.* | sort -u | wc -l)" "1"
  pair=$(head -n1 "$tmp/out.1")
  new_access=$(echo "$pair" | cut -d' ' -f2)
  new_refresh=$(echo "$pair" | cut -d' ' -f3)
  check "$clients clients: the session is alive and rotated once" \
    "$(psqlq -d $db -c "SELECT status || ' ' || generation FROM aeauth.user_sessions WHERE id = '$sid'")" "active 1"
  check "$clients clients: the shared new access token validates" \
    "$(psqlq -d $db -c "SELECT count(*) FROM aeauth.validate_session('$new_access')")" "1"
  check "$clients clients: no reuse was reported" \
    "$(psqlq -d $db -c "SELECT count(*) FROM aeauth.user_audit_log WHERE event_type = 'refresh_token_reuse' AND session_id = '$sid'")" "0"
  # The shared new refresh token still works for the next rotation.
  check "$clients clients: the shared new refresh token rotates on" \
    "$(psqlq -d $db -c "SELECT status FROM aeauth.refresh_session('$new_refresh')")" "ok"
done

# The last race again, then a reuse of its parent token after the interval, from one client.
row=$(psqlq -d $db -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('00000000-0000-0000-0000-000000000001')")
refresh=${row#* }
sid=$(psqlq -d $db -c "SELECT id FROM aeauth.user_sessions WHERE status = 'active' ORDER BY created_at DESC LIMIT 1")
race 16 "$refresh"
check "16 clients again: all ok" "$(cat "$tmp"/out.* | grep -c '^ok aea_')" "16"
check "16 clients again: one pair" "$(cat "$tmp"/out.* | sort -u | wc -l)" "1"
new_access=$(head -n1 "$tmp/out.1" | cut -d' ' -f2)
psqlq -d $db -c "UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '11 minutes' WHERE session_id = '$sid'"
check "a reuse after the interval: reused" \
  "$(psqlq -d $db -c "SELECT status FROM aeauth.refresh_session('$refresh')")" "reused"
check "the session is revoked by security" \
  "$(psqlq -d $db -c "SELECT status || '/' || revoked_by FROM aeauth.user_sessions WHERE id = '$sid'")" "revoked/security"
check "the pair the 16 clients share is dead" \
  "$(psqlq -d $db -c "SELECT count(*) FROM aeauth.validate_session('$new_access')")" "0"
echo "1..$n"
