#!/usr/bin/env bash
# Every released version V, filled with data through what V offers, then ALTER EXTENSION aeauth
# UPDATE to the newest: every row of every table pg_dump keeps survives (over the columns V had),
# and the old data works: old users log in, old access tokens validate, old refresh tokens rotate,
# old reset tokens redeem, old audit rows keep their expiry (and 1.0's get the retention rules'),
# grants to an app role survive and reach the new functions, schema_history has one row per step,
# verify_integrity() is all ok.  The library is always the newest build: it serves V's SQL
# definitions during the fill (version.h).  Where V has no API for a thing, the fill inserts rows
# as superuser with hashes from test/fixtures/password_vectors.tsv and tokens of the real format.
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/shell/versions.inc
tmp=$(mktemp -d)
db=aeauth_upgrade_path
app=aeauth_upgrade_app
trap 'rm -rf "$tmp"; drop_db $db; psqlq -d postgres -c "DROP ROLE IF EXISTS $app"' EXIT
psqlq -d postgres -c "DROP ROLE IF EXISTS $app" -c "CREATE ROLE $app"

newest=$(aeauth_default_version)
mapfile -t all < <(aeauth_versions | while read -r v; do
  [ "$(printf '%s\n%s\n' "$v" "$newest" | sort -V | tail -n1)" = "$newest" ] && echo "$v"; done)
olds=("${all[@]:0:${#all[@]}-1}")

# Fixtures: an argon2id and a bcrypt hash with known passwords (test/fixtures/password_vectors.tsv).
argon_hash='$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'
argon_pw='password'
bcrypt_hash='$2b$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'
bcrypt_pw='correct horse battery staple'
grep -qF "$argon_hash" test/fixtures/password_vectors.tsv && grep -qF "$bcrypt_hash" test/fixtures/password_vectors.tsv
tok() { printf '%s%s%s' "$1" "$(printf '%042d' "$2" | tr 0 x)" A; }   # a well-formed token
has() { [ "$(psqlq -d $db -c "SELECT to_regprocedure('$1') IS NOT NULL")" = t ]; }
q() { psqlq -d $db "$@"; }

# Queries that fingerprint every table pg_dump keeps, over the columns it has now.  Partitions are
# left to their parent (rows move between partitions); audit expires_at is compared on its own.
fingerprint_queries() {
  q -c "SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(r::text, ''|'' ORDER BY r::text)), ''-'') FROM (SELECT %s FROM %s) r;',
                      c.oid::regclass, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum), c.oid::regclass)
          FROM pg_extension e, unnest(e.extconfig) cfg(oid)
          JOIN pg_class c ON c.oid = cfg.oid
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE e.extname = 'aeauth' AND NOT c.relispartition
           AND NOT (c.relname = 'user_audit_log' AND a.attname = 'expires_at')
           -- 1.7 moves pending reset tokens into aeauth.password_reset_tokens and clears these
           -- columns; the old reset token is redeemed below, after the update.
           AND NOT (c.relname = 'users' AND a.attname IN ('password_reset_token_hash', 'password_reset_expires_at'))
         GROUP BY c.oid ORDER BY c.oid::regclass::text"
}

