#!/usr/bin/env bash
# The whole aeauth test suite, from nothing, on a throwaway cluster:
#   installs the packages it needs, builds with -Werror, installs, starts a private cluster,
#   runs pg_regress (test/sql -> expected/), the shell TAP tests (test/shell) and the pgTAP
#   suite (test/t) with pg_prove, and ends with one line "N passed, N failed".
# Run as root, or as a user with sudo.  Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

install_packages
build_and_install
start_cluster

passed=0 failed=0

# --- pg_regress: the SQL surface -------------------------------------------------------------
log "pg_regress"
set +e
make -s PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee /tmp/aeauth-regress.$$
regress_rc=${PIPESTATUS[0]}
set -e
r_ok=$(grep -Ec '^(test| ) .* \.\.\. ok' /tmp/aeauth-regress.$$ || true)
r_bad=$(grep -Ec '\.\.\. FAILED' /tmp/aeauth-regress.$$ || true)
rm -f /tmp/aeauth-regress.$$
if [ "$regress_rc" -ne 0 ]; then
  [ -f regression.diffs ] && cat regression.diffs
  [ "$r_bad" -gt 0 ] || r_bad=1
fi
passed=$((passed + r_ok)); failed=$((failed + r_bad))

# --- TAP: shell tests (prove) and pgTAP (pg_prove) -----------------------------------------
# Each file runs on its own so that its count is known; the database for pgTAP files is made
# fresh for each file, so no file can leak state into the next.
run_tap() {   # run_tap LABEL COMMAND...
  local out rc tests bad
  set +e
  out=$("${@:2}" 2>&1); rc=$?
  set -e
  printf '%s\n' "$out"
  tests=$(printf '%s\n' "$out" | sed -n 's/.*Tests=\([0-9]*\).*/\1/p' | tail -n1)
  bad=$(printf '%s\n' "$out" | sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' | awk '{s+=$1} END {print s+0}')
  tests=${tests:-0}
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  if [ "$tests" -eq 0 ] && [ "$rc" -eq 0 ]; then bad=1; log "$1 ran no test"; fi
  passed=$((passed + tests - (bad < tests ? bad : tests))); failed=$((failed + bad))
}

fresh_db() {   # fresh_db NAME: an empty database with pgTAP, dblink and aeauth installed
  psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" 2>/dev/null -c "CREATE DATABASE $1"
  psql -qX -v ON_ERROR_STOP=1 -d "$1" -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION dblink' \
    -c 'CREATE EXTENSION aeauth CASCADE'
}

shopt -s nullglob
for f in test/shell/*.sh; do
  log "prove $f"
  run_tap "$f" prove --timer --exec bash "$f"
done
for f in test/t/*.sql; do
  log "pg_prove $f"
  fresh_db aeauth_tap
  run_tap "$f" pg_prove --timer -d aeauth_tap "$f"
done

# --- fuzzing: a short libFuzzer run of the pure parsers (fuzz/run.sh; FUZZ_RUNS=0 skips) ------
if [ "${FUZZ_RUNS:-200000}" != 0 ]; then
  log "prove fuzz/run.sh"
  run_tap fuzz/run.sh prove --exec bash fuzz/run.sh
fi

# --- no backend died: the server log of the whole run holds no crash -------------------------
log "server log: no crashed backend"
if grep -Eq 'terminated by signal|server process .* (was terminated|exited with exit code)|ERROR:  AddressSanitizer|runtime error:' \
     "$AEAUTH_PGDIR/server.log"; then
  echo "not ok - server log has a crashed backend:"
  grep -E 'terminated by signal|server process|AddressSanitizer|runtime error:' "$AEAUTH_PGDIR/server.log" | head -n 20
  failed=$((failed + 1))
else
  echo "ok - server log: no backend terminated by a signal or exited abnormally"
  passed=$((passed + 1))
fi

echo "aeauth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
