#!/usr/bin/env bash
# Secrets never leave (issue 8): a realistic flow -- register, verify email, login (right and
# wrong), validate, refresh (and a reused refresh token), password change (wrong and right),
# reset, policy failures, taken email, audit metadata holding secrets -- called the way a game
# backend calls it, with bind parameters (test/fixtures/bindcall.c, libpq's PQexecParams), on a
# cluster of its own logging as much as is sensible:
#   log_min_messages=debug1 log_error_verbosity=verbose log_min_error_statement=error
#   log_statement=none
# Then every test password and token is searched for in the server log, in every audit row and
# in everything the client was told (messages, details, hints, contexts, notices): zero hits.
# A second run with log_statement=all shows why bind parameters are not enough on their own
# there (PostgreSQL logs their values, see README "Security notes"): reported, not asserted.
# Needs root (it starts a cluster as postgres, like scripts/test.sh); PG_CONFIG from test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
pg_setup_paths
work=$(mktemp -d /tmp/aeauth-secrets.XXXXXX)
cleanup() { stop_cluster; rm -rf "$work"; }

echo "1..16"
if gcc -Wall -Wextra -Werror -I"$("$PG_CONFIG" --includedir)" -I/usr/include/postgresql -o "$work/bindcall" test/fixtures/bindcall.c \
     -L"$("$PG_CONFIG" --libdir)" -lpq 2>"$work/cc.log"; then
  echo "ok 1 - bindcall (libpq, bind parameters) builds"
else
  echo "not ok 1 - bindcall builds"; sed 's/^/# /' "$work/cc.log"; exit 1
fi

# The secrets of the run (passwords chosen so that nothing else in a log could contain them).
P1='Sekrit-Alpha-7391x'; P2='Sekrit-Bravo-8402x'; P3='Sekrit-Charlie-9513x'
W1='Wrongly-Delta-1624x'; W2='Wrongly-Echo-2735x'; SHORT='Qz7-kp!'
META='Metadata-Foxtrot-3846x'

