#!/usr/bin/env bash
# The password helper (aeauth.hash_helper, src/hasher.c, src/hasher/aeauth_hasher.c) on real
# connections: what it inherits (descriptors, environment, arguments), that its answers are the
# backend's answers both ways, and that nothing can make a backend take an answer that is not
# the answer to its own request: a helper killed between and during requests, a verification
# cancelled by statement_timeout and by pg_cancel_backend followed by a wrong password, a
# stopped helper, helpers that answer with another nonce, another magic or a status that means
# nothing, a missing helper (the backend hashes itself), a reload and an idle cancel (the helper
# stays), no helper left after a disconnect or a terminate, and single-user mode.  Swaps the installed helper for fakes and puts it back (needs root, as
# scripts/test.sh).  Expects PGHOST/PGPORT/PGUSER (scripts/test.sh) and PG_CONFIG.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=aeauth_hasher
pkglib=$("${PG_CONFIG:-pg_config}" --pkglibdir)
installed=$pkglib/aeauth_hasher
tmp=$(mktemp -d /tmp/aeauth-hasher.XXXXXX)
chmod 755 "$tmp"
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 -d $db "$@"; }
cleanup() {
  # Put the real helper back if a fake is in place.
  if [ -f "$tmp/real" ]; then mv -f "$tmp/real" "$installed"; fi
  exec 7>&- 8>&- 2>/dev/null || true
  psql -qXAt -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi; }

echo "1..31"
psql -qXAt -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psqlq -c "CREATE EXTENSION aeauth CASCADE" >/dev/null
# helpers(PID): the aeauth_hasher children of a backend, space-separated, in pid order.
psqlq <<'SQL'
CREATE FUNCTION helpers(b int DEFAULT pg_backend_pid()) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(p, ' ' ORDER BY p::int), '')
  FROM regexp_split_to_table(btrim(pg_read_file(format('/proc/%s/task/%s/children', b, b), 0, 4096, true), E' \n'), '\s+') AS p
  WHERE p <> '' AND pg_read_file(format('/proc/%s/comm', p), 0, 64, true) = E'aeauth_hasher\n'
$$;
SQL
H=$(psqlq -c "SET aeauth.argon2_memory_kib = 1024" -c "SELECT aeauth.hash_password('correct horse battery')")
# A slow hash (about a second here) so that a statement can be cancelled while the helper works.
SLOW=$(psqlq -c "SET aeauth.argon2_memory_kib = 131072" -c "SET aeauth.argon2_iterations = 32" \
  -c "SELECT aeauth.hash_password('correct horse battery')")