for v in "${olds[@]}"; do
  recreate_db $db
  q -c "CREATE EXTENSION aeauth VERSION '$v'" -c "SELECT aeauth.grant_app_access('$app')" >/dev/null

  # --- users: argon2id and bcrypt --------------------------------------------------------------
  if has 'aeauth.register_user(text,text,text)'; then
    argon_pw='Upgrade path 1 password'
    argon_id=$(q -c "SELECT aeauth.register_user('argon@up.example', 'argon', '$argon_pw')")
    bcrypt_id=$(q -c "SELECT aeauth.import_user('bcrypt@up.example', 'bcrypt', '$bcrypt_hash', true)")
  else
    argon_pw='password'
    argon_id=$(q -c "INSERT INTO aeauth.users (email, username, password_hash, email_verified) VALUES ('argon@up.example', 'argon', '$argon_hash', true) RETURNING id")
    bcrypt_id=$(q -c "INSERT INTO aeauth.users (email, username, password_hash, email_verified) VALUES ('bcrypt@up.example', 'bcrypt', '$bcrypt_hash', true) RETURNING id")
  fi
  q -c "UPDATE aeauth.users SET email_verified = true" >/dev/null   # so that login does not stop at 'unverified'
  q -c "INSERT INTO aeauth.users (email, username, password_hash) SELECT 'bulk' || g || '@up.example', 'bulk' || g, '$bcrypt_hash' FROM generate_series(1, 20) g"

  # --- sessions --------------------------------------------------------------------------------
  if has 'aeauth.login(text,text,inet,text,text,text,text)'; then
    read -r access refresh <<<"$(q -c "SELECT access_token || ' ' || refresh_token FROM aeauth.login('argon', '$argon_pw', '192.0.2.1', 'old agent', 'pc', 'old', 'device-1')")"
    [ -n "$refresh" ] || { echo "Bail out! login at $v did not succeed"; exit 1; }
  elif has 'aeauth.create_session(uuid,inet,text,text,text,boolean)'; then
    read -r access refresh <<<"$(q -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('$argon_id', device_name => 'old')")"
  else
    access=$(tok aea_ 1); refresh=$(tok aer_ 1)
    q -c "INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at, device_name)
          VALUES ('$argon_id', sha256(convert_to('$access', 'UTF8')), sha256(convert_to('$refresh', 'UTF8')), now() + interval '1 day', 'old')"
  fi
  q -c "INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
        SELECT u.id, sha256(convert_to('a' || u.id, 'UTF8')), sha256(convert_to('r' || u.id, 'UTF8')), now() + interval '1 day'
          FROM aeauth.users u WHERE u.username LIKE 'bulk%'"

  # --- a password reset token ------------------------------------------------------------------
  if has 'aeauth.request_password_reset(text)'; then
    reset=$(q -c "SELECT aeauth.request_password_reset('bcrypt@up.example')")
  else
    reset=$(tok aep_ 1)
    q -c "UPDATE aeauth.users SET password_reset_token_hash = sha256(convert_to('$reset', 'UTF8')),
                                 password_reset_expires_at = now() + interval '1 hour' WHERE id = '$bcrypt_id'"
  fi

  # --- audit events ----------------------------------------------------------------------------
  if has 'aeauth.log_user_event(uuid,uuid,character varying,character varying,character varying,character varying,inet,text,jsonb,character varying,character varying,jsonb)'; then
    q -c "SELECT aeauth.log_user_event('$argon_id', NULL, 'login', 'authentication', 'login', 'success')
          UNION ALL SELECT aeauth.log_user_event('$argon_id', NULL, 'lockout', 'security', 'lock', 'success')
          UNION ALL SELECT aeauth.log_user_event(NULL, NULL, 'setup', 'admin', 'setup', 'success', p_retention_policy => 'permanent')" >/dev/null
    q -c "SELECT count(*) FROM aeauth.run_maintenance()" >/dev/null
  else
    q -c "INSERT INTO aeauth.user_audit_log (id, user_id, event_type, event_category, action, status, retention_policy, created_at) VALUES
          ('00000000-0000-0000-0000-0000000000a1', '$argon_id', 'login', 'authentication', 'login', 'success', 'standard', now() - interval '10 days'),
          ('00000000-0000-0000-0000-0000000000a2', NULL, 'setup', 'admin', 'setup', 'success', 'permanent', now() - interval '10 days'),
          ('00000000-0000-0000-0000-0000000000a3', '$argon_id', 'lockout', 'security', 'lock', 'success', 'standard', now() - interval '10 days')"
  fi
  q -c "SELECT aeauth.grant_app_access('$app')" >/dev/null

  fingerprint_queries >"$tmp/fp.sql"
  q -f "$tmp/fp.sql" >"$tmp/before"
  q -c "SELECT id || ' ' || coalesce(expires_at::text, 'NULL') || ' ' || retention_policy FROM aeauth.user_audit_log ORDER BY id" >"$tmp/audit_before"
  audit_rows=$(wc -l <"$tmp/audit_before")

  # --- the update ------------------------------------------------------------------------------
  q -c "ALTER EXTENSION aeauth UPDATE"

  check "$v: updated to $newest" "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'")" "$newest"
  q -f "$tmp/fp.sql" >"$tmp/after"
  if diff -u "$tmp/before" "$tmp/after" >"$tmp/diff" && [ "$(grep -c ' [1-9][0-9]* [0-9a-f]\{32\}$' "$tmp/before")" -ge 4 ]; then
    ok "$v: every row of every dumped table survived ($(tr '\n' ';' <"$tmp/before" | sed 's/ [0-9a-f]\{32\}//g'))"
  else
    not_ok "$v: every row of every dumped table survived"; sed 's/^/#   /' "$tmp/diff" "$tmp/before"
  fi
  if [ "$v" = 1.0 ]; then
    check "$v: old audit rows get expiry by the retention rules (standard +90 days, permanent never, security +2 years)" \
      "$(q -c "SELECT string_agg((expires_at = CASE id WHEN '00000000-0000-0000-0000-0000000000a1' THEN created_at + interval '90 days'
                                                    WHEN '00000000-0000-0000-0000-0000000000a2' THEN 'infinity'
                                                    ELSE created_at + interval '2 years' END)::text, ',' ORDER BY id) FROM aeauth.user_audit_log")" "true,true,true"
  else
    check "$v: old audit rows keep their expires_at and retention policy" \
      "$(q -c "SELECT id || ' ' || coalesce(expires_at::text, 'NULL') || ' ' || retention_policy FROM aeauth.user_audit_log ORDER BY id")" "$(cat "$tmp/audit_before")"
  fi
  check "$v: maintenance after the update keeps every unexpired audit row" \
    "$(q -c "SELECT count(*) FROM aeauth.run_maintenance()" >/dev/null; q -c "SELECT count(*) FROM aeauth.user_audit_log")" "$audit_rows"
  check "$v: schema_history has one row per version, 1.0 to $newest" \
    "$(q -c "SELECT string_agg(version, ' ' ORDER BY string_to_array(version, '.')::int[]) FROM aeauth.schema_history")" "${all[*]}"
  check "$v: every schema_history row has a time and a description" \
    "$(q -c "SELECT count(*) FROM aeauth.schema_history WHERE applied_at IS NOT NULL AND description <> ''")" "${#all[@]}"

  # --- old users log in ------------------------------------------------------------------------
  if has 'aeauth.login(text,text,inet,text,text,text,text)'; then
    check "$v: the old argon2id user logs in" "$(q -c "SELECT status FROM aeauth.login('argon', '$argon_pw')")" "ok"
    check "$v: the old bcrypt user logs in" "$(q -c "SELECT status FROM aeauth.login('bcrypt@up.example', '$bcrypt_pw')")" "ok"
  else
    check "$v: the old argon2id user's password verifies" \
      "$(q -c "SELECT aeauth.verify_password('$argon_pw', password_hash) FROM aeauth.users WHERE id = '$argon_id'")" "t"
    check "$v: the old bcrypt user's password verifies" \
      "$(q -c "SELECT aeauth.verify_password('$bcrypt_pw', password_hash) FROM aeauth.users WHERE id = '$bcrypt_id'")" "t"
  fi

  # --- old tokens, called as the app role --------------------------------------------------------
  check "$v: the app role keeps its grants and gets the new app functions, not the admin ones" \
    "$(q -c "SELECT has_function_privilege('$app', 'aeauth.validate_session(text)', 'EXECUTE')
                  AND has_function_privilege('$app', 'aeauth.refresh_session(text,inet,text)', 'EXECUTE')
                  AND has_function_privilege('$app', 'aeauth.reset_password(text,text)', 'EXECUTE')
                  AND NOT has_function_privilege('$app', 'aeauth.import_user(text,text,text,boolean)', 'EXECUTE')
                  AND NOT has_function_privilege('$app', 'aeauth.verify_integrity()', 'EXECUTE')
                  AND NOT has_table_privilege('$app', 'aeauth.users', 'SELECT')")" "t"
  check "$v: an old access token validates (as the app role)" \
    "$(q -c "SET ROLE $app" -c "SELECT user_id FROM aeauth.validate_session('$access')")" "$argon_id"
  check "$v: an old refresh token rotates (as the app role)" \
    "$(q -c "SET ROLE $app" -c "SELECT status FROM aeauth.refresh_session('$refresh')")" "ok"
  check "$v: an old reset token redeems once (as the app role)" \
    "$(q -c "SET ROLE $app" -c "SELECT aeauth.reset_password('$reset', 'A new password after the upgrade')" -c "SELECT aeauth.reset_password('$reset', 'A new password after the upgrade')" | tr '\n' ' ')" "ok invalid "
  check "$v: the other users' old sessions stay active until their expiry" \
    "$(q -c "SELECT count(*) FROM aeauth.user_sessions s JOIN aeauth.users u ON u.id = s.user_id WHERE u.username LIKE 'bulk%' AND s.status = 'active' AND s.expires_at > now()")" "20"
  check "$v: verify_integrity() is all ok after the update" \
    "$(q -c "SELECT coalesce(string_agg(check_name || ': ' || detail, '; '), 'all ok') FROM aeauth.verify_integrity() WHERE NOT ok")" "all ok"
done
echo "1..$n"
