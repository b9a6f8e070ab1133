#!/usr/bin/env bash
# aeauth performance harness: `make bench` (see bench/README.md).  Builds and installs aeauth
# (PG_CONFIG), starts its own throwaway cluster with the settings below, loads data set-wise in
# SQL, runs every benchmark side by side with its reference in the same run (pgbench custom
# scripts, -M prepared, 2 and 8 clients, a warm-up run, BENCH_ROUNDS interleaved runs each,
# median and min-max), measures durable cost (WAL, index bytes), backend memory during logins and
# growth, and prints ONE table: case, aeauth figure, reference figure, ratio, target, pass/fail.
#
#   PG_CONFIG=/opt/pg-x/lib/postgresql/15/bin/pg_config AEAUTH_SKIP_APT=1 bash bench/run.sh
#   BENCH_SCALE=small ... (10 thousand users/sessions, 100 thousand audit rows: a quick check)
#
# Settings (environment): BENCH_SCALE full|small, BENCH_SECONDS (5) per pgbench run,
# BENCH_ROUNDS (3), BENCH_PAIR_RUNS (3) and BENCH_PAIR_SECONDS (10) for the P1 and L1 cases,
# BENCH_WARM_SECONDS (leading seconds of each validate run left out: 2 with huge
# pages, 10 without), BENCH_HUGE_PAGES (on|off),
# BENCH_ONLY (space-separated groups: sessions audit password login durable
# memory growth; default all), BENCH_CLIENTS ("2 8"), BENCH_SHARED_BUFFERS, BENCH_LEVELS, and for
# experiments BENCH_USERS, BENCH_SESSIONS, BENCH_AUDIT, BENCH_DROP_ROWS (override the scale's).
# bench/audit.sh, bench/sessions.sh and bench/password.sh run this harness with one group.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

SCALE=${BENCH_SCALE:-full}
T=${BENCH_SECONDS:-5}
TRUN=$T
TW=$(( T < 2 ? T : 2 ))   # warm-up run length
ROUNDS=${BENCH_ROUNDS:-3}
PAIR_RUNS=${BENCH_PAIR_RUNS:-3}        # the P1 and L1 cases: calls in turn (pair_case)
PAIR_T=${BENCH_PAIR_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-2 8}
ONLY=${BENCH_ONLY:-sessions audit password login durable memory growth}
M_KIB=19456   # aeauth.argon2_memory_kib default: login, verify and hash cases run at the defaults
ITER=2        # aeauth.argon2_iterations default
case $SCALE in
  full)  USERS=1000000 SESSIONS=1000000 AUDIT=10000000 DROP_ROWS=1000000
         LEVELS="10000 100000 1000000 10000000" WAL_EVENTS=50000 SB=${BENCH_SHARED_BUFFERS:-8GB} ;;
  small) USERS=10000 SESSIONS=10000 AUDIT=100000 DROP_ROWS=100000
         LEVELS="10000 100000 1000000" WAL_EVENTS=20000 SB=${BENCH_SHARED_BUFFERS:-1GB} ;;
  *) echo "BENCH_SCALE must be full or small" >&2; exit 2 ;;
esac
LEVELS=${BENCH_LEVELS:-$LEVELS}
# Partial scales for experiments (the table's targets are for the scales above).
USERS=${BENCH_USERS:-$USERS} SESSIONS=${BENCH_SESSIONS:-$SESSIONS} AUDIT=${BENCH_AUDIT:-$AUDIT}
DROP_ROWS=${BENCH_DROP_ROWS:-$DROP_ROWS}
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
T0=$(date +%s)
log() { printf '>>> [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }   # with the elapsed time

install_packages
build_and_install
# The cluster: durable settings as in production (fsync, full_page_writes on: the "on" figures
# must pay a real flush); each pgbench run chooses synchronous_commit through PGOPTIONS; buffers
# hold the working set; no checkpoint inside a run if it can be helped.
CLUSTER_SETTINGS=(fsync=on full_page_writes=on synchronous_commit=off shared_buffers="$SB"
  max_wal_size=16GB checkpoint_timeout=1h maintenance_work_mem=512MB work_mem=64MB
  autovacuum_naptime=10s max_connections=120)
# Huge pages (BENCH_HUGE_PAGES: on, the default, or off).  Without them every new backend takes
# one page fault per 4 kB page of shared memory it touches, so a fresh pgbench run at 10 million
# sessions measures page faults (bench/README.md "1.6 sessions"; `vm.nr_hugepages` is 0 on the
# development machine).  The harness reserves what its own cluster needs on top of what is
# reserved already (the server's shared_memory_size_in_huge_pages for these settings, asked of
# a scratch data directory), starts with huge_pages=on and gives the pages back on exit.  When
# the kernel cannot supply them (memory too fragmented, not root), it says so and falls back to
# huge_pages=try, which is what the figures before 1.7 were measured with.
HUGE=${BENCH_HUGE_PAGES:-on}
HP_BEFORE=""
HP_NOTE="huge pages: off (BENCH_HUGE_PAGES=off)"
restore_hugepages() {
  if [ -n "$HP_BEFORE" ]; then
    echo "$HP_BEFORE" > /proc/sys/vm/nr_hugepages || log "could not restore vm.nr_hugepages to $HP_BEFORE"
    HP_BEFORE=""
  fi
}
reserve_hugepages() {   # sets HUGE to on (reserved) or try (fallback), HP_NOTE to what happened
  local scratch need have free s
  local -a opts=()
  pg_setup_paths
  scratch=$(mktemp -d /tmp/aeauth-hp.XXXXXX)
  chown postgres: "$scratch"
  for s in "${CLUSTER_SETTINGS[@]}"; do opts+=(-c "$s"); done
  need=$(runuser -u postgres -- "$PGBIN/initdb" -D "$scratch/data" -A trust --no-sync >/dev/null 2>&1 &&
         runuser -u postgres -- "$PGBIN/postgres" -D "$scratch/data" "${opts[@]}" -c huge_pages=on \
           -C shared_memory_size_in_huge_pages 2>/dev/null) || need=""
  rm -rf "$scratch"
  have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null) || have=""
  if [ -z "$need" ] || [ "$need" -le 0 ] 2>/dev/null || [ -z "$have" ]; then
    HUGE=try HP_NOTE="huge pages: could not size or read the reservation; huge_pages=try (4 kB pages here)"
    log "$HP_NOTE"; return 0
  fi
  HP_BEFORE=$have
  trap restore_hugepages EXIT
  echo $(( have + need )) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
  if [ "${free:-0}" -lt "$need" ]; then
    restore_hugepages
    HUGE=try HP_NOTE="huge pages: the kernel gave ${free:-0} of the $need 2 MB pages asked for; huge_pages=try (4 kB pages here)"
    log "$HP_NOTE"; return 0
  fi
  HP_NOTE="huge pages: on ($need pages of 2 MB reserved for the run, vm.nr_hugepages $have -> $(( have + need )) -> $have)"
  log "$HP_NOTE"
}
[ "$HUGE" = off ] || reserve_hugepages
# Validate cases: seconds of each run left out (see pgbw).  With huge pages a fresh backend maps
# the whole working set with a few thousand faults and runs at its steady rate within the first
# second or two (per-second figures at 10 million sessions, bench/README.md "1.7 sessions");
# with 4 kB pages it needed about 10 s at a million sessions.
if [ "$HUGE" = on ]; then WARM=${BENCH_WARM_SECONDS:-2}; else WARM=${BENCH_WARM_SECONDS:-10}; fi
start_cluster "${CLUSTER_SETTINGS[@]}" huge_pages="$HUGE"
work=$(mktemp -d /tmp/aeauth-bench.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"; stop_cluster; restore_hugepages' EXIT
cut -d' ' -f1 /proc/loadavg > "$work/load"
build_pair "$work/pair"   # the P1 and L1 cases' client
# libsodium from a bare C function in a backend (bench/sodium_fn.c): the P1 cases' third side
gcc -O2 -fPIC -shared -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
  -I"$("$PG_CONFIG" --includedir-server)" -o "$work/sodium_fn.so" bench/sodium_fn.c -lsodium
RESULTS=$work/results.tsv   # id, case, clients, aeauth, reference, ratio, target, verdict
: > "$RESULTS"
NOTES=("$HP_NOTE")

q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$@"; }   # q DB [psql args]
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ratio_exact() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.6f\n", a / b }'; }
num() { awk -v a="$1" 'BEGIN { if (a >= 100) printf "%.0f", a; else printf "%.3g", a }'; }
# median / min-max of numbers on stdin
stats() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'; }
# verdict RATIO TARGET: TARGET is ">=x", "<=x", "a-b" or "info"
verdict() {
  awk -v r="$1" -v t="$2" 'BEGIN {
    if (r == "n/a" || r + 0 == 0) { print "ERROR"; exit }
    if (t == "info") { print "-"; exit }
    if (substr(t, 1, 2) == ">=") ok = (r + 0 >= substr(t, 3) + 0)
    else if (substr(t, 1, 2) == "<=") ok = (r + 0 <= substr(t, 3) + 0)
    else { split(t, b, "-"); ok = (r + 0 >= b[1] + 0 && r + 0 <= b[2] + 0) }
    print ok ? "PASS" : "FAIL" }'
}
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; }