# Sessions: a psql reading from a fifo, its output in a file.  run FD SQL runs SQL in session FD
# (7 or 8) and prints what the session printed since its previous run (so also the output of
# what send FD SQL sent before); send only sends.
open() {   # open FD APPNAME
  mkfifo "$tmp/in.$1"
  psql -qXAt -d "$db" -v ON_ERROR_STOP=0 -v H="$H" -v SLOW="$SLOW" \
    <"$tmp/in.$1" >"$tmp/out.$1" 2>&1 7>&- 8>&- &
  eval "exec $1>\"$tmp/in.$1\""
  run "$1" "SET application_name = '$2'" >/dev/null
}
send() { printf '%s;\n' "$2" >&"$1"; }
run() {   # run FD SQL: waits for its output (up to 60 s)
  local fd=$1 mark i
  mark="--mark-$(date +%s%N)-$RANDOM--"
  printf '%s;\nSELECT %s;\n' "$2" "'$mark'" >&"$fd"
  for i in $(seq 1 600); do grep -qF -- "$mark" "$tmp/out.$fd" && break; sleep 0.1; done
  awk -v m="$mark" '/^--mark-/ { if ($0 == m) { printf "%s", buf; exit } buf = ""; next } { buf = buf $0 "\n" }' "$tmp/out.$fd"
}
backend_of() { psqlq -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"; }
helper_of() { psqlq -c "SELECT helpers($1)"; }
wait_extension() {   # wait until APPNAME waits on the helper
  local i
  for i in $(seq 1 100); do
    [ "$(psqlq -c "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = '$1'")" = Extension ] && return 0
    sleep 0.05
  done
  return 1
}
gone() { local i; [ "$1" != none ] || return 1; for i in $(seq 1 50); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done; return 1; }
log_has() { psqlq -c "SELECT count(*) > 0 FROM regexp_split_to_table(pg_read_file(current_setting('data_directory') || '/../server.log', 0, 100000000, true), E'\n') l WHERE l LIKE '%$1%'" ; }

# --- What the helper is ------------------------------------------------------------------------
open 7 hasher_a
check "helper on: the right password matches, a wrong one does not" \
  "$(run 7 "SELECT aeauth.verify_password('correct horse battery', :'H'), aeauth.verify_password('correct horse batterz', :'H')")" "t|f"
ba=$(backend_of hasher_a); ha=$(helper_of "$ba"); ha=${ha:-none}
check "the backend has exactly one helper" "$(wc -w <<<"$ha")" 1
check "its arguments are its name alone" "$(tr '\0' ' ' <"/proc/$ha/cmdline" || true)" "aeauth_hasher "
check "its environment is empty" "$(wc -c <"/proc/$ha/environ" || true)" 0
fds=$(cd "/proc/$ha/fd" && for f in *; do printf '%s:%s ' "$f" "$(readlink "$f" | sed 's/:\[.*//')"; done || true)
check "it holds stdin and stdout (pipes) and /dev/null, nothing else" "$fds" "0:pipe 1:pipe 2:/dev/null "
check "its signals are not blocked; it ignores only reload/cancel/user signals" \
  "$(sed -n 's/^SigBlk:\t//p' "/proc/$ha/status")/$(( 0x$(sed -n 's/^SigIgn:\t//p' "/proc/$ha/status") & 0x7fffffff ))" \
  "0000000000000000/$(( (1 << 0) | (1 << 1) | (1 << 9) | (1 << 11) ))"
check "it is not dumpable (no core files, no ptrace by the same user)" \
  "$(awk '$1 == "Uid:" {u=$2} END {print u}' "/proc/$ha/status")/$(stat -c %u "/proc/$ha/mem")" "$(id -u postgres)/0"

open 8 hasher_b
check "helper off: the backend verifies the helper's hash itself" \
  "$(run 8 "SET aeauth.hash_helper = off" ; run 8 "SELECT aeauth.verify_password('correct horse battery', :'H'), aeauth.verify_password('x', :'H')")" "t|f"
check "helper off: no helper started" "$(helper_of "$(backend_of hasher_b)")" ""
H2=$(run 8 "SET aeauth.argon2_memory_kib = 1024" ; run 8 "SELECT aeauth.hash_password('staple battery horse')")
check "helper on: a hash the backend made itself verifies in the helper" \
  "$(run 7 "SELECT aeauth.verify_password('staple battery horse', '$H2')")" "t"

psqlq -c "SELECT pg_reload_conf()" >/dev/null
psqlq -c "SELECT pg_cancel_backend($ba)" >/dev/null
sleep 0.5
check "a reload, and a cancel of the idle backend (SIGINT to its process group), leave the helper running" \
  "$(helper_of "$ba")" "$ha"

# --- Killed helpers ---------------------------------------------------------------------------
kill -9 "$ha"
check "helper killed between requests: right and wrong still right" \
  "$(run 7 "SELECT aeauth.verify_password('correct horse battery', :'H'), aeauth.verify_password('wrong', :'H')")" "t|f"
ha2=$(helper_of "$ba")
check "a new helper took the dead one's place (and the dead one was reaped)" \
  "$(wc -w <<<"$ha2")/$([ "$ha2" != "$ha" ] && echo new)/$([ -d "/proc/$ha" ] && echo zombie || echo reaped)" "1/new/reaped"

send 7 "SELECT 'mid-kill', aeauth.verify_password('correct horse battery', :'SLOW')"
if wait_extension hasher_a; then kill -9 "$ha2"; fi
check "helper killed during a verification: the backend computes that answer itself" \
  "$(run 7 "SELECT 1" | grep mid-kill)" "mid-kill|t"
check "the server log says so" "$(log_has 'password helper did not take the request or ended without answering')" t

# --- Cancelled verifications ------------------------------------------------------------------
run 7 "SELECT aeauth.verify_password('x', :'H')" >/dev/null
ha3=$(helper_of "$ba"); ha3=${ha3:-none}
out=$(run 7 "SET statement_timeout = '300ms'"; run 7 "SELECT aeauth.verify_password('correct horse battery', :'SLOW')"; run 7 "RESET statement_timeout")
check "statement_timeout during a verification cancels it" "$(grep -c 'canceling statement due to statement timeout' <<<"$out")" 1
check "the helper that was working is killed and reaped" "$(gone "$ha3" && echo gone)" gone
check "after the cancel a wrong password fails and the right one matches" \
  "$(run 7 "SELECT aeauth.verify_password('correct horse batterz', :'SLOW'), aeauth.verify_password('correct horse battery', :'H')")" "f|t"
ha4=$(helper_of "$ba"); ha4=${ha4:-none}
send 7 "SELECT aeauth.verify_password('correct horse battery', :'SLOW')"
if wait_extension hasher_a; then psqlq -c "SELECT pg_cancel_backend($ba)" >/dev/null; fi
out=$(run 7 "SELECT 'after-cancel', aeauth.verify_password('wrong', :'H'), aeauth.verify_password('correct horse battery', :'H')")
check "pg_cancel_backend during a verification cancels it" "$(grep -c 'canceling statement due to user request' <<<"$out")" 1
check "after pg_cancel_backend a wrong password fails and the right one matches; the old helper is gone" \
  "$(grep after-cancel <<<"$out")/$(gone "$ha4" && echo gone)" "after-cancel|f|t/gone"

ha6=$(run 7 "SELECT aeauth.verify_password('x', :'H')" >/dev/null; helper_of "$ba"); ha6=${ha6:-none}
kill -STOP "$ha6" 2>/dev/null || true
out=$(run 7 "SET statement_timeout = '500ms'"; run 7 "SELECT aeauth.verify_password('correct horse battery', :'H')"; run 7 "RESET statement_timeout")
check "a stopped helper (SIGSTOP) cannot hold the backend: statement_timeout ends the call" \
  "$(grep -c 'canceling statement due to statement timeout' <<<"$out")" 1
check "the stopped helper is killed and reaped; the next verification is right" \
  "$(gone "$ha6" && echo gone)/$(run 7 "SELECT aeauth.verify_password('wrong', :'H')")" "gone/f"

# --- Helpers that answer wrongly, and none -----------------------------------------------------
fake() {   # fake MODE: installs a fake helper (test/fixtures/fake_hasher.c) in place of the real one
  gcc -Wall -Wextra -Werror -DFAKE_"$1" -o "$tmp/fake" test/fixtures/fake_hasher.c
  [ -f "$tmp/real" ] || mv "$installed" "$tmp/real"
  install -m 755 "$tmp/fake" "$installed"
}
for mode in NONCE MAGIC STATUS; do
  fake $mode
  check "a helper that answers 'match' with the wrong ${mode,,}: a wrong password still fails, a right one matches" \
    "$(psqlq -c "SELECT aeauth.verify_password('wrong', '$H'), aeauth.verify_password('correct horse battery', '$H')")" "f|t"
done
check "the server log names the answer that was not for the request" "$(log_has 'gave an answer that was not for this request')" t
rm -f "$installed"
check "no helper installed: the backend hashes and verifies itself" \
  "$(psqlq -c "SELECT aeauth.verify_password('wrong', '$H'), aeauth.verify_password('correct horse battery', '$H'), aeauth.verify_password('x', aeauth.hash_password('correct horse battery'))")" "f|t|f"
check "the server log says the helper could not be started, and after three tries that the backend stopped trying" \
  "$(log_has 'aeauth_hasher" could not be started: No such file or directory')/$(log_has 'This backend hashes passwords itself from now on')" t/t
mv -f "$tmp/real" "$installed"

# --- No helper outlives its backend -----------------------------------------------------------
ha5=$(helper_of "$ba"); ha5=${ha5:-none}
exec 7>&-
check "a disconnect ends the backend's helper" "$(gone "$ha5" && echo gone)" gone
hb=$(run 8 "SET aeauth.hash_helper = on"; run 8 "SELECT aeauth.verify_password('x', :'H')" >/dev/null; helper_of "$(backend_of hasher_b)")
psqlq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hasher_b'" >/dev/null
check "pg_terminate_backend ends the backend's helper" "$([ -n "$hb" ] && gone "$hb" && echo gone)" gone

# --- Single-user mode (no postmaster to watch) -------------------------------------------------
# AEAUTH_SERVER_ENV: as for the cluster (scripts/test.sh --sanitize=address preloads libasan).
# shellcheck disable=SC2086
mkdir "$tmp/single"; chown postgres: "$tmp/single"
runuser -u postgres -- "$("${PG_CONFIG:-pg_config}" --bindir)/initdb" -D "$tmp/single/data" -U postgres -A trust \
  --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
out=$(printf '%s\n' "CREATE EXTENSION aeauth CASCADE;" \
  "SELECT aeauth.verify_password('correct horse battery', aeauth.hash_password('correct horse battery')) AS r1, aeauth.verify_password('wrong', aeauth.hash_password('correct horse battery')) AS r2;" |
  runuser -u postgres -- env ${AEAUTH_SERVER_ENV:-} "$("${PG_CONFIG:-pg_config}" --bindir)/postgres" --single -D "$tmp/single/data" -j postgres 2>&1 || true)
check "single-user mode: hashes and verifies through the helper, no error" \
  "$(grep -oE 'r[12] = "[tf]"' <<<"$out" | tr '\n' ' ')$(grep -c ERROR <<<"$out")" 'r1 = "t" r2 = "f" 0'
