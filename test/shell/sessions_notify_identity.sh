#!/usr/bin/env bash
# NOTIFY aeauth_session_revoked reaches a listening connection for every kind of revocation
# (and not for a rolled-back one); current_user_id() is transaction-local.
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
db=aeauth_notify
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psqlq -d $db -c "CREATE EXTENSION aeauth CASCADE" \
  -c "INSERT INTO aeauth.users (id, email, username, password_hash) VALUES
        ('00000000-0000-0000-0000-000000000001', 'p@x.com', 'p', 'x'),
        ('00000000-0000-0000-0000-000000000002', 'q@x.com', 'q', 'x')"
U1=00000000-0000-0000-0000-000000000001
U2=00000000-0000-0000-0000-000000000002

n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi; }
new_session() {  # new_session USER -> "session_id access refresh"
  psqlq -d $db -c "SELECT session_id || ' ' || access_token || ' ' || refresh_token FROM aeauth.create_session('$1', device_name => md5(random()::text))"
}

# A listener: LISTEN, then a query every 0.1 s (psql prints notifications after each command).
mkfifo "$tmp/l"
psql -XAt -d $db <"$tmp/l" >"$tmp/notes" 2>&1 &
exec 7>"$tmp/l"
echo "LISTEN aeauth_session_revoked;" >&7
until [ "$(psqlq -d $db -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")" = 1 ]; do sleep 0.05; done
payloads() { echo "SELECT 'tick';" >&7; sleep 0.3; echo "SELECT 'tick';" >&7; sleep 0.2; sed -n 's/^Asynchronous notification "aeauth_session_revoked" with payload "\(.*\)" received from server process.*/\1/p' "$tmp/notes"; }
got_for() { payloads | grep -c "\"session_id\":\"$1\"" || true; }

read -r s1 a1 r1 <<<"$(new_session $U1)"
psqlq -d $db -c "SELECT aeauth.logout('$a1')" >/dev/null
check "logout sends a notification for its session" "$(got_for "$s1")" "1"
check "the payload is JSON with session_id and user_id" \
  "$(psqlq -d $db -c "SELECT p->>'session_id' = '$s1' AND p->>'user_id' = '$U1' FROM (SELECT '$(payloads | grep "$s1" | head -n1)'::jsonb p) x")" "t"

read -r s2 a2 r2 <<<"$(new_session $U1)"
psqlq -d $db -c "SELECT aeauth.revoke_session('$s2', 'admin')" >/dev/null
check "revoke_session notifies" "$(got_for "$s2")" "1"

read -r s3 a3 r3 <<<"$(new_session $U1)"
read -r s4 a4 r4 <<<"$(new_session $U1)"
psqlq -d $db -c "SELECT aeauth.revoke_user_sessions('$U1', '$s4')" >/dev/null
check "revoke_user_sessions notifies for each revoked session" "$(got_for "$s3")" "1"
check "and not for the excepted one" "$(got_for "$s4")" "0"

read -r s5 a5 r5 <<<"$(new_session $U2)"
psqlq -d $db -c "BEGIN" -c "SELECT aeauth.revoke_session('$s5')" -c "ROLLBACK" >/dev/null
check "a rolled-back revocation sends nothing" "$(got_for "$s5")" "0"
psqlq -d $db -c "UPDATE aeauth.users SET status = 'banned' WHERE id = '$U2'" >/dev/null
check "a status change notifies" "$(got_for "$s5")" "1"

psqlq -d $db -c "SELECT status FROM aeauth.refresh_session('$r4')" >/dev/null
psqlq -d $db -c "UPDATE aeauth.session_rotated_tokens SET rotated_at = rotated_at - interval '1 minute'"
check "refresh reuse: reused" "$(psqlq -d $db -c "SELECT status FROM aeauth.refresh_session('$r4')")" "reused"
check "refresh reuse notifies" "$(got_for "$s4")" "1"

psqlq -d $db -c "UPDATE aeauth.users SET status = 'active' WHERE id = '$U2'" >/dev/null
read -r s6 a6 r6 <<<"$(new_session $U2)"
psqlq -d postgres -c "ALTER DATABASE $db SET aeauth.max_sessions_per_user = 1" >/dev/null
read -r s7 a7 r7 <<<"$(new_session $U2)"
check "eviction by max_sessions_per_user notifies" "$(got_for "$s6")" "1"
exec 7>&-
wait

# current_user_id(): set by validate_session, gone at commit and at rollback.
out=$(psqlq -d $db <<SQL
BEGIN;
SELECT coalesce(aeauth.current_user_id()::text, 'null');
SELECT count(*) FROM aeauth.validate_session('$a7');
SELECT coalesce(aeauth.current_user_id()::text, 'null');
COMMIT;
SELECT coalesce(aeauth.current_user_id()::text, 'null');
BEGIN;
SELECT count(*) FROM aeauth.validate_session('$a7');
SELECT coalesce(aeauth.current_user_id()::text, 'null');
ROLLBACK;
SELECT coalesce(aeauth.current_user_id()::text, 'null');
SELECT count(*) FROM aeauth.validate_session('$a7');
SELECT coalesce(aeauth.current_user_id()::text, 'null');
SQL
)
check "current_user_id(): null, validated, user; null after commit; user, null after rollback; null in the next autocommit statement" \
  "$(echo $out)" "null 1 $U2 null 1 $U2 null 1 null"

# Row-level security on current_user_id(), the way a game table would use it.
out=$(psqlq -d $db <<SQL
CREATE TABLE inventory (owner uuid, item text);
INSERT INTO inventory VALUES ('$U1', 'sword'), ('$U2', 'shield');
CREATE ROLE aeauth_game_t;
SELECT aeauth.grant_app_access('aeauth_game_t');
GRANT SELECT ON inventory TO aeauth_game_t;
ALTER TABLE inventory ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON inventory USING (owner = aeauth.current_user_id());
SET ROLE aeauth_game_t;
BEGIN;
SELECT count(*) FROM aeauth.validate_session('$a7');
SELECT string_agg(item, ',') FROM inventory;
COMMIT;
SELECT count(*) FROM inventory;
RESET ROLE;
DROP TABLE inventory;
SELECT aeauth.revoke_app_access('aeauth_game_t');
DROP ROLE aeauth_game_t;
SQL
)
check "row-level security with current_user_id(): the player sees only their rows, nothing after commit" "$(echo $out)" "1 shield 0"
echo "1..$n"