run_flow() {   # run_flow LOGFILE_OF_CLIENT: the flow; prints the tokens it saw, one a line
  local out=$1 app="dbname=aeauth_secrets user=aeauth_secrets_app" su="dbname=aeauth_secrets user=postgres"
  local su0="dbname=aeauth_secrets user=postgres options='-c aeauth.refresh_reuse_interval=0'"
  local b=$work/bindcall uid vtok acc ref acc2 ref2 rtok acc3 r
  call() { "$b" "$@" 2>>"$out" | tee -a "$out" || true; }
  uid=$(call "$app" 'SELECT aeauth.register_user($1, $2, $3)' 'player@example.com' 'player1' "$P1")
  call "$app" 'SELECT aeauth.register_user($1, $2, $3)' 'PLAYER@example.com' 'player2' "$P2" >/dev/null   # 23505
  call "$app" 'SELECT aeauth.register_user($1, $2, $3)' 'short@example.com' 'shorty' "$SHORT" >/dev/null   # 22023
  vtok=$(call "$app" 'SELECT aeauth.request_email_verification($1)' "$uid")
  call "$app" 'SELECT aeauth.verify_email($1)' "$vtok" >/dev/null
  call "$app" 'SELECT aeauth.verify_email($1)' "$vtok" >/dev/null                        # invalid now
  call "$app" 'SELECT status FROM aeauth.login($1, $2, $3, $4, $5, $6, $7)' 'player1' "$W1" '10.0.0.7' 'GameClient/1.0' 'pc' 'desk' 'dev-1' >/dev/null
  r=$(call "$app" 'SELECT status, access_token, refresh_token FROM aeauth.login($1, $2, $3, $4, $5, $6, $7)' 'player@example.com' "$P1" '10.0.0.7' 'GameClient/1.0' 'pc' 'desk' 'dev-1')
  acc=$(cut -f2 <<<"$r"); ref=$(cut -f3 <<<"$r")
  call "$app" 'SELECT user_id FROM aeauth.validate_session($1)' "$acc" >/dev/null
  r=$(call "$app" 'SELECT status, access_token, refresh_token FROM aeauth.refresh_session($1, $2, $3)' "$ref" '10.0.0.7' 'GameClient/1.0')
  acc2=$(cut -f2 <<<"$r"); ref2=$(cut -f3 <<<"$r")
  call "$su0" 'SELECT status FROM aeauth.refresh_session($1)' "$ref" >/dev/null   # reused: the whole session goes
  r=$(call "$app" 'SELECT status, access_token, refresh_token FROM aeauth.login($1, $2)' 'player1' "$P1")
  acc2=$(cut -f2 <<<"$r"); ref2=$(cut -f3 <<<"$r")
  call "$app" 'SELECT aeauth.log_user_event($1, NULL, $2, $3, $4, $5, NULL, NULL, $6::jsonb)' "$uid" 'probe' 'game' 'probe' 'success' \
       "{\"password\": \"$META\", \"nested\": {\"refresh_token\": \"$ref2\"}, \"note\": \"ok\"}" >/dev/null
  call "$app" 'SELECT aeauth.change_password($1, $2, $3)' "$uid" "$W2" "$P2" >/dev/null   # invalid_credentials
  call "$app" 'SELECT aeauth.change_password($1, $2, $3)' "$uid" "$P1" "$SHORT" >/dev/null # 22023
  call "$app" 'SELECT aeauth.change_password($1, $2, $3)' "$uid" "$P1" "$P2" >/dev/null   # ok
  call "$app" 'SELECT count(*) FROM aeauth.validate_session($1)' "$acc2" >/dev/null       # revoked: 0
  rtok=$(call "$app" 'SELECT aeauth.request_password_reset($1)' 'player@example.com')
  call "$app" 'SELECT aeauth.reset_password($1, $2)' "$rtok" "$SHORT" >/dev/null          # 22023
  call "$app" 'SELECT aeauth.reset_password($1, $2)' "$rtok" "$P3" >/dev/null             # ok
  call "$app" 'SELECT aeauth.reset_password($1, $2)' "$rtok" "$P3" >/dev/null             # invalid
  call "$app" 'SELECT aeauth.change_password($1, $2, $3)' "$uid" "$P3" 'player1' >/dev/null  # 22023 equal to username
  for i in 1 2 3 4 5 6; do
    call "$app" 'SELECT status FROM aeauth.login($1, $2)' 'player1' "$W1" >/dev/null      # to the lock
  done
  r=$(call "$su" 'SELECT aeauth.unlock_user($1), (SELECT access_token FROM aeauth.login($2, $3))' "$uid" 'player1' "$P3")
  acc3=$(cut -f2 <<<"$r")
  call "$su" 'SELECT aeauth.verify_password($1, aeauth.hash_password($1))' "$P3" >/dev/null
  call "$su" 'SELECT aeauth.set_password($1, $2)' "$uid" "$SHORT" >/dev/null               # 22023
  call "$app" 'SELECT aeauth.logout($1)' "$acc3" >/dev/null
  printf '%s\n' "$vtok" "$acc" "$ref" "$acc2" "$ref2" "$rtok" "$acc3"
}

setup_db() {
  psql -qXAt -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE aeauth_secrets" -c "CREATE ROLE aeauth_secrets_app LOGIN"
  psql -qXAt -v ON_ERROR_STOP=1 -d aeauth_secrets -c "CREATE EXTENSION aeauth CASCADE" \
    -c "SELECT aeauth.grant_app_access('aeauth_secrets_app')" >/dev/null
}

hits() {   # hits FILE SECRET...: how many of the secrets occur in the file
  local f=$1 n=0 s; shift
  for s in "$@"; do [ -n "$s" ] && grep -qF -- "$s" "$f" && n=$((n + 1)); done
  echo "$n"
}

# --- run 1: bind parameters, log_statement = none ------------------------------------------
start_cluster log_min_messages=debug1 log_error_verbosity=verbose log_min_error_statement=error \
  log_statement=none log_connections=on
trap cleanup EXIT   # after start_cluster, which sets its own
setup_db
mapfile -t tokens < <(run_flow "$work/client.log")
passwords=("$P1" "$P2" "$P3" "$W1" "$W2" "$SHORT" "$META")
psql -qXAt -d aeauth_secrets -c "COPY (SELECT * FROM aeauth.user_audit_log) TO STDOUT" >"$work/audit.txt"
psql -qXAt -d aeauth_secrets -c "COPY (SELECT * FROM aeauth.users) TO STDOUT" >"$work/users.txt"
sync; cp "$AEAUTH_PGDIR/server.log" "$work/server.log"

ntok=0; for t in "${tokens[@]}"; do [ "${#t}" -eq 47 ] && ntok=$((ntok + 1)); done
[ "$ntok" -eq 7 ] && echo "ok 2 - the flow made 7 tokens (verification, 3 access, 2 refresh, reset)" \
  || echo "not ok 2 - the flow made $ntok tokens of 7"
