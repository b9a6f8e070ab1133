#!/usr/bin/env bash
# Where a successful login's time goes: aeauth built with -DAEAUTH_PHASE_TIMING
# (src/phase_timing.h), a login against one verify_password with the calls in turn
# (bench/pair.c, as the harness's L1), and each backend's per-phase averages from the server log.
# U users (one session each, as at full scale), C clients, R rounds of S seconds, argon2 memory
# M KiB (the default).  Prints per round the pair's ratio and each phase in ms per login.
# HELPER: the aeauth.hash_helper values to run in turn within each round (default "on", the
# default setting; HELPER="off on" compares argon2 in the backend with argon2 in the helper).
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 C=2 bash bench/login_phases.sh
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 C=2 R=3 HELPER="off on" bash bench/login_phases.sh
# An experiment beside the harness, not part of it; it installs the timing build while it runs
# and puts the normal build back when it ends.  bench/README.md "L1: where the time goes".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"
install_packages
AEAUTH_MAKEFLAGS="COPT=-DAEAUTH_PHASE_TIMING" build_and_install
start_cluster synchronous_commit=off shared_buffers=1GB
work=$(mktemp -d /tmp/aeauth-phases.XXXXXX); chmod 755 "$work"
trap 'rm -rf "$work"; stop_cluster; AEAUTH_MAKEFLAGS= build_and_install' EXIT
build_pair "$work/pair"
U=${U:-100000} C=${C:-2} R=${R:-2} S=${S:-15} M=${M:-19456}
psql -qX -c "CREATE DATABASE bench"
# run_maintenance() makes the audit partitions, so that audit events take the direct way as in
# the harness (without them they go the SQL way into the default partition).
psql -qX -d bench -c "CREATE EXTENSION aeauth CASCADE" -c "SELECT count(*) FROM aeauth.run_maintenance()" >/dev/null
load_login_users bench u "$U" 1 "$M"
psql -qX -d bench -c "VACUUM ANALYZE" >/dev/null
log="$AEAUTH_PGDIR/server.log"
for r in $(seq "$R"); do for mode in ${HELPER:-on}; do
  start=$(wc -l < "$log")
  out=$(L1_PGOPTIONS="-c aeauth.hash_helper=$mode" l1_pair "$work/pair" bench "$C" "$S" "$U" u "$M")
  read -r ratio se _ am bm <<< "$out"
  sleep 1   # the backends write their line as they exit
  echo "round $r, hash_helper $mode: login $am ms, verify_password $bm ms, ratio $ratio +- $se (login's own work $(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.2f", a - b }') ms)"
  # weighted by each backend's logins; everything but the hash, and the sum of the phases
  tail -n +"$((start + 1))" "$log" | grep -o 'aeauth login phases: .*' | awk '
    { n = 0; for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "logins") { n = kv[2]; tot += n }
                                         else { ms[kv[1]] += n * kv[2]; if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++k] = kv[1] } } } }
    END { if (tot == 0) { print "  no phase lines (was the timing build installed?)"; exit 1 }
          printf "  | phase | ms per login |\n  | --- | ---: |\n"
          for (i = 1; i <= k; i++) { v = ms[order[i]] / tot; printf "  | %s | %.3f |\n", order[i], v; if (order[i] != "verify") own += v }
          printf "  | all but verify | %.3f |\n  (%d logins)\n", own, tot }'
done; done