# ---- sides: each prints one throughput figure (operations per second) ------------------------
SYNC=off
RUN=0   # incremented before every run (the refresh chains take a fresh base from it)
pgb() {   # pgb CLIENTS DB [pgbench args]: tps of one T-second run
  local c=$1 db=$2; shift 2
  local out x
  out=$(PGOPTIONS="-c synchronous_commit=$SYNC" pgbench -n -M prepared -c "$c" -j "$c" -T "$T" "$@" "$db" 2>&1) || true
  x=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  if [ -z "$x" ] || printf '%s\n' "$out" | grep -q 'error:'; then
    log "pgbench $* failed:"; printf '%s\n' "$out" | grep -m 5 'error' >&2; x=0
  fi
  echo "$x"
}
# pgbw CLIENTS DB [pgbench args]: steady-state tps of the validate cases.  One run of WARM + T
# seconds with per-second progress; the figure is the mean of the last T seconds.  Why: every
# pgbench run starts new backends, and a new backend takes a page fault the first time it
# touches each page of the shared buffers (PostgreSQL's shared memory is not mapped into a
# forked backend's page tables; with 4 kB pages, when the huge page reservation above fails, that
# is one fault per 4 kB, and faults are slow in this VM; with 2 MB pages 512 times fewer).  With 10 thousand sessions the working set
# is a few hundred pages and the ramp is over in a fraction of a second; with a million it is
# about 100,000 pages: a 5 s run of fresh backends measured mostly faults (2 clients went from
# about 1,000 tps in the first second to 12,800 tps after 10 s at 1 million sessions, flat at
# about 14,500 from the first second at 10 thousand; bench/README.md "1.6 sessions").  A game
# server keeps its connections for hours, so the steady state is the figure that matters.
# The compare() warm-up call (T != TRUN) is skipped: the warm-up is inside each run.
pgbw() {
  local c=$1 db=$2; shift 2
  local out x
  if [ "$T" != "$TRUN" ]; then echo 0; return; fi
  out=$(PGOPTIONS="-c synchronous_commit=$SYNC" pgbench -n -M prepared -c "$c" -j "$c" -T $(( T + WARM )) -P 1 "$@" "$db" 2>&1) || true
  x=$(printf '%s\n' "$out" | awk -v w="$WARM" '/^progress: / { if ($2 + 0 > w + 0.5) { s += $4; n++ } } END { if (n) printf "%.1f", s / n }')
  # each second's tps on stderr: shows how long the ramp of fresh backends lasts (BENCH_WARM_SECONDS)
  log "  $db, $c clients, tps per second: $(printf '%s\n' "$out" | awk '/^progress: / { printf "%d ", $4 }')"
  if [ -z "$x" ] || printf '%s\n' "$out" | grep -q 'error:'; then
    log "pgbench $* failed:"; printf '%s\n' "$out" | grep -m 5 'error' >&2; x=0
  fi
  echo "$x"
}

