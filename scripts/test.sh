#!/usr/bin/env bash
# The whole aeauth test suite, from nothing, on a throwaway cluster:
#   installs the packages it needs, builds with -Werror, installs, starts a private cluster,
#   runs pg_regress (test/sql -> expected/), the shell TAP tests (test/shell) and the pgTAP
#   suite (test/t) with pg_prove, a short fuzz run (fuzz/run.sh), a check of the server log for
#   crashed backends, and ends with one line "N passed, N failed".
# Run as root, or as a user with sudo.  Exit status is non-zero on any failure.
#   --sanitize  build aeauth.so with -fsanitize=undefined and run everything; any report fails.
#   --sanitize=address  the same with -fsanitize=address,undefined against servers started with
#               gcc's libasan preloaded, followed by test/asan/swift_demangle_stub.c (without it
#               the preloaded runtime deadlocks in glibc's locale lock before main: README
#               "Sanitizers and valgrind").
#   --valgrind  run the server under valgrind memcheck (--trace-children=yes, except the password
#               helper aeauth_hasher, which is not PostgreSQL code; suppressions:
#               test/valgrind/postgresql-15.supp, PostgreSQL 15's own src/tools/valgrind.supp, and
#               test/valgrind/aeauth.supp, plus $VALGRIND_SUPP if set); any valgrind error fails
#               the run.  Slow: README "Sanitizers and valgrind" gives the documented selection.
#   AEAUTH_TESTS=<regex>  run only the shell and pgTAP files whose path matches.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

case "${1:-}" in
  --sanitize|--sanitize=address)
    AEAUTH_SAN_DIR=$(mktemp -d /tmp/aeauth-san.XXXXXX)
    chmod 1777 "$AEAUTH_SAN_DIR"
    # Reports go to files (one per process), counted at the end.  PostgreSQL's memory contexts
    # look like leaks to LeakSanitizer: leak detection off.
    san_opts="detect_leaks=0:log_path=$AEAUTH_SAN_DIR/report:print_stacktrace=1"
    if [ "$1" = "--sanitize=address" ]; then
      # ASan must be the first library of the server process: preload gcc's libasan, then the
      # stub that keeps its lazy initialisation from deadlocking in glibc's locale lock
      # (test/asan/swift_demangle_stub.c says why).  A 32 MB quarantine per process instead of
      # 256 MB: a run has up to ~70 backends at once.
      gcc -O2 -Wall -Wextra -Werror -fPIC -shared -nostdlib -o "$AEAUTH_SAN_DIR/swift_demangle_stub.so" \
        test/asan/swift_demangle_stub.c
      chmod 755 "$AEAUTH_SAN_DIR/swift_demangle_stub.so"
      export SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer"
      export AEAUTH_SERVER_ENV="LD_PRELOAD=$(gcc -print-file-name=libasan.so):$AEAUTH_SAN_DIR/swift_demangle_stub.so ASAN_OPTIONS=$san_opts:quarantine_size_mb=32 UBSAN_OPTIONS=$san_opts"
    else
      # UndefinedBehaviorSanitizer needs no preload: libubsan comes in with aeauth.so.
      export SANITIZE="-fsanitize=undefined -fno-omit-frame-pointer"
      export AEAUTH_SERVER_ENV="UBSAN_OPTIONS=$san_opts"
    fi
    log "sanitizers on ($SANITIZE): reports in $AEAUTH_SAN_DIR"
    ;;
esac

if [ "${1:-}" = "--valgrind" ]; then
  pg_setup_paths
  AEAUTH_VG_DIR=$(mktemp -d /tmp/aeauth-vg.XXXXXX)
  chmod 1777 "$AEAUTH_VG_DIR"
  supp="--suppressions=$PWD/test/valgrind/postgresql-15.supp --suppressions=$PWD/test/valgrind/aeauth.supp"
  if [ -n "${VALGRIND_SUPP:-}" ]; then supp="$supp --suppressions=$VALGRIND_SUPP"; fi
  cat >"$AEAUTH_VG_DIR/postgres" <<WRAPPER
#!/bin/sh
exec valgrind --quiet --trace-children=yes --trace-children-skip='*/aeauth_hasher' --track-origins=yes --read-var-info=no \\
  --num-callers=30 $supp --log-file=$AEAUTH_VG_DIR/vg.%p.log "$PGBIN/postgres" "\$@"
WRAPPER
  chmod 755 "$AEAUTH_VG_DIR/postgres"
  export AEAUTH_PG_CTL_OPTS="-p $AEAUTH_VG_DIR/postgres -t 900"
  log "valgrind on: logs in $AEAUTH_VG_DIR"
fi

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
  [[ "$f" =~ ${AEAUTH_TESTS:-.} ]] || continue
  log "prove $f"
  run_tap "$f" prove --timer --exec bash "$f"
done
for f in test/t/*.sql; do
  [[ "$f" =~ ${AEAUTH_TESTS:-.} ]] || continue
  log "pg_prove $f"
  fresh_db aeauth_tap
  run_tap "$f" pg_prove --timer -d aeauth_tap "$f"
done

# --- fuzzing: a short libFuzzer run of the pure parsers (fuzz/run.sh; FUZZ_RUNS=0 skips) ------
if [ "${FUZZ_RUNS:-200000}" != 0 ]; then
  log "prove fuzz/run.sh"
  run_tap fuzz/run.sh prove --exec bash fuzz/run.sh
fi

# --- checks that add one TAP line each to the totals ----------------------------------------
tap_check() {   # tap_check PROBLEMS DESCRIPTION [COMMAND...]: ok when PROBLEMS is 0, else show COMMAND
  if [ "$1" -eq 0 ]; then
    echo "ok - $2"; passed=$((passed + 1))
  else
    echo "not ok - $2: $1 found"; "${@:3}"; failed=$((failed + 1))
  fi
}

# No backend died: the server log of the whole run holds no crash.
log "server log: no crashed backend"
crash_re='terminated by signal|server process .* (was terminated|exited with exit code)|AddressSanitizer|runtime error:'
tap_check "$(grep -Ec "$crash_re" "$AEAUTH_PGDIR/server.log" || true)" \
  "server log: no backend terminated by a signal or exited abnormally" \
  grep -E "$crash_re" "$AEAUTH_PGDIR/server.log"

if [ -n "${AEAUTH_SAN_DIR:-}" ]; then
  log "sanitizer reports"
  stop_cluster   # a report written at exit is counted too
  tap_check "$(find "$AEAUTH_SAN_DIR" -name 'report*' | wc -l)" "sanitizers ($SANITIZE): no report" \
    find "$AEAUTH_SAN_DIR" -name 'report*' -exec head -n 60 {} \;
fi

if [ -n "${AEAUTH_VG_DIR:-}" ]; then
  log "valgrind reports"
  stop_cluster
  tap_check "$(find "$AEAUTH_VG_DIR" -name 'vg.*.log' -size +0 | wc -l)" \
    "valgrind memcheck: no error in $(find "$AEAUTH_VG_DIR" -name 'vg.*.log' | wc -l) server processes" \
    find "$AEAUTH_VG_DIR" -name 'vg.*.log' -size +0 -exec head -n 40 {} \;
fi

echo "aeauth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
