#!/usr/bin/env bash
# Audit log benchmark (issue 3): log_user_event against a bare INSERT of the same row into a
# table with only a primary key, and against the seed's design (bench/seed_audit.sql), in one
# run on a throwaway cluster with synchronous_commit=off; WAL bytes per event; and the time to
# drop a month of expired events (1M rows) while log_user_event runs.  About 5 minutes.
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 bash bench/audit.sh
# BENCH_SECONDS (10) per pgbench run, BENCH_ROUNDS (3) interleaved rounds, BENCH_DROP_ROWS (1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

install_packages
build_and_install
start_cluster synchronous_commit=off shared_buffers=512MB max_wal_size=4GB checkpoint_timeout=30min
T=${BENCH_SECONDS:-10}
DROP_ROWS=${BENCH_DROP_ROWS:-1000000}
USERS=10000
work=$(mktemp -d)
chmod 755 "$work"
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 -d bench "$@"; }

psql -qX -d postgres -c 'CREATE DATABASE bench'
psqlq -c 'CREATE EXTENSION aeauth' -c 'SELECT count(*) FROM aeauth.run_maintenance()' >/dev/null
psqlq -f bench/seed_audit.sql
# The bare reference: the same columns, only a primary key.
psqlq <<SQL
CREATE TABLE public.bare_audit (LIKE aeauth.user_audit_log INCLUDING DEFAULTS);
ALTER TABLE public.bare_audit ADD PRIMARY KEY (id);
INSERT INTO seed.users (id, username, email)
SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'u' || g, 'u' || g || '@x'
  FROM generate_series(1, $USERS) g;
SQL

# The same event in all three: a user out of $USERS, an IP, a user agent, small metadata.
common='\set u random(1, '$USERS')'
args="('00000000-0000-0000-0000-' || lpad(:u::text, 12, '0'))::uuid, NULL, 'login', 'authentication', 'login', 'success', '10.1.2.3'::inet, 'bench-agent/1.0', '{\"game\": \"x\", \"attempt\": 1}'::jsonb, 'info'"
printf '%s\nSELECT aeauth.log_user_event(%s);\n' "$common" "$args" > "$work/aeauth.sql"
printf '%s\nSELECT seed.log_user_event(%s);\n' "$common" "$args" > "$work/seed.sql"
printf '%s\nINSERT INTO public.bare_audit (user_id, session_id, event_type, event_category, action, status, ip_address, user_agent, metadata, severity, expires_at) VALUES (%s, now() + interval '"'"'90 days'"'"');\n' \
  "$common" "$args" > "$work/bare.sql"

tps() {   # tps SCRIPT CLIENTS
  pgbench -n -M prepared -c "$2" -j "$2" -T "$T" -f "$work/$1.sql" bench 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
wal_per_event() {   # wal_per_event SCRIPT: WAL bytes per event over 5000 events from one client
  local a b
  a=$(psqlq -c 'SELECT pg_current_wal_insert_lsn()')
  pgbench -n -M prepared -c 1 -t 5000 -f "$work/$1.sql" bench >/dev/null 2>&1
  b=$(psqlq -c 'SELECT pg_current_wal_insert_lsn()')
  psqlq -c "SELECT round(pg_wal_lsn_diff('$b', '$a') / 5000)"
}

log "warm-up"
for s in bare aeauth seed; do pgbench -n -M prepared -c 2 -T 3 -f "$work/$s.sql" bench >/dev/null 2>&1; done

# Interleaved rounds, median per cell: the machine is shared, so a neighbour's burst hits all
# three designs alike instead of one.
ROUNDS=${BENCH_ROUNDS:-3}
declare -A ALL
for r in $(seq "$ROUNDS"); do
  for c in 2 8; do
    for s in bare aeauth seed; do
      log "round $r: pgbench $s, $c clients, ${T}s"
      ALL[$s.$c]="${ALL[$s.$c]:-} $(tps "$s" "$c")"
    done
  done
done
median() { printf '%s\n' $1 | sort -g | awk '{v[NR] = $1} END {printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A R
for k in "${!ALL[@]}"; do R[$k]=$(median "${ALL[$k]}"); done
declare -A W
for s in bare aeauth seed; do W[$s]=$(wal_per_event "$s"); done

# A month of expired events: a partition of a past expiry month filled with DROP_ROWS rows.
log "filling an expired month with $DROP_ROWS rows"
psqlq <<SQL >/dev/null
SELECT aeauth.audit_create_partition((now() - interval '2 months')::date);
INSERT INTO aeauth.user_audit_log (id, user_id, event_type, event_category, action, status,
                                   ip_address, user_agent, metadata, created_at, expires_at)
SELECT gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad((g % $USERS)::text, 12, '0'))::uuid,
       'login', 'authentication', 'login', 'success', '10.1.2.3', 'bench-agent/1.0',
       '{"game": "x"}', now() - interval '150 days', date_trunc('month', now() - interval '2 months')
  FROM generate_series(1, $DROP_ROWS) g;
CHECKPOINT;
SQL
expired=$(psqlq -c "SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at <= now()")
log "dropping it while 4 clients call log_user_event"
pgbench -n -M prepared -c 4 -j 4 -T 8 -P 1 -f "$work/aeauth.sql" bench >"$work/during.out" 2>&1 &
pgb=$!
sleep 3
drop_ms=$(psqlq -c '\timing on' -c 'SELECT * FROM aeauth.run_maintenance()' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
wait $pgb
left=$(psqlq -c "SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at <= now()")
# aggregate log: interval_start n sum_lat sum_lat2 min_lat max_lat (microseconds)
# -P 1 progress lines: "progress: 4.0 s, 9123.4 tps, lat 0.438 ms stddev 0.211"; the worst second.
worst_tps=$(sed -n 's/^progress: .* s, \([0-9.]*\) tps.*/\1/p' "$work/during.out" | sort -g | head -n1)
worst_lat=$(sed -n 's/^progress: .* lat \([0-9.]*\) ms.*/\1/p' "$work/during.out" | sort -g | tail -n1)
during_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/during.out")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "## Audit log: $(date -u +%Y-%m-%d), $(nproc) cores, synchronous_commit=off, pgbench -M prepared, median of $ROUNDS interleaved ${T}s runs"
echo "| clients | bare INSERT tps | log_user_event tps | seed log_user_event tps | aeauth/bare | aeauth/seed | bare/seed |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for c in 2 8; do
  echo "| $c | ${R[bare.$c]} | ${R[aeauth.$c]} | ${R[seed.$c]} | $(ratio "${R[aeauth.$c]}" "${R[bare.$c]}") | $(ratio "${R[aeauth.$c]}" "${R[seed.$c]}") | $(ratio "${R[bare.$c]}" "${R[seed.$c]}") |"
done
echo
echo "WAL bytes per event: bare ${W[bare]}, log_user_event ${W[aeauth]}, seed ${W[seed]}"
echo "Expired month: $expired expired rows; run_maintenance() took ${drop_ms} ms; expired rows left: $left"
echo "log_user_event meanwhile (4 clients, 8 s): $during_tps tps overall; worst second $worst_tps tps, worst per-second mean latency $worst_lat ms"
rm -rf "$work"