# case_start LABEL: logs the case and what autovacuum is doing as it starts (it shares the 2
# cores with both sides), and samples the load average for the table's header.
case_start() {
  local x
  log "$1"
  x=$(q postgres -c "SELECT string_agg(regexp_replace(query, '^autovacuum: ', ''), '; ') FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
  [ -z "$x" ] || log "  autovacuum at the start: $x"
  cut -d' ' -f1 /proc/loadavg >> "$work/load"
}

# compare ID CASE MODE TARGET CLIENTS SIDE_A SIDE_B [SIDE_C]
#   SIDE_* are commands (eval'd, the client count appended after their first word).  A warm-up
#   run of each side, then ROUNDS rounds of the sides in turn, alternating the order (A B C, then
#   C B A, ...), so that load from elsewhere, and any drift over the minutes a case takes, hits
#   every side alike.  MODE tput: ratio = A / B (throughput, higher is better); MODE cost:
#   ratio = B / A (A's time per operation over B's).  The ratio and the verdict are the median of
#   the rounds' own ratios (each round's A against the B run next to it), which cancels the
#   machine's slow swings better than a ratio of two medians taken minutes apart; the sides'
#   medians and min-max are printed beside.  A third side (the seed) is printed beside, as the
#   median of the rounds' A / C throughput.
compare() {
  local id=$1 label=$2 mode=$3 target=$4 c=$5 r s x
  local -a sides=("$6" "$7") files order v
  [ $# -ge 8 ] && sides+=("$8")
  case_start "$label, $c clients (synchronous_commit=$SYNC, $ROUNDS rounds)"
  : > "$work/pair.ab"; : > "$work/pair.ac"
  for s in "${!sides[@]}"; do
    files[$s]=$work/side.$s; : > "${files[$s]}"
    RUN=$((RUN + 1)); x=${sides[$s]}; T=$TW; eval "${x%% *} $c ${x#* }" >/dev/null; T=$TRUN
  done
  for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order=("${!sides[@]}"); else order=(); for s in "${!sides[@]}"; do order=("$s" "${order[@]}"); done; fi
    for s in "${order[@]}"; do
      RUN=$((RUN + 1)); x=${sides[$s]}; v[$s]=$(eval "${x%% *} $c ${x#* }"); echo "${v[$s]}" >> "${files[$s]}"
    done
    if [ "$mode" = cost ]; then ratio_exact "${v[1]}" "${v[0]}" >> "$work/pair.ab"; else ratio_exact "${v[0]}" "${v[1]}" >> "$work/pair.ab"; fi
    [ ${#sides[@]} -eq 3 ] && ratio_exact "${v[0]}" "${v[2]}" >> "$work/pair.ac"
  done
  local a b rt rx extra="" pm pmin pmax
  read -r am amin amax < <(stats < "${files[0]}")
  read -r bm bmin bmax < <(stats < "${files[1]}")
  read -r pm pmin pmax < <(grep -v n/a "$work/pair.ab" | stats)
  rx=${pm:-n/a}
  rt=$(awk -v r="$rx" 'BEGIN { if (r == "n/a") print r; else printf "%.2f", r }')
  a="$(num "$am") ($(num "$amin")-$(num "$amax"))"
  b="$(num "$bm") ($(num "$bmin")-$(num "$bmax"))"
  NOTES+=("$id, $c clients: the rounds' own ratios $(tr '\n' ' ' < "$work/pair.ab" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.3f", (i > 1 ? ", " : ""), $i }') (median $(awk -v r="$rx" 'BEGIN { printf "%.3f", r }'))")
  if [ ${#sides[@]} -eq 3 ]; then
    read -r cm cmin cmax < <(stats < "${files[2]}")
    read -r qm qmin qmax < <(grep -v n/a "$work/pair.ac" | stats)
    extra="; seed $(num "$cm") ($(num "$cmin")-$(num "$cmax")), aeauth/seed $(awk -v r="$qm" 'BEGIN { printf "%.2f", r }')x"
  fi
  # the verdict on the unrounded ratio (1.053 against "<=1.05" fails, though it prints as 1.05)
  row "$id" "$label$extra" "$c" "$a" "$b" "$rt" "$target" "$(verdict "$rx" "$target")"
}

# pair_case ID CASE MODE TARGET CLIENTS SIDE_A SIDE_B [SIDE_C NAME_C]
#   Calls in turn (bench/pair.c): CLIENTS workers each call A and B alternately and time every
#   call, PAIR_RUNS runs of PAIR_T seconds (the first 2 s of each left out).  For the P1 and L1
#   targets, whose 5 % margin is narrower than the spread of separate runs on this kind of
#   machine (bench/README.md "P1 and L1: calls in turn"): calls alternating every few tens of
#   milliseconds see the same machine.  SIDE_* are pair.c's sides (sql:..., sodium-hash:...,
#   sodium-verify:...).  MODE tput: ratio = B's time per call / A's (A's throughput over B's);
#   cost: A's time / B's.  The ratio and the verdict are over all the runs' calls; each run's
#   ratio and standard error are in the notes.  SIDE_C: one run of A against it, printed beside.
pair_run() {   # pair_run CLIENTS SIDE_A SIDE_B: "ratio se pairs a_ms b_ms" (A's time / B's)
  PGOPTIONS="-c synchronous_commit=$SYNC" "$work/pair" bench "$1" "$PAIR_T" 2 "$USERS" "$2" "$3" ||
    { log "pair $2 / $3 failed"; echo "0 0 0 0 0"; }
}
pair_case() {
  local id=$1 label=$2 mode=$3 target=$4 c=$5 r out ratio se n am bm sa=0 sb=0 nt=0 runs="" rx extra="" failed=0
  case_start "$label, $c clients (calls in turn, $PAIR_RUNS runs of $PAIR_T s)"
  for r in $(seq "$PAIR_RUNS"); do
    out=$(pair_run "$c" "$6" "$7")
    read -r ratio se n am bm <<< "$out"
    sa=$(awk -v s="$sa" -v m="$am" -v n="$n" 'BEGIN { printf "%.6f", s + m * n }')
    sb=$(awk -v s="$sb" -v m="$bm" -v n="$n" 'BEGIN { printf "%.6f", s + m * n }')
    nt=$(( nt + n ))
    [ "$n" -gt 0 ] || failed=1
    runs="$runs${runs:+, }$(awk -v r="$ratio" -v e="$se" -v n="$n" -v m="$mode" 'BEGIN { if (m == "tput" && r > 0) { e = e / (r * r); r = 1 / r } printf "%.3f +- %.3f (%d pairs)", r, e, n }')"
  done
  # A's total time over B's (cost), or its inverse (tput)
  # (a failed run makes the case an ERROR, not a verdict on the runs that worked)
  rx=$(awk -v a="$sa" -v b="$sb" -v m="$mode" -v f="$failed" 'BEGIN { if (f || a == 0 || b == 0) print "n/a"; else printf "%.6f", (m == "tput" ? b / a : a / b) }')
  if [ $# -ge 9 ]; then
    read -r ratio se n am bm <<< "$(pair_run "$c" "$6" "$8")"
    extra="; aeauth/$9 $(awk -v r="$ratio" -v m="$mode" 'BEGIN { if (r == 0) print "n/a"; else printf "%.3f", (m == "tput" ? 1 / r : r) }')x (one run)"
  fi
  NOTES+=("$id, $c clients, calls in turn: each run's ratio $runs; all runs $(awk -v r="$rx" 'BEGIN { if (r == "n/a") print r; else printf "%.3f", r }')")
  # the verdict on the unrounded ratio, as in compare()
  row "$id" "$label$extra" "$c" "$(awk -v s="$sa" -v n="$nt" 'BEGIN { if (n) printf "%.2f ms", s / n; else print "n/a" }')" \
    "$(awk -v s="$sb" -v n="$nt" 'BEGIN { if (n) printf "%.2f ms", s / n; else print "n/a" }')" \
    "$(awk -v r="$rx" 'BEGIN { if (r == "n/a") print r; else printf "%.2f", r }')" "$target" "$(verdict "$rx" "$target")"
}

# ---- data -------------------------------------------------------------------------------------
# Tokens of loaded session g: access 'aea_' || 24 x 'A' || (10^18 + 10 g) (19 digits, the last 0),
# refresh 'aer_' || lpad(g, 42, 'A') || 'A' (both well-formed; only the SHA-256 is stored, as
# create_session does).  last_activity is in the future so that
# validation measures the read path (the once-a-minute last_activity write would otherwise hit
# every uniformly random pick; a real player sends many requests a minute).
# load_core DB USERS SESSIONS AUDIT: aeauth with USERS users (one argon2id hash at the default
# parameters, copied), SESSIONS live sessions spread over the users (at most 10 each), AUDIT
# events in the coming months' partitions.  All set-wise, as superuser.
load_core() {
  local db=$1 u=$2 s=$3 a=$4
  log "$db: $u users, $s sessions, $a audit events"
  psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db"
  q "$db" >/dev/null <<SQL
CREATE EXTENSION aeauth;
CREATE EXTENSION pg_prewarm;
SELECT count(*) FROM aeauth.run_maintenance();
CREATE TABLE bench_hash AS SELECT aeauth.hash_password('bench password') AS h;
INSERT INTO aeauth.users (id, email, username, password_hash)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g || '@x.com', 'u' || g,
       (SELECT h FROM bench_hash)
  FROM generate_series(1, $u) g;
-- Bulk load (10 million sessions at full scale): the indexes that back no constraint are
-- dropped and built again afterwards (a sorted build instead of 10 million random insertions),
-- and the per-row foreign-key check is skipped (the rows reference users made just above).
-- The indexes built afterwards are the same definitions (pg_get_indexdef).
CREATE TEMP TABLE bench_idx AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i
 WHERE i.indrelid = 'aeauth.user_sessions'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT * FROM bench_idx LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP;
END\$\$;
SET session_replication_role = replica;
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash,
                                  access_expires_at, expires_at, last_activity)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(1 + (g - 1) % $u), 12, '0'))::uuid,
       sha256(convert_to('aea_' || repeat('A', 24) || (1000000000000000000 + 10 * g::bigint)::text, 'UTF8')),
       sha256(convert_to('aer_' || lpad(g::text, 42, 'A') || 'A', 'UTF8')),
       now() + interval '1 day', now() + interval '30 days', now() + interval '1 day'
  FROM generate_series(1, $s) g;
RESET session_replication_role;
DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT * FROM bench_idx LOOP EXECUTE r.def; END LOOP;
END\$\$;
-- Audit events of the last 60 days (90-day retention: they expire in 1-3 months), ids shaped
-- like the UUIDv7 log_user_event makes (time-ordered), so the primary key grows as it does live.
INSERT INTO aeauth.user_audit_log (id, user_id, event_type, event_category, action, status,
                                   ip_address, user_agent, metadata, created_at, expires_at)
SELECT (substr(x, 1, 8) || '-' || substr(x, 9, 4) || '-7' || substr(x, 14, 3) || '-8' || substr(x, 18, 3)
        || '-' || substr(x, 21, 12))::uuid,
       ('00000000-0000-0000-0000-' || lpad(to_hex(1 + g % $u), 12, '0'))::uuid,
       'login', 'authentication', 'login', CASE WHEN g % 20 = 0 THEN 'failure' ELSE 'success' END,
       '10.1.2.3', 'bench-agent/1.0', '{"game": "x"}', ts, ts + interval '90 days'
  FROM (SELECT g, ts, lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || md5(g::text) AS x
          FROM (SELECT g, now() - interval '60 days' * (1 - g::float8 / $a) AS ts
                  FROM generate_series(1, $a) g) t) t2;
VACUUM ANALYZE;
SQL
}
prewarm() {
  q "$1" -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname IN ('aeauth', 'public', 'seed') AND c.relkind IN ('r', 'i')
                 AND c.relname NOT LIKE 'user_audit_log%'" >/dev/null
}
# Sets an aeauth setting for a database if this version has it (login's throttles are 1.4).
set_if_exists() {   # set_if_exists DB NAME VALUE
  if [ "$(q "$1" -c "LOAD 'aeauth'" -c "SELECT count(*) FROM pg_settings WHERE name = '$2'")" = 1 ]; then
    q "$1" -c "ALTER DATABASE $1 SET $2 = '$3'"
  fi
}
has_login() { [ "$(q "$1" -c "SELECT count(*) FROM pg_proc WHERE proname = 'login' AND pronamespace = 'aeauth'::regnamespace")" -gt 0 ]; }

PGB_SCALE=$(( SESSIONS / 100000 )); [ "$PGB_SCALE" -ge 1 ] || PGB_SCALE=1
ACCOUNTS=$(( PGB_SCALE * 100000 ))
load_core bench "$USERS" "$SESSIONS" "$AUDIT"
log "bench: pgbench -i -s $PGB_SCALE ($ACCOUNTS accounts), the seed's tables, the bare table"
pgbench -i -q -s "$PGB_SCALE" bench >/dev/null 2>&1
q bench -f bench/seed_audit.sql >/dev/null
q bench >/dev/null <<SQL
CREATE TABLE public.bare_audit (LIKE aeauth.user_audit_log INCLUDING DEFAULTS);
ALTER TABLE public.bare_audit ADD PRIMARY KEY (id);
INSERT INTO seed.users (id, username, email)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g, 'u' || g || '@x.com'
  FROM generate_series(1, $USERS) g;
VACUUM ANALYZE;
SQL
# Login cases: failures must not lock the accounts or throttle the one source address.
# (every login comes from its own random address, as players do: aeauth.ip_max_failures cannot
# be raised with ALTER DATABASE in 1.4, see bench/README.md)
set_if_exists bench aeauth.max_failed_attempts 1000
prewarm bench
q postgres -c CHECKPOINT

# ---- pgbench scripts ---------------------------------------------------------------------------
# The access token of session i is one concatenation away from a pgbench integer, as a client
# would send a token it holds as one parameter (before 1.7 lpad() and two concatenations built
# it inside the measured statement: about 5 % of validate_session's instructions).
cat > "$work/validate.sql" <<'SQL'
\set t 1000000000000000000 + 10 * random(1, :n)
SELECT * FROM aeauth.validate_session('aea_AAAAAAAAAAAAAAAAAAAAAAAA' || :t);
SQL
# Each client refreshes its own session and carries the new refresh token to its next call
# (\gset), so every call is a real rotation; every run starts from fresh sessions (base).
cat > "$work/refresh.sql" <<'SQL'
SELECT refresh_token AS tok FROM aeauth.refresh_session(CASE WHEN :tok = 'none' THEN 'aer_' || lpad((:client_id + 1 + :base)::text, 42, 'A') || 'A' ELSE :tok END) \gset
SQL
cat > "$work/update.sql" <<SQL
\set aid random(1, $ACCOUNTS)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL
common="\\set u random(1, $USERS)"
uid="('00000000-0000-0000-0000-' || lpad(to_hex(:u::int), 12, '0'))::uuid"
args="$uid, NULL, 'login', 'authentication', 'login', 'success', '10.1.2.3'::inet, 'bench-agent/1.0', '{\"game\": \"x\", \"attempt\": 1}'::jsonb, 'info'"
printf '%s\nSELECT aeauth.log_user_event(%s);\n' "$common" "$args" > "$work/audit_aeauth.sql"
printf '%s\nSELECT seed.log_user_event(%s);\n' "$common" "$args" > "$work/audit_seed.sql"
printf '%s\nINSERT INTO public.bare_audit (user_id, session_id, event_type, event_category, action, status, ip_address, user_agent, metadata, severity, expires_at) VALUES (%s, now() + interval '"'"'90 days'"'"');\n' \
  "$common" "$args" > "$work/audit_bare.sql"
cat > "$work/verify.sql" <<'SQL'
SELECT aeauth.verify_password('bench password', h) FROM bench_hash;
SQL
printf '%s\nSELECT aeauth.request_password_reset('"'"'u'"'"' || :u || '"'"'@x.com'"'"');\n' "$common" > "$work/reset_known.sql"
# Unknown emails and identifiers sit next to real ones in the indexes ('u123x@x.com' beside
# 'u123@x.com'), so that their index probes land on random leaves as an attacker's guesses would;
# until 1.6 they were 'nobody<n>', which all sort before every 'u<n>' into the same always-cached
# leaf: cheaper than any real lookup at 1 million users (bench/README.md "1.7 passwords and login").
printf '%s\nSELECT aeauth.request_password_reset('"'"'u'"'"' || :u || '"'"'x@x.com'"'"');\n' "$common" > "$work/reset_unknown.sql"
for k in ok:bench\ password: wrong:wrong\ password: unknown:bench\ password:x; do
  IFS=: read -r name pw suffix <<< "$k"
  printf "%s\n\\set ip random(1, 16000000)\nSELECT status FROM aeauth.login('u' || :u || '%s', '%s', '10.0.0.0'::inet + :ip, 'bench-agent/1.0', 'desktop', 'bench');\n" \
    "$common" "$suffix" "$pw" > "$work/login_$name.sql"
done
# percall N SCRIPT: "buffers(of them read) WAL-bytes full-page-images" per call of SCRIPT, N calls by one client
# right after a CHECKPOINT (so every first touch of a page since then costs a full-page image,
# as in production after each checkpoint).  Buffers: shared-buffer hits and reads of the aeauth
# schema's tables and indexes (pg_statio_all_tables); WAL: pg_current_wal_insert_lsn() before and
# after; full-page images: pg_stat_wal.  Deterministic, unlike throughput on a shared machine.
PERCALL_Q="SELECT (SELECT sum(coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) + coalesce(idx_blks_hit, 0)
                        + coalesce(idx_blks_read, 0) + coalesce(toast_blks_hit, 0) + coalesce(toast_blks_read, 0)
                        + coalesce(tidx_blks_hit, 0) + coalesce(tidx_blks_read, 0))
              FROM pg_statio_all_tables WHERE schemaname = 'aeauth'),
           pg_current_wal_insert_lsn() - '0/0'::pg_lsn, (SELECT wal_fpi FROM pg_stat_wal),
           (SELECT sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0)
                       + coalesce(tidx_blks_read, 0))
              FROM pg_statio_all_tables WHERE schemaname = 'aeauth')"
