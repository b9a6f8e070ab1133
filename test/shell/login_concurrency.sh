#!/usr/bin/env bash
# login under real concurrency: N connections released at the same instant (an advisory-lock
# barrier) try wrong passwords for one account; the counter moves by exactly N, or stops
# exactly at the lock.  A trusted device keeps working while 32 connections attack the account.
# And the documented caveat: a login inside a transaction that is rolled back counts nothing.
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
db=aeauth_login_conc
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
trap 'psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null' EXIT
export PGDATABASE=$db
psqlq -c "CREATE EXTENSION aeauth CASCADE" \
      -c "ALTER DATABASE $db SET aeauth.argon2_memory_kib = 256" \
      -c "ALTER DATABASE $db SET aeauth.argon2_iterations = 1"

n=0
check() {
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi
}

# barrier_run N SQL: N connections run SQL together; prints each one's output line.
barrier_run() {
  local count=$1 sql=$2 i out
  out=$(mktemp -d)
  psqlq -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(0.2)" \
        -c "DO \$\$ BEGIN WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted) < $count
                   LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$" >/dev/null &
  local holder=$!
  sleep 0.1
  for i in $(seq 1 "$count"); do
    psqlq -c "SELECT pg_advisory_lock_shared(4242)" -c "SELECT pg_advisory_unlock_shared(4242)" \
          -c "$sql" > "$out/$i" 2>&1 &
  done
  wait
  cat "$out"/* | grep -v '^$' | grep -v '^t$' || true
  rm -rf "$out"
  : "$holder"
}

echo "1..10"

for clients in 16 64; do
  psqlq -c "SELECT aeauth.register_user('victim$clients@example.com', 'victim$clients', 'the real password')" >/dev/null
  psqlq -c "ALTER DATABASE $db SET aeauth.max_failed_attempts = 1000" >/dev/null
  statuses=$(barrier_run "$clients" "SELECT status FROM aeauth.login('victim$clients', 'wrong password')" | sort | uniq -c | awk '{print $1" "$2}')
  check "$clients concurrent wrong passwords all answered invalid_credentials" "$statuses" "$clients invalid_credentials"
  check "$clients concurrent wrong passwords move the counter by exactly $clients" \
    "$(psqlq -c "SELECT failed_login_attempts FROM aeauth.users WHERE username = 'victim$clients'")" "$clients"
done

# With the default max_failed_attempts (5): 16 at once stop exactly at the lock.
psqlq -c "ALTER DATABASE $db RESET aeauth.max_failed_attempts" -c "UPDATE aeauth.users SET failed_login_attempts = 0 WHERE username = 'victim16'" >/dev/null
barrier_run 16 "SELECT status FROM aeauth.login('victim16', 'wrong password')" >/dev/null
check "16 concurrent wrong passwords stop exactly at the lock (5)" \
  "$(psqlq -c "SELECT failed_login_attempts || ' ' || (locked_until > now()) FROM aeauth.users WHERE username = 'victim16'")" "5 true"
check "exactly one lock event" \
  "$(psqlq -c "SELECT count(*) FROM aeauth.user_audit_log a JOIN aeauth.users u ON u.id = a.user_id WHERE u.username = 'victim16' AND a.event_type = 'account_locked'")" "1"

# A trusted device under attack: 32 attackers at once, then the player's own device.
psqlq -c "SELECT aeauth.register_user('player@example.com', 'player', 'player password')" >/dev/null
check "the player logs in from their console" \
  "$(psqlq -c "SELECT status FROM aeauth.login('player', 'player password', '198.51.100.5', NULL, 'console', 'living room', 'console-1')")" "ok"
barrier_run 32 "SELECT status FROM aeauth.login('player', 'guess', ('203.0.113.' || (pg_backend_pid() % 200))::inet)" >/dev/null
check "while 32 attackers lock the account, the player's trusted device still logs in" \
  "$(psqlq -c "SELECT (SELECT locked_until > now() FROM aeauth.users WHERE username = 'player') || ' ' || (SELECT status FROM aeauth.login('player', 'player password', '198.51.100.77', NULL, 'console', 'living room', 'console-1'))")" "true ok"

# Documented: login must run in its own transaction.  Rolled back, it leaves no trace.
before=$(psqlq -c "SELECT failed_login_attempts || '/' || (SELECT count(*) FROM aeauth.user_audit_log) FROM aeauth.users WHERE username = 'victim64'")
psqlq -c "BEGIN" -c "SELECT status FROM aeauth.login('victim64', 'wrong password')" -c "ROLLBACK" >/dev/null
check "a login in a rolled-back transaction counts nothing and audits nothing (run login in its own transaction)" \
  "$(psqlq -c "SELECT failed_login_attempts || '/' || (SELECT count(*) FROM aeauth.user_audit_log) FROM aeauth.users WHERE username = 'victim64'")" "$before"

# Settings defined by any part of aeauth keep a per-database value (the prefix is reserved only
# after every part has defined its settings).
psqlq -c "ALTER DATABASE $db SET aeauth.ip_window = '7min'" -c "ALTER DATABASE $db SET aeauth.ip_max_failures = 3" >/dev/null
check "ALTER DATABASE values of the login settings reach new connections" \
  "$(psqlq -c "SELECT aeauth.library_version() IS NOT NULL" -c "SELECT current_setting('aeauth.ip_window') || ' ' || current_setting('aeauth.ip_max_failures')" | tail -n1)" "7min 3"
