#!/usr/bin/env bash
# pg_dump of a database using aeauth at the newest version, installed fresh or updated from the
# oldest version, restored in plain (psql) and custom (-Fc, pg_restore) formats: every row of every
# aeauth table is kept, grants to an app role and an admin role are intact, and the restored
# database works with what was issued before the dump: users log in, access tokens validate and
# refresh tokens rotate, called as the app role; verify_integrity() is all ok.
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/shell/versions.inc
tmp=$(mktemp -d)
app=aeauth_dump_app
admin=aeauth_dump_admin
src=aeauth_udump_src
trap 'rm -rf "$tmp"; for d in $src aeauth_udump_plain aeauth_udump_custom; do drop_db $d; done; psqlq -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $admin"' EXIT
psqlq -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $admin" -c "CREATE ROLE $app" -c "CREATE ROLE $admin" 2>/dev/null
oldest=$(aeauth_versions | head -n1)
newest=$(aeauth_default_version)
has_login() { [ "$(psqlq -d "$1" -c "SELECT to_regprocedure('aeauth.login(text,text,inet,text,text,text,text)') IS NOT NULL")" = t ]; }

# Every table in schema aeauth (month partitions included): rows and a digest of all their columns.
# session_secret gains one row on restore (the restore's CREATE EXTENSION makes one; the oldest
# wins, see sessions_dump_restore.sh): only its dumped row is compared.  schema_history's times
# are those of the restore's CREATE EXTENSION, so only its versions are compared.  The decoy rows
# of request_password_reset are not dumped (nothing in them matters): only the slots are compared.
tables() {
  psqlq -d "$1" -c "SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(r::text, ''|'' ORDER BY r::text)), ''-'') FROM (SELECT %s FROM %s) r%s;',
                                 c.relname,
                                 CASE c.relname WHEN 'password_reset_decoy' THEN 'slot, email, username' ELSE '*' END,
                                 c.oid::regclass,
                                 CASE c.relname WHEN 'session_secret' THEN ' WHERE created_at = (SELECT min(created_at) FROM aeauth.session_secret)' ELSE '' END)
                      FROM pg_class c
                     WHERE c.relnamespace = 'aeauth'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_history'
                     ORDER BY c.relname" >"$tmp/t.sql"
  echo "SELECT 'schema_history ' || string_agg(version, ' ' ORDER BY version) FROM aeauth.schema_history;" >>"$tmp/t.sql"
  psqlq -d "$1" -f "$tmp/t.sql"
}