percall() {
  local n=$1 f=$2 b0 w0 p0 r0 b1 w1 p1 r1
  q bench -c CHECKPOINT >/dev/null
  read -r b0 w0 p0 r0 < <(q bench -F ' ' -c "$PERCALL_Q")
  PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 1 -t "$n" -f "$f" bench >/dev/null 2>&1
  sleep 1   # the pgbench backend's statistics are flushed when it exits
  read -r b1 w1 p1 r1 < <(q bench -F ' ' -c "$PERCALL_Q")
  awk -v n="$n" -v b="$(( b1 - b0 ))" -v w="$(awk -v a="$w1" -v b="$w0" 'BEGIN { print a - b }')" -v p="$(( p1 - p0 ))" \
    -v r="$(( r1 - r0 ))" 'BEGIN { printf "%.1f(%.1f) %.0f %.2f\n", b / n, r / n, w / n, p / n }'
}
# percall_row ID LABEL N SCRIPT_A SCRIPT_B: one (info) row, A's and B's buffers / WAL bytes / FPIs
# per call, the ratio of their WAL bytes (not with a 6th argument "noratio": a read-only B).
percall_row() {
  local id=$1 label=$2 n=$3 a b
  log "$label (one client, $n calls each, after a CHECKPOINT)"
  read -r ab aw af < <(percall "$n" "$4")
  read -r bb bw bf < <(percall "$n" "$5")
  a="$ab / $aw / $af"; b="$bb / $bw / $bf"
  row "$id" "$label: buffers (of them read from outside shared buffers) / WAL bytes / full-page images per call, after a CHECKPOINT" 1 "$a" "$b" \
    "$(if [ "${6:-}" != noratio ] && [ "${bw%.*}" -gt 0 ]; then ratio "$aw" "$bw"; else echo -; fi)" "info" "-"
}

