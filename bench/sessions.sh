#!/usr/bin/env bash
# Sessions benchmark (issue 5), on a throwaway cluster with synchronous_commit = off:
#   validate_session vs pgbench -S (builtin select-only) with 1 million live sessions;  target >= 0.85x
#   refresh_session  vs a single-row UPDATE by primary key (pgbench -N style);         target >= 0.5x
#   validate_session with 10 thousand vs 1 million sessions (flatness);                target <= 1.3x
# each at 2 and 8 clients, -M prepared, short runs, side by side in one run.  Prints ratios.
# Each pair runs BENCH_ROUNDS times interleaved (A B A B ...) and the ratio is of the summed
# throughputs, so that load from other work on a shared machine hits both sides alike.
# Run as root (or a user with sudo):  bash bench/sessions.sh   (BENCH_SECONDS=5, BENCH_ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
SESSIONS=${BENCH_SESSIONS:-1000000}

install_packages
build_and_install
start_cluster synchronous_commit=off shared_buffers=1GB max_wal_size=4GB checkpoint_timeout=30min
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"; stop_cluster' EXIT

# make_db NAME SESSIONS: aeauth with 1 session per ~10 users' worth: SESSIONS/10 users, 10 each.
# Token number g is 'aea_' || lpad(g, 42, 'A') || 'A' (a well-formed token; only its hash is
# stored, as create_session would).  last_activity is in the future so that the runs measure
# the read path: the once-a-minute last_activity write would otherwise hit every one of these
# uniformly random picks (a real player sends many requests a minute, so one write per minute
# per session is a small fraction of validations).
make_db() {
  log "creating $1 with $2 sessions"
  psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1"
  psql -qX -v ON_ERROR_STOP=1 -d "$1" <<SQL
CREATE EXTENSION aeauth CASCADE;
INSERT INTO aeauth.users (id, email, username, password_hash)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g || '@x.com', 'u' || g, 'x'
  FROM generate_series(1, greatest($2 / 10, 1)) g;
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash,
                                  access_expires_at, expires_at, last_activity)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(1 + (g - 1) % greatest($2 / 10, 1)), 12, '0'))::uuid,
       sha256(convert_to('aea_' || lpad(g::text, 42, 'A') || 'A', 'UTF8')),
       sha256(convert_to('aer_' || lpad(g::text, 42, 'A') || 'A', 'UTF8')),
       now() + interval '1 day', now() + interval '30 days', now() + interval '1 day'
  FROM generate_series(1, $2) g;
VACUUM ANALYZE;
SQL
}

make_db bench "$SESSIONS"
make_db bench_small 10000
log "pgbench -i -s 10 (1 million accounts)"
pgbench -i -q -s 10 bench >/dev/null 2>&1
psql -qX -d bench -c "VACUUM ANALYZE pgbench_accounts"
# Both sides start warm: every table and index of both databases in shared_buffers.
for db in bench bench_small; do
  psql -qX -v ON_ERROR_STOP=1 -d $db -c "CREATE EXTENSION pg_prewarm" \
    -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('aeauth', 'public') AND c.relkind IN ('r', 'i')" >/dev/null
done

psql -qX -d postgres -c "CHECKPOINT"

cat >"$work/validate.sql" <<'SQL'
\set i random(1, :n)
SELECT * FROM aeauth.validate_session('aea_' || lpad(:i::text, 42, 'A') || 'A');
SQL
# Each client refreshes its own session, carrying the new refresh token to the next call.
# (pgbench cannot test whether a variable is set: tok starts as 'none', the first call of
# client k refreshes the original token of session base+k+1; every run gets its own base, as
# presenting an already rotated original again would be reuse.)
cat >"$work/refresh.sql" <<'SQL'
SELECT refresh_token AS tok FROM aeauth.refresh_session(CASE WHEN :tok = 'none' THEN 'aer_' || lpad((:client_id + 1 + :base)::text, 42, 'A') || 'A' ELSE :tok END) \gset
SQL
cat >"$work/update.sql" <<'SQL'
\set aid random(1, 1000000)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL

tps() {  # tps DB CLIENTS pgbench-args...
  local db=$1 c=$2; shift 2
  pgbench -n -M prepared -c "$c" -j "$c" -T "$SECS" "$@" "$db" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

base=0
next_base() { base=$((base + 100)); }
# pair LABEL TARGET "A-args" "B-args": A/B ratio over ROUNDS interleaved runs.
pair() {
  local label=$1 target=$2 a=0 b=0 x k
  for k in $(seq 1 "$ROUNDS"); do
    x=$(eval "tps $3"); a=$(awk -v s="$a" -v x="$x" 'BEGIN { print s + x }')
    x=$(eval "tps $4"); b=$(awk -v s="$b" -v x="$x" 'BEGIN { print s + x }')
  done
  results+=("$label: $(ratio "$a" "$b")x  ($(ratio "$a" "$ROUNDS") / $(ratio "$b" "$ROUNDS") tps; target $target)")
}

# One discarded run of each side first: the first seconds after a bulk load pay for writeback
# and caches warming, and would otherwise count against whichever side runs first.
log "warm-up"
tps bench 2 -D n="$SESSIONS" -f "$work/validate.sql" >/dev/null
tps bench 2 -S >/dev/null
tps bench_small 2 -D n=10000 -f "$work/validate.sql" >/dev/null

results=()
for c in 2 8; do
  log "validate vs select-only, $c clients"
  pair "validate_session / pgbench -S, $c clients" ">= 0.85" \
    "bench $c -D n=$SESSIONS -f $work/validate.sql" "bench $c -S"
done
# Flatness before the refresh runs, whose writes (and the autovacuum they trigger) would
# weigh on the 1-million-session database only.
log "flatness: validate at 10 thousand vs $SESSIONS sessions, 2 clients"
pair "validate_session time, $SESSIONS vs 10000 sessions (tps 10k / tps big)" "<= 1.3" \
  "bench_small 2 -D n=10000 -f $work/validate.sql" "bench 2 -D n=$SESSIONS -f $work/validate.sql"

for c in 2 8; do
  log "refresh vs update, $c clients"
  a=0 b=0
  for k in $(seq 1 "$ROUNDS"); do
    next_base
    x=$(tps bench "$c" -D tok=none -D base="$base" -f "$work/refresh.sql"); a=$(awk -v s="$a" -v x="$x" 'BEGIN { print s + x }')
    x=$(tps bench $c -f "$work/update.sql"); b=$(awk -v s="$b" -v x="$x" 'BEGIN { print s + x }')
  done
  results+=("refresh_session / UPDATE by pk, $c clients: $(ratio "$a" "$b")x  ($(ratio "$a" "$ROUNDS") / $(ratio "$b" "$ROUNDS") tps; target >= 0.5)")
done
# The refresh runs must have rotated, not failed: every client's chain is still live.
results+=("refresh chains (one per client per run): $(psql -qXAt -d bench -c "SELECT count(*) FILTER (WHERE status = 'active') || ' active, ' || count(*) FILTER (WHERE status <> 'active') || ' not' FROM aeauth.user_sessions WHERE generation > 0"), of $((ROUNDS * 10))")

echo
echo "## Sessions benchmark ($(nproc) cores, $ROUNDS x ${SECS}s runs per side, synchronous_commit=off, -M prepared)"
printf '%s\n' "${results[@]}"