for how in fresh upgraded; do
  recreate_db $src
  psqlq -d postgres -c "ALTER DATABASE $src SET aeauth.refresh_reuse_interval = '1h'"
  if [ $how = fresh ]; then
    psqlq -d $src -c "CREATE EXTENSION aeauth"
  else
    psqlq -d $src -c "CREATE EXTENSION aeauth VERSION '$oldest'"
  fi
  # Grants made before an update are re-applied by the update scripts (refresh_grants()).
  psqlq -d $src -c "SELECT aeauth.grant_app_access('$app')" -c "SELECT aeauth.grant_admin_access('$admin')" >/dev/null
  [ $how = upgraded ] && psqlq -d $src -c "ALTER EXTENSION aeauth UPDATE"
  uid=$(psqlq -d $src -c "SELECT aeauth.register_user('dump@example.com', 'dumper', 'A password for the dump')")
  psqlq -d $src -c "SELECT aeauth.import_user('bc@example.com', 'bcrypter', '\$2b\$04\$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.', true)" >/dev/null
  psqlq -d $src -c "UPDATE aeauth.users SET email_verified = true" >/dev/null
  read -r access refresh <<<"$(psqlq -d $src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('$uid')")"
  read -r _ rotated <<<"$(psqlq -d $src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('$uid')")"
  read -r access2 refresh2 <<<"$(psqlq -d $src -c "SELECT access_token || ' ' || refresh_token FROM aeauth.refresh_session('$rotated')")"
  psqlq -d $src -c "SELECT count(*) FROM aeauth.run_maintenance()" \
               -c "SELECT aeauth.log_user_event('$uid', NULL, 'x', 'game', 'x', 'success')" \
               -c "SELECT aeauth.log_user_event(NULL, NULL, 'setup', 'admin', 'setup', 'success', p_retention_policy => 'permanent')" \
               -c "INSERT INTO aeauth.password_denylist (password) VALUES ('hunter2hunter2')" >/dev/null
  want=$(tables $src)

  pg_dump -d $src -f "$tmp/plain.sql"
  pg_dump -Fc -d $src -f "$tmp/custom.dump"
  for fmt in plain custom; do
    dst=aeauth_udump_$fmt
    recreate_db $dst
    psqlq -d postgres -c "ALTER DATABASE $dst SET aeauth.refresh_reuse_interval = '1h'"
    if [ $fmt = plain ]; then psqlq -d $dst -f "$tmp/plain.sql" >/dev/null; else pg_restore -d $dst "$tmp/custom.dump"; fi
    t="$how $newest, $fmt"
    got=$(tables $dst)
    if [ "$got" = "$want" ]; then ok "$t: every row of every aeauth table is kept ($(grep -c . <<<"$want") tables)"
    else not_ok "$t: every row of every aeauth table is kept"; diff <(echo "$want") <(echo "$got") | sed 's/^/#   /' || true; fi
    check "$t: the app and admin roles keep exactly their privileges" \
      "$(psqlq -d $dst -c "SELECT has_schema_privilege('$app', 'aeauth', 'USAGE')
                             AND has_function_privilege('$app', 'aeauth.validate_session(text)', 'EXECUTE')
                             AND has_function_privilege('$app', 'aeauth.refresh_session(text,inet,text)', 'EXECUTE')
                             AND NOT has_function_privilege('$app', 'aeauth.import_user(text,text,text,boolean)', 'EXECUTE')
                             AND has_function_privilege('$admin', 'aeauth.verify_integrity()', 'EXECUTE')
                             AND has_table_privilege('$admin', 'aeauth.recent_security_events', 'SELECT')
                             AND NOT has_table_privilege('$app', 'aeauth.users', 'SELECT')")" "t"
    if has_login $dst; then
      check "$t: a user registered before the dump logs in (as the app role)" \
        "$(psqlq -d $dst -c "SET ROLE $app" -c "SELECT status FROM aeauth.login('dumper', 'A password for the dump')")" "ok"
      check "$t: an imported bcrypt user logs in (as the app role)" \
        "$(psqlq -d $dst -c "SET ROLE $app" -c "SELECT status FROM aeauth.login('bcrypter', 'correct horse battery staple')")" "ok"
    else
      check "$t: a user registered before the dump has a verifying password" \
        "$(psqlq -d $dst -c "SELECT aeauth.verify_password('A password for the dump', password_hash) FROM aeauth.users WHERE id = '$uid'")" "t"
      check "$t: an imported bcrypt user has a verifying password" \
        "$(psqlq -d $dst -c "SELECT aeauth.verify_password('correct horse battery staple', password_hash) FROM aeauth.users WHERE username = 'bcrypter'")" "t"
    fi
    check "$t: access tokens issued before the dump validate (as the app role)" \
      "$(psqlq -d $dst -c "SET ROLE $app" -c "SELECT count(*) FROM aeauth.validate_session('$access')" -c "SELECT count(*) FROM aeauth.validate_session('$access2')" | tr '\n' ' ')" "1 1 "
    check "$t: a refresh token issued before the dump rotates (as the app role)" \
      "$(psqlq -d $dst -c "SET ROLE $app" -c "SELECT status FROM aeauth.refresh_session('$refresh')")" "ok"
    check "$t: a refresh token rotated before the dump is still recognised (same pair within the grace period)" \
      "$(psqlq -d $dst -c "SET ROLE $app" -c "SELECT access_token FROM aeauth.refresh_session('$rotated')")" "$access2"
    check "$t: verify_integrity() is all ok (as the admin role)" \
      "$(psqlq -d $dst -c "SET ROLE $admin" -c "SELECT coalesce(string_agg(check_name || ': ' || detail, '; '), 'all ok') FROM aeauth.verify_integrity() WHERE NOT ok")" "all ok"
  done
done
echo "1..$n"