# ---- sessions ----------------------------------------------------------------------------------
if want sessions; then
  for c in $CLIENTS; do
    compare S1 "validate_session vs pgbench -S ($SESSIONS sessions, $ACCOUNTS accounts)" tput ">=0.85" "$c" \
      "pgbw bench -D n=$SESSIONS -f $work/validate.sql" "pgbw bench -S"
  done
fi

# ---- growth: the same validate_session (and run_maintenance) as the sessions grow ---------------
# Databases of each size in LEVELS (the one equal to SESSIONS is "bench"), 10 sessions per user,
# one audit event per 10 sessions (the audit data grows with them; "bench" has more).
# Validation before any refresh, whose writes would weigh on one database only.
declare -A LDB
if want growth || want sessions; then
  for n in $LEVELS; do
    if [ "$n" = "$SESSIONS" ]; then LDB[$n]=bench; continue; fi
    LDB[$n]=grow_$n
    load_core "grow_$n" $(( n / 10 )) "$n" $(( n / 10 ))
    prewarm "grow_$n"
  done
  q postgres -c CHECKPOINT
  lo=${LEVELS%% *}
  for hi in $LEVELS; do
    [ "$hi" = "$lo" ] && continue
    [ "$hi" -lt 1000000 ] && continue   # the target: 10 thousand to 1 million (and 10 million)
    for c in $CLIENTS; do
      compare S2 "validate_session time, $hi vs $lo sessions (flatness)" cost "<=1.3" "$c" \
        "pgbw ${LDB[$hi]} -D n=$hi -f $work/validate.sql" "pgbw ${LDB[$lo]} -D n=$lo -f $work/validate.sql"
    done
  done
fi
GROWTH=()
if want growth; then
  for n in $LEVELS; do
    db=${LDB[$n]}
    log "growth: validate_session (2 clients) and run_maintenance() with $n sessions"
    : > "$work/v"; : > "$work/m"
    for r in $(seq "$ROUNDS"); do
      pgbw 2 "$db" -D n="$n" -f "$work/validate.sql" >> "$work/v"
      q "$db" -c '\timing on' -c 'SELECT count(*) FROM aeauth.run_maintenance()' |
        sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >> "$work/m"
    done
    read -r vm vmin vmax < <(stats < "$work/v")
    read -r mm mmin mmax < <(stats < "$work/m")
    GROWTH+=("| $n | $(q "$db" -c "SELECT count(*) FROM aeauth.user_audit_log") | $(num "$vm") ($(num "$vmin")-$(num "$vmax")) | $(num "$mm") ($(num "$mmin")-$(num "$mmax")) |")
  done
fi

# ---- refresh (writes: synchronous_commit off, then on) --------------------------------------------
if want sessions; then
  for SYNC in off on; do
    tgt=">=0.5"; [ $SYNC = on ] && tgt=info
    for c in $CLIENTS; do
      compare S3 "refresh_session vs UPDATE by pk, synchronous_commit=$SYNC" tput "$tgt" "$c" \
        "pgb bench -D tok=none -D base=\$((RUN * 100)) -f $work/refresh.sql" "pgb bench -f $work/update.sql"
    done
  done
  SYNC=off
  chains=$(q bench -c "SELECT count(*) FILTER (WHERE status = 'active') || ' live, ' || count(*) FILTER (WHERE status <> 'active') || ' not' FROM aeauth.user_sessions WHERE generation > 0")
  NOTES+=("refresh chains after the refresh runs (one per client per run; all must be live): $chains")
fi

# ---- audit -------------------------------------------------------------------------------------
if want audit; then
  for SYNC in off on; do
    tgt=">=0.9"; [ $SYNC = on ] && tgt=info
    for c in $CLIENTS; do
      compare A1 "log_user_event vs bare INSERT (pk only), synchronous_commit=$SYNC" tput "$tgt" "$c" \
        "pgb bench -f $work/audit_aeauth.sql" "pgb bench -f $work/audit_bare.sql" "pgb bench -f $work/audit_seed.sql"
    done
  done
  SYNC=off
  # A month of expired events, dropped by run_maintenance() while 4 clients log events.
  log "filling an expired month with $DROP_ROWS events"
  q bench >/dev/null <<SQL
SELECT aeauth.audit_create_partition((now() - interval '2 months')::date);
INSERT INTO aeauth.user_audit_log (id, user_id, event_type, event_category, action, status,
                                   ip_address, user_agent, metadata, created_at, expires_at)
SELECT gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(1 + g % $USERS), 12, '0'))::uuid,
       'login', 'authentication', 'login', 'success', '10.1.2.3', 'bench-agent/1.0',
       '{"game": "x"}', now() - interval '150 days', date_trunc('month', now() - interval '2 months')
  FROM generate_series(1, $DROP_ROWS) g;
