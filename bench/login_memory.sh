#!/usr/bin/env bash
# L1 against argon2's memory: a successful login against one verify_password, calls in turn
# (bench/pair.c), at several aeauth.argon2_memory_kib values (t=2), U users per value, C clients,
# R rounds, SESSIONS_PER_USER live sessions per user beforehand (0; at the default
# aeauth.max_sessions_per_user, 10, every login also evicts the oldest).  Prints the ratio and
# login's time beyond the verification in ms.  What it shows
# (bench/README.md "L1: calls in turn"): the work a login does besides the hash costs about the
# same in ms while argon2's memory fits in the CPU caches, and several times more once argon2
# streams more memory than they hold, which evicts everything the login's statements then use.
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 MS="1024 4096 19456 65536" C=2 bash bench/login_memory.sh
# An experiment beside the harness, not part of it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"
install_packages
build_and_install
start_cluster synchronous_commit=off shared_buffers=1GB
work=$(mktemp -d /tmp/aeauth-lmem.XXXXXX); chmod 755 "$work"
trap 'rm -rf "$work"; stop_cluster' EXIT
build_pair "$work/pair"
U=${U:-10000} C=${C:-2} R=${R:-2} S=${S:-8} SPU=${SESSIONS_PER_USER:-0}
MS=${MS:-1024 4096 19456 65536}
psql -qX -c "CREATE DATABASE bench"
psql -qX -d bench -c "CREATE EXTENSION aeauth CASCADE" -c "SELECT count(*) FROM aeauth.run_maintenance()" >/dev/null
# each memory level's users hash at that level, so that no login rehashes
for m in $MS; do load_login_users bench "m${m}x" "$U" "$SPU" "$m"; done
psql -qX -d bench -c "VACUUM ANALYZE"
echo "| argon2 memory (KiB) | round | login ms | verify_password ms | ratio (+- s.e.) | login's own work (ms) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for r in $(seq "$R"); do
  for m in $MS; do
    out=$(l1_pair "$work/pair" bench "$C" "$S" "$U" "m${m}x" "$m")
    read -r ratio se _ am bm <<< "$out"
    awk -v m="$m" -v r="$r" -v a="$am" -v b="$bm" -v x="$ratio" -v e="$se" \
      'BEGIN { printf "| %s | %s | %.2f | %.2f | %.3f +- %.3f | %.2f |\n", m, r, a, b, x, e, a - b }'
  done
done