grep -q $'^ERROR\t23505' "$work/client.log" && grep -q $'^ERROR\t22023' "$work/client.log" \
  && echo "ok 3 - the client saw errors (23505, 22023) to search" || echo "not ok 3 - no errors reached the client"
grep -q 'DEBUG:' "$work/server.log" && grep -q 'STATEMENT:' "$work/server.log" && grep -q 'LOCATION:' "$work/server.log" \
  && echo "ok 4 - the server log is verbose (DEBUG, STATEMENT, LOCATION lines)" || echo "not ok 4 - the server log is not verbose"
grep -q 'reused' "$work/client.log" && echo "ok 5 - a reused refresh token was detected" || echo "not ok 5 - no reuse"
[ "$(grep -c 'probe' "$work/audit.txt")" -ge 1 ] && [ "$(wc -l <"$work/audit.txt")" -ge 10 ] \
  && echo "ok 6 - audit rows to search ($(wc -l <"$work/audit.txt"))" || echo "not ok 6 - too few audit rows"
n=$(hits "$work/server.log" "${passwords[@]}"); [ "$n" -eq 0 ] && echo "ok 7 - no password in the server log" || echo "not ok 7 - $n passwords in the server log"
n=$(hits "$work/server.log" "${tokens[@]}"); [ "$n" -eq 0 ] && echo "ok 8 - no token in the server log" || echo "not ok 8 - $n tokens in the server log"
n=$(hits "$work/client.log" "${passwords[@]}"); [ "$n" -eq 0 ] && echo "ok 9 - no password in any message, detail, hint, context or notice" || echo "not ok 9 - $n passwords reached the client"
# The client did receive tokens as results (that is the API); none may appear in an error line.
grep -E '^ERROR|NOTICE|WARNING' "$work/client.log" >"$work/client-errors.log" || true
n=$(hits "$work/client-errors.log" "${tokens[@]}"); [ "$n" -eq 0 ] && echo "ok 10 - no token in any error or notice" || echo "not ok 10 - $n tokens in errors"
n=$(hits "$work/audit.txt" "${passwords[@]}"); [ "$n" -eq 0 ] && echo "ok 11 - no password in any audit row (metadata scrubbed)" || echo "not ok 11 - $n passwords in audit rows"
n=$(hits "$work/audit.txt" "${tokens[@]}"); [ "$n" -eq 0 ] && echo "ok 12 - no token in any audit row" || echo "not ok 12 - $n tokens in audit rows"
n=$(hits "$work/users.txt" "${passwords[@]}" "${tokens[@]}"); [ "$n" -eq 0 ] && echo "ok 13 - no password or token stored in users" || echo "not ok 13 - $n secrets in users"
grep -q '\[redacted\]' "$work/audit.txt" && echo "ok 14 - the secret-looking metadata was redacted, not dropped" || echo "not ok 14 - no [redacted] in audit rows"
stop_cluster

# --- run 2: the same with log_statement = all (why bind parameters alone are not enough) ----
start_cluster log_min_messages=debug1 log_error_verbosity=verbose log_min_error_statement=error log_statement=all
trap cleanup EXIT
setup_db
mapfile -t tokens2 < <(run_flow "$work/client2.log")
sync; cp "$AEAUTH_PGDIR/server.log" "$work/server2.log"
n2p=$(hits "$work/server2.log" "${passwords[@]}"); n2t=$(hits "$work/server2.log" "${tokens2[@]}")
echo "ok 15 - log_statement=all run done # $n2p of ${#passwords[@]} passwords and $n2t of ${#tokens2[@]} tokens are in its server log (bind parameter values are logged: keep log_statement off or set log_parameter_max_length=0)"
stop_cluster

# --- run 3: log_statement = all with log_parameter_max_length = 0: the remedy --------------
start_cluster log_min_messages=debug1 log_error_verbosity=verbose log_min_error_statement=error log_statement=all \
  log_parameter_max_length=0
trap cleanup EXIT
setup_db
mapfile -t tokens3 < <(run_flow "$work/client3.log")
sync; cp "$AEAUTH_PGDIR/server.log" "$work/server3.log"
n=$(hits "$work/server3.log" "${passwords[@]}" "${tokens3[@]}")
[ "$n" -eq 0 ] && echo "ok 16 - with log_statement=all and log_parameter_max_length=0: no secret in the server log" \
  || echo "not ok 16 - $n secrets in the server log with log_parameter_max_length=0"