CHECKPOINT;
SQL
  expired=$(q bench -c "SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at <= now()")
  log "run_maintenance() dropping $expired expired events while 4 clients call log_user_event"
  PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 4 -j 4 -T 8 -P 1 -f "$work/audit_aeauth.sql" bench >"$work/during.out" 2>&1 &
  pgbpid=$!
  sleep 3
  # BEGIN; run_maintenance(); COMMIT, each timed: the files of dropped partitions are removed at
  # commit (after the locks are released), so the commit belongs to the audit retention's time.
  # From 1.7 run_maintenance() gives each task function's time (ms, on its first row).
  if [ "$(q bench -c "SELECT 'ms' = ANY (proargnames) FROM pg_proc WHERE oid = 'aeauth.run_maintenance()'::regprocedure")" = t ]; then
    msq="SELECT split_part(task, ':', 1), coalesce(ms, 0) FROM aeauth.run_maintenance()"
  else
    msq="SELECT split_part(task, ':', 1), 0 FROM aeauth.run_maintenance()"
  fi
  q bench -F ' ' -c '\timing on' -c 'BEGIN' -c "$msq" -c 'COMMIT' > "$work/maint.out"
  read -r _ sel_ms commit_ms < <(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$work/maint.out" | tr '\n' ' '; echo)
  drop_ms=$(awk -v a="$sel_ms" -v b="$commit_ms" 'BEGIN { printf "%.1f", a + b }')
  # per concern: the sum of its task functions' times
  tasks_ms=$(awk '$NF ~ /^[0-9.]+$/ && NF == 2 { t[$1] += $2 } END { for (k in t) printf "%s %.1f ms, ", k, t[k] }' "$work/maint.out" | sed 's/, $//')
  audit_ms=$(awk '$1 == "audit" && NF == 2 { t += $2 } END { printf "%.1f", t }' "$work/maint.out")
  retention_ms=$(awk -v a="$audit_ms" -v b="$commit_ms" 'BEGIN { printf "%.1f", a + b }')
  pgb_rc=0; wait "$pgbpid" || pgb_rc=$?
  if [ "$pgb_rc" -ne 0 ]; then
    NOTES+=("log_user_event clients during the drop: pgbench exit $pgb_rc: $(grep -v '^progress' "$work/during.out" | grep -i 'error\|abort' | head -n 3 | tr '\n' ' ')")
    log "pgbench during the drop exited $pgb_rc"; grep -v '^progress' "$work/during.out" | head -n 20 >&2
  fi
  left=$(q bench -c "SELECT count(*) FROM aeauth.user_audit_log WHERE expires_at <= now()")
  # The first second is the clients' own ramp (new backends, first page faults; the maintenance
  # starts at 3 s): left out of the worst second and worst latency.
  worst=$(sed -n 's/^progress: .* s, \([0-9.]*\) tps.*/\1/p' "$work/during.out" | tail -n +2 | sort -g | head -n1)
  worst_lat=$(sed -n 's/^progress: .* lat \([0-9.]*\) ms.*/\1/p' "$work/during.out" | tail -n +2 | sort -g | tail -n1)
  overall=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/during.out")
  NOTES+=("A3 per-second tps of the 4 log_user_event clients (run_maintenance() starts at 3 s): $(sed -n 's/^progress: \([0-9.]*\) s, \([0-9.]*\) tps.*/\1 s \2/p' "$work/during.out" | tr '\n' ',' | sed 's/,$//; s/,/, /g')")
  # A2, the issue's figure: the time of removing the expired month (the audit retention tasks and
  # the commit that removes its files); the whole run_maintenance(), whose other tasks (sessions
  # after the refresh runs, login, passwords) depend on what other cases left, is A2a (info).
  # Before 1.7 (no ms column) the tasks cannot be told apart: A2 is the whole run.
  [ "$audit_ms" = "0.0" ] && retention_ms=$drop_ms
  row A2 "removing a month of $expired expired events: the audit retention's tasks ($audit_ms ms) and the commit that removes the files ($commit_ms ms) (ms; $left expired left)" 1 \
    "$(num "$retention_ms") ms" "1000 ms" "$(ratio "$retention_ms" 1000)" "<=1" "$(verdict "$(ratio "$retention_ms" 1000)" "<=1")"
  row A2a "the whole run_maintenance() of that run, commit included (ms; tasks: $tasks_ms)" 1 \
    "$(num "$drop_ms") ms" "1000 ms" "$(ratio "$drop_ms" 1000)" info "-"
  row A3 "log_user_event during the drop: worst second (after the first) / whole 8 s run (worst latency ${worst_lat:-?} ms)" 4 \
    "$(num "${worst:-0}") tps" "$(num "${overall:-0}") tps" "$(ratio "${worst:-0}" "${overall:-1}")" ">=0.5" \
    "$(verdict "$(ratio "${worst:-0}" "${overall:-1}")" ">=0.5")"
fi

# ---- settle: the write cases' debris ----------------------------------------------------------
# The refresh, audit and PK-update cases leave dead rows and unvacuumed pages behind (some
# 900 thousand updated pgbench_accounts rows, 700 thousand refresh rotations, millions of audit
# rows at full scale), which autovacuum would otherwise work off during the later cases on the
# same 2 cores; a plain VACUUM ANALYZE of the benchmark database does it first, timed and noted.
# It did not change L1 by itself (bench/README.md "L1 after the write cases"); the prewarm below
# did, at 2 clients.
if want password || want login; then
  if want sessions || want audit; then
    log "settle: VACUUM ANALYZE of the benchmark database after the write cases, aeauth prewarmed"
    s0=$(date +%s%N)
    q bench -c "VACUUM (ANALYZE)" >/dev/null
    # and aeauth's tables and indexes back into shared buffers: the growth databases (10 million
    # sessions at full scale) and the seed's and pgbench's tables have evicted part of them since
    # the load, and a login touches random pages of the users, sessions, devices and audit
    # indexes where a verify_password touches none (L1w counts its reads from outside shared buffers)
    q bench -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'aeauth' AND c.relkind IN ('r', 'i')" >/dev/null
    NOTES+=("settle: VACUUM ANALYZE of the benchmark database after the write cases, and pg_prewarm of aeauth's tables and indexes, before the password and login cases: $(( ($(date +%s%N) - s0) / 1000000 )) ms")
  fi
fi

# ---- passwords ---------------------------------------------------------------------------------
if want password; then
  # Calls in turn (pair_case): aeauth's call against libsodium's in the client process itself,
  # same parameters (the reference), and for the hash cells a third side printed beside:
  # libsodium from a bare C function in a backend (bench/sodium_fn.c, "in a backend"), which
  # tells aeauth's own cost apart from a server backend's.
  q bench >/dev/null <<SQL
CREATE FUNCTION public.bench_sodium_hash(text, int4, int4) RETURNS text
  AS '$work/sodium_fn.so', 'bench_sodium_hash' LANGUAGE c STRICT;
SQL
  for c in $CLIENTS; do
    pair_case P1 "hash_password vs libsodium directly (m=$M_KIB KiB, t=$ITER; ms per call)" tput "0.95-1.05" "$c" \
      "sql:SELECT aeauth.hash_password('bench password ' || \$1)" "sodium-hash:$M_KIB:$ITER" \
      "sql:SELECT public.bench_sodium_hash('bench password ' || \$1, $M_KIB, $ITER)" "in a backend"
  done
  for c in $CLIENTS; do
    pair_case P1 "verify_password vs libsodium directly (m=$M_KIB KiB, t=$ITER; ms per call)" tput "0.95-1.05" "$c" \
      "sql:SELECT aeauth.verify_password('bench password', h) FROM public.bench_hash" "sodium-verify:$M_KIB:$ITER"
  done
  for c in $CLIENTS; do
    compare P2 "request_password_reset: unknown vs known email (cost)" cost "0.9-1.1" "$c" \
      "pgb bench -f $work/reset_unknown.sql" "pgb bench -f $work/reset_known.sql"
  done
fi

# ---- login (1.4) -------------------------------------------------------------------------------
if want login; then
  if has_login bench; then
    for c in $CLIENTS; do
      pair_case L1 "login (success) vs one verify_password (cost, m=$M_KIB KiB, t=$ITER; ms per call)" cost "<=1.05" "$c" \
        "sql:SELECT status FROM aeauth.login('u' || \$1, 'bench password', '10.0.0.0'::inet + \$2, 'bench-agent/1.0', 'desktop', 'bench')" \
        "sql:SELECT aeauth.verify_password('bench password', h) FROM public.bench_hash"
    done
    for c in $CLIENTS; do
      compare L2 "login: unknown identifier vs wrong password (cost)" cost "0.9-1.1" "$c" \
        "pgb bench -f $work/login_unknown.sql" "pgb bench -f $work/login_wrong.sql"
    done
    percall_row L1w "login (success) vs one verify_password" 100 "$work/login_ok.sql" "$work/verify.sql" noratio
    percall_row L2w "login: unknown identifier vs wrong password" 100 "$work/login_unknown.sql" "$work/login_wrong.sql"
  else
    NOTES+=("login cases skipped: this aeauth version has no aeauth.login (1.4)")
  fi
fi
# P2w (a CHECKPOINT first) runs after the login cases: a throughput case started right after a
# harness-made checkpoint pays a full-page image for every page it first touches, which the
# cases before it do not (L1 at 2 clients ran right after it until 1.7).
want password && percall_row P2w "request_password_reset: unknown vs known email" 1000 "$work/reset_unknown.sql" "$work/reset_known.sql"

# ---- durable cost: WAL and index bytes, from a fresh database, one client --------------------------
# full_page_writes is turned off for these batches: full-page images depend on when the last
# checkpoint happened, not on the design; the figures are the records themselves.
if want durable; then
  log "durable cost: WAL per operation and index bytes per million events"
  # autovacuum is off too: its WAL would land in whichever batch it overlaps.
  q postgres -c "ALTER SYSTEM SET full_page_writes = off" -c "ALTER SYSTEM SET autovacuum = off" \
    -c "SELECT pg_reload_conf()" >/dev/null
  load_core wal 1000 1000 0
  q wal -f bench/seed_audit.sql >/dev/null
  q wal >/dev/null <<'SQL'
CREATE TABLE public.bare_audit (LIKE aeauth.user_audit_log INCLUDING DEFAULTS);
ALTER TABLE public.bare_audit ADD PRIMARY KEY (id);
INSERT INTO seed.users (id, username, email)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'u' || g, 'u' || g || '@x.com'
  FROM generate_series(1, 1000) g;
INSERT INTO seed.user_sessions (user_id, session_token, refresh_token_hash, expires_at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'tok' || g, md5(g::text), now() + interval '30 days'
  FROM generate_series(1, 1000) g;
-- Indexes of the audit tables, summed (aeauth: every partition's).
CREATE FUNCTION audit_index_bytes(t regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0)::bigint
    FROM (SELECT t AS relid UNION SELECT relid FROM pg_partition_tree(t)) p
    JOIN pg_index i ON i.indrelid = p.relid $$;
VACUUM ANALYZE;
SQL
  sed "s/random(1, $USERS)/random(1, 1000)/" "$work/audit_aeauth.sql" > "$work/w_aeauth.sql"
  sed "s/random(1, $USERS)/random(1, 1000)/" "$work/audit_seed.sql" > "$work/w_seed.sql"
  sed "s/random(1, $USERS)/random(1, 1000)/" "$work/audit_bare.sql" > "$work/w_bare.sql"
  wal_batch() {   # wal_batch N SCRIPT [pgbench args]: WAL bytes per transaction over N from one client
    local n=$1 f=$2 a b; shift 2
    q wal -c VACUUM -c CHECKPOINT
    a=$(q wal -c 'SELECT pg_current_wal_insert_lsn()')
    if ! PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 1 -t "$n" "$@" -f "$f" wal > "$work/wal.out" 2>&1 ||
       grep -q 'error' "$work/wal.out"; then
      log "WAL batch $f failed:"; grep -m 5 error "$work/wal.out" >&2; echo 0; return
    fi
    b=$(q wal -c 'SELECT pg_current_wal_insert_lsn()')
    q wal -c "SELECT round(pg_wal_lsn_diff('$b', '$a') / $n)"
  }
  idx_before_a=$(q wal -c "SELECT audit_index_bytes('aeauth.user_audit_log')")
  w_a=$(wal_batch "$WAL_EVENTS" "$work/w_aeauth.sql")
  idx_a=$(q wal -c "SELECT audit_index_bytes('aeauth.user_audit_log') - $idx_before_a")
  w_s=$(wal_batch "$WAL_EVENTS" "$work/w_seed.sql")
  idx_s=$(q wal -c "SELECT audit_index_bytes('seed.user_audit_log')")
  w_b=$(wal_batch "$WAL_EVENTS" "$work/w_bare.sql")
  idx_b=$(q wal -c "SELECT audit_index_bytes('public.bare_audit')")
  per_m() { awk -v b="$1" -v n="$WAL_EVENTS" 'BEGIN { printf "%.0f", b * 1000000 / n / 1048576 }'; }
  row D1 "WAL bytes per log_user_event (seed's insert as reference; bare pk-only insert: $w_b)" 1 \
    "$w_a" "$w_s" "$(ratio "$w_a" "$w_s")" "<=0.4" "$(verdict "$(ratio "$w_a" "$w_s")" "<=0.4")"
  row D2 "audit index MiB per million events, from $WAL_EVENTS log_user_event (bare pk only: $(per_m "$idx_b"))" 1 \
    "$(per_m "$idx_a")" "$(per_m "$idx_s")" "$(ratio "$idx_a" "$idx_s")" "<=0.25" "$(verdict "$(ratio "$idx_a" "$idx_s")" "<=0.25")"
  # refresh: one client's chain of rotations, against the seed's refresh writes
  cat > "$work/w_seed_refresh.sql" <<'SQL'
\set s random(1, 1000)
SELECT seed.refresh_writes(id, md5(random()::text) || md5(random()::text)) FROM seed.user_sessions WHERE session_token = 'tok' || :s;
SQL
  # (the seed's refresh finds its session by the token; the refreshed rows get a new token, so
  # later picks of the same number find nothing and write nothing: pick from many sessions)
  q wal -c "INSERT INTO seed.user_sessions (user_id, session_token, refresh_token_hash, expires_at)
            SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(1 + g % 1000), 12, '0'))::uuid, 'tok' || g, md5(g::text), now() + interval '30 days'
              FROM generate_series(1001, 200000) g" >/dev/null
  sed -i 's/random(1, 1000)/random(1, 200000)/' "$work/w_seed_refresh.sql"
  nref=$(( WAL_EVENTS / 10 ))
  w_r=$(wal_batch "$nref" "$work/refresh.sql" -D tok=none -D base=0)
  w_sr=$(wal_batch "$nref" "$work/w_seed_refresh.sql")
  row D3 "WAL bytes per refresh_session (seed: UPDATE of the session row, 13 indexes)" 1 \
    "$w_r" "$w_sr" "$(ratio "$w_r" "$w_sr")" info "-"
  if has_login wal; then
    # small argon2 parameters here: WAL does not depend on them (users' hashes made with the same)
    q wal >/dev/null <<'SQL'
ALTER DATABASE wal SET aeauth.argon2_memory_kib = 1024;
ALTER DATABASE wal SET aeauth.argon2_iterations = 1;
SQL
    set_if_exists wal aeauth.max_failed_attempts 1000
    q wal >/dev/null <<'SQL'
UPDATE aeauth.users SET password_hash = aeauth.hash_password('bench password');
SQL
    sed "s/random(1, $USERS)/random(1, 1000)/" "$work/login_ok.sql" > "$work/w_login.sql"
    cat > "$work/w_seed_login.sql" <<'SQL'
\set u random(1, 1000)
SELECT seed.login_writes(('00000000-0000-0000-0000-' || lpad(to_hex(:u::int), 12, '0'))::uuid, md5(random()::text) || md5(random()::text));
SQL
    w_l=$(wal_batch $(( WAL_EVENTS / 10 )) "$work/w_login.sql")
    w_sl=$(wal_batch $(( WAL_EVENTS / 10 )) "$work/w_seed_login.sql")
    row D4 "WAL bytes per login (seed: user update, session insert, audit insert)" 1 \
      "$w_l" "$w_sl" "$(ratio "$w_l" "$w_sl")" info "-"
  fi
  q postgres -c "ALTER SYSTEM RESET full_page_writes" -c "ALTER SYSTEM RESET autovacuum" \
    -c "SELECT pg_reload_conf()" >/dev/null
fi

# ---- memory: one backend, 10,000 logins ------------------------------------------------------------
if want memory; then
  if psql -qXAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'wal'" | grep -q 1 && has_login wal; then
    log "memory: 10,000 logins in one backend (argon2id m=1024 KiB, t=1)"
    # /proc/self/status of the backend itself: VmHWM is the peak resident set (it counts the
    # shared buffers the backend touched, which grow with the pages it has visited), RssAnon its
    # private memory; plus PostgreSQL's own account of its memory contexts; and the RssAnon of
    # the backend's password helper (aeauth.hash_helper: its child aeauth_hasher), 0 if none.
    rss() { echo "SELECT '$1', (regexp_match(st, 'RssAnon:\\s+(\\d+)'))[1], (regexp_match(st, 'VmRSS:\\s+(\\d+)'))[1], (regexp_match(st, 'VmHWM:\\s+(\\d+)'))[1], (SELECT sum(total_bytes)::bigint / 1024 FROM pg_backend_memory_contexts), (SELECT coalesce(sum((regexp_match(pg_read_file(format('/proc/%s/status', c), 0, 8192, true), 'RssAnon:\\s+(\\d+)'))[1]::int), 0) FROM regexp_split_to_table(btrim(pg_read_file(format('/proc/%s/task/%s/children', pg_backend_pid(), pg_backend_pid()), 0, 4096, true), E' \\n'), '\\s+') c WHERE c <> '' AND pg_read_file(format('/proc/%s/comm', c), 0, 64, true) = E'aeauth_hasher\\n') FROM pg_read_file('/proc/self/status') st;"; }
    {
      echo '\o /dev/null'
      for i in $(seq 1 10000); do
        echo "SELECT status FROM aeauth.login('u$(( 1 + i % 1000 ))', 'bench password', '10.$(( i / 256 % 256 )).$(( i % 256 )).1', 'bench-agent/1.0', 'desktop', 'bench');"
        case $i in 100|1000|2000|3000|4000|5000|6000|7000|8000|9000|10000) echo '\o'; rss "at$i"; echo '\o /dev/null' ;; esac
      done
      echo '\o'
    } > "$work/mem.sql"
    q wal -F ' ' -f "$work/mem.sql" > "$work/mem.out"
    read -r _ anon100 rss100 _ ctx100 helper100 < <(grep '^at100 ' "$work/mem.out")
    read -r _ anon10k rss10k hwm ctx10k helper10k < <(grep '^at10000 ' "$work/mem.out")
    maxanon=$(awk '/^at/ { if ($2 > m) m = $2 } END { print m + 0 }' "$work/mem.out")
    row M1 "backend private memory (RssAnon KiB) after 10,000 logins vs after the first 100 (argon2id m=1024 KiB, t=1)" 1 \
      "$anon10k" "$anon100" "$(ratio "$anon10k" "$anon100")" "<=1.1" "$(verdict "$(ratio "$anon10k" "$anon100")" "<=1.1")"
    row M2 "backend memory contexts (KiB) after 10,000 logins vs after 100" 1 \
      "$ctx10k" "$ctx100" "$(ratio "$ctx10k" "$ctx100")" "<=1.1" "$(verdict "$(ratio "$ctx10k" "$ctx100")" "<=1.1")"
    row M4 "the backend's password helper (aeauth_hasher) private memory (RssAnon KiB) after 10,000 logins vs after 100" 1 \
      "$helper10k" "$helper100" "$(ratio "$helper10k" "$helper100")" "<=1.1" "$(verdict "$(ratio "$helper10k" "$helper100")" "<=1.1")"
    row M3 "backend peak RSS during 10,000 logins (VmHWM KiB, with touched shared buffers; peak RssAnon $maxanon KiB) vs RSS after 100" 1 \
      "$hwm" "$rss100" "$(ratio "$hwm" "$rss100")" info "-"
  else
    NOTES+=("memory case skipped: needs aeauth.login (1.4) and the durable group's database")
  fi
