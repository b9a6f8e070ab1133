#!/usr/bin/env bash
# Passwords and accounts benchmark (see bench/README.md, "## Passwords and accounts").
#  1. hash_password / verify_password through aeauth vs libsodium called directly
#     (bench/sodium_ref.c) with the same argon2id parameters, 2 and 8 clients, in alternating
#     short rounds; the median of the per-round ratios is reported.
#  2. request_password_reset for an unknown email vs a known one, 2 and 8 clients.
# Run as root (or with sudo), against an isolated PostgreSQL copy when others share the machine:
#   PG_CONFIG=/opt/pg-NAME/lib/postgresql/15/bin/pg_config AEAUTH_SKIP_APT=1 bash bench/password.sh
# SECONDS_PER_RUN (2) and ROUNDS (5) set the length.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

DUR=${SECONDS_PER_RUN:-2}
ROUNDS=${ROUNDS:-5}
M_KIB=19456   # aeauth.argon2_memory_kib default
T=2           # aeauth.argon2_iterations default

install_packages
build_and_install
start_cluster synchronous_commit=off
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_cluster' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$work/sodium_ref" bench/sodium_ref.c -lsodium
chmod 755 "$work" "$work/sodium_ref"

psql -qX -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE bench' >/dev/null
export PGDATABASE=bench
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION aeauth;
CREATE TABLE bench_hash AS SELECT aeauth.hash_password('bench password') AS h;
INSERT INTO aeauth.users (email, username, password_hash)
SELECT 'user' || g || '@example.com', 'user' || g, (SELECT h FROM bench_hash) FROM generate_series(1, 10000) g;
VACUUM ANALYZE;
SQL

cat > "$work/hash.sql" <<'SQL'
\set i random(1, 1000000000)
SELECT aeauth.hash_password('bench password ' || :i);
SQL
cat > "$work/verify.sql" <<'SQL'
SELECT aeauth.verify_password('bench password', h) FROM bench_hash;
SQL
cat > "$work/reset_known.sql" <<'SQL'
\set i random(1, 10000)
SELECT aeauth.request_password_reset('user' || :i || '@example.com');
SQL
cat > "$work/reset_unknown.sql" <<'SQL'
\set i random(1, 10000)
SELECT aeauth.request_password_reset('nobody' || :i || '@example.com');
SQL

tps() {   # tps SCRIPT CLIENTS
  pgbench -n -M prepared -f "$1" -c "$2" -j "$2" -T "$DUR" 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# compare LABEL CLIENTS CMD_A CMD_B: ROUNDS rounds of B then A back to back; prints the medians of
# A and B and the median of the per-round ratios A/B (drift and other load hit both sides alike).
compare() {
  local label=$1 c=$2 a b i
  : > "$work/a"; : > "$work/b"; : > "$work/r"
  for ((i = 0; i < ROUNDS; i++)); do
    b=$(eval "$4"); a=$(eval "$3")
    echo "$a" >> "$work/a"; echo "$b" >> "$work/b"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }' >> "$work/r"
  done
  printf '%-34s %8s %12s %12s %8s\n' "$label" "$c" "$(median < "$work/a")" "$(median < "$work/b")" "$(median < "$work/r")"
}

# The reference runs as a child of a backend (COPY FROM PROGRAM), so that it is scheduled in the
# same session as the backends: with the kernel's autogroup scheduling CPU is shared between
# sessions, and the calling shell's session may be crowded with other work on a shared machine.
ref() {   # ref hash|verify CLIENTS
  psql -qXAt -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE r (v float8)" \
    -c "COPY r FROM PROGRAM '$work/sodium_ref $1 $2 $DUR $M_KIB $T'" -c "SELECT v FROM r"
}
printf '\n%-34s %8s %12s %12s %8s\n' "case (median of $ROUNDS rounds)" clients "A/s" "B/s" "A/B"
for op in hash verify; do
  for c in 2 8; do
    compare "${op}_password: A aeauth, B libsodium" "$c" \
      "tps $work/$op.sql $c" "ref $op $c"
  done
done
for c in 2 8; do
  compare "reset: A unknown, B known email" "$c" "tps $work/reset_unknown.sql $c" "tps $work/reset_known.sql $c"
done
echo
echo "A/B = 1.000: same speed.  Targets: hash/verify within 5% (0.95-1.05), reset unknown/known within 10%."
