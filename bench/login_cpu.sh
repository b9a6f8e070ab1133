#!/usr/bin/env bash
# L1 by process: CPU per transaction of the backends and of every other process of the cluster
# (WAL writer, checkpointer, background writer, autovacuum), and WAL per transaction, for a
# successful login against one verify_password, U users and U sessions, C clients, three rounds.
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 U=1000000 C=2 T=12 bash bench/login_cpu.sh   (as root)
# An experiment beside the harness (bench/README.md "L1 after the write cases"), not part of it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"
install_packages
build_and_install
start_cluster synchronous_commit=off shared_buffers=4GB max_wal_size=16GB checkpoint_timeout=1h autovacuum_naptime=10s fsync=on full_page_writes=on
work=$(mktemp -d /tmp/aeauth-lcpu.XXXXXX); chmod 755 "$work"
trap 'rm -rf "$work"; stop_cluster' EXIT
U=${U:-1000000}
psql -qX -c "CREATE DATABASE bench"
psql -qX -d bench <<SQL
CREATE EXTENSION aeauth CASCADE;
ALTER DATABASE bench SET aeauth.max_failed_attempts = 1000;
CREATE TABLE bench_hash AS SELECT aeauth.hash_password('bench password') AS h;
INSERT INTO aeauth.users (id, email, username, password_hash)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g || '@x.com', 'u' || g, (SELECT h FROM bench_hash)
  FROM generate_series(1, $U) g;
SET session_replication_role = replica;
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, access_expires_at, expires_at, last_activity)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(1 + (g - 1) % $U), 12, '0'))::uuid,
       sha256(convert_to('aea_' || g, 'UTF8')), sha256(convert_to('aer_' || g, 'UTF8')),
       now() + interval '1 day', now() + interval '30 days', now() + interval '1 day'
  FROM generate_series(1, $U) g;
RESET session_replication_role;
VACUUM ANALYZE;
SQL
psql -qX -d bench -c "CREATE EXTENSION pg_prewarm" -c "SELECT count(pg_prewarm(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'aeauth' AND c.relkind IN ('r','i')" >/dev/null
psql -qX -c CHECKPOINT
printf "\\\\set u random(1, $U)\n\\\\set ip random(1, 16000000)\nSELECT status FROM aeauth.login('u' || :u, 'bench password', '10.0.0.0'::inet + :ip, 'bench-agent/1.0', 'desktop', 'bench');\n" > $work/login_ok.sql
echo "SELECT aeauth.verify_password('bench password', h) FROM bench_hash;" > $work/verify.sql
cpu() { # total utime+stime ticks of every postgres process, backends and others separately
  local b=0 o=0 p t
  local pm; pm=$(head -1 "$AEAUTH_PGDIR/data/postmaster.pid")
  for p in $pm $(pgrep -P $pm); do
    t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null) || continue
    if tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q "bench \[local\]"; then b=$((b + t)); else o=$((o + t)); fi
  done
  echo "$b $o"
}
C=${C:-2}; T=${T:-12}
for r in 1 2 3; do
  for s in login_ok verify; do
    ( pgbench -n -M prepared -c $C -j $C -T $T -f $work/$s.sql bench > $work/out 2>&1 & )
    sleep 2; read -r b0 o0 < <(cpu); w0=$(psql -qXAt -c "SELECT pg_current_wal_insert_lsn() - '0/0'"); sleep $((T - 4)); read -r b1 o1 < <(cpu); w1=$(psql -qXAt -c "SELECT pg_current_wal_insert_lsn() - '0/0'")
    sleep 3
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' $work/out)
    awk -v s=$s -v tps=$tps -v b=$((b1-b0)) -v o=$((o1-o0)) -v w=$(awk -v a=$w1 -v b=$w0 'BEGIN{print a-b}') -v d=$((T-4)) 'BEGIN { n = tps * d; printf "%-9s tps %6.2f  backend ms/xact %6.2f  other ms/xact %5.2f  WAL B/xact %7.0f\n", s, tps, b*10/n, o*10/n, w/n }'
  done
done
ps -o pid,cputime,args --ppid $(head -1 "$AEAUTH_PGDIR/data/postmaster.pid")