fi

# ---- the table ---------------------------------------------------------------------------------
elapsed=$(( $(date +%s) - T0 ))
echo
echo "## aeauth bench: $(date -u '+%Y-%m-%d %H:%M UTC'), BENCH_SCALE=$SCALE, $(q bench -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'") ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
read -r lm lmin lmax < <(stats < "$work/load")
echo "Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB memory, 1-minute load average during the run $lmin-$lmax (median $lm; this run's own clients count too); $USERS users, $SESSIONS sessions, $AUDIT audit events; ${T} s runs, $ROUNDS interleaved rounds after a warm-up, median (min-max), ratio = median of the rounds' own ratios (P1 and L1: calls in turn, $PAIR_RUNS runs of $PAIR_T s, ratio over all their calls); took ${elapsed} s."
echo
echo "| case | clients | aeauth | reference | ratio | target | result |"
echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
awk -F'\t' '{ printf "| %s %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, ($7 == "info" ? "(info)" : $7), $8 }' "$RESULTS"
echo
echo "Throughputs in transactions per second; P1 and L1: ms per call with the calls in turn (P1 reference: libsodium"
echo "called in the client process). Ratio: aeauth / reference throughput, or for (cost) and (time) rows aeauth's time"
echo "per call over the reference's."
if [ ${#GROWTH[@]} -gt 0 ]; then
  echo
  echo "Growth (2 clients):"
  echo
  echo "| sessions | audit events | validate_session tps | run_maintenance() ms |"
  echo "| ---: | ---: | ---: | ---: |"
  printf '%s\n' "${GROWTH[@]}"
fi
if [ ${#NOTES[@]} -gt 0 ]; then echo; printf -- '- %s\n' "${NOTES[@]}"; fi
fails=$(awk -F'\t' '$8 == "FAIL" || $8 == "ERROR"' "$RESULTS" | wc -l)
echo
echo "$(awk -F'\t' '$8 == "PASS"' "$RESULTS" | wc -l) targets met, $fails not met."
