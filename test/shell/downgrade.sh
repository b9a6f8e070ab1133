#!/usr/bin/env bash
# Downgrades that ship (sql/aeauth--B--A.sql, README "Upgrading"): install B with data, go down to
# A, up to B again.  Going down leaves exactly the catalog of a fresh A, going up again exactly
# that of a fresh B; every row of every dumped table survives both; old tokens still work at A
# (the newest aeauth.so serves A's SQL) and at B; the app role's grants follow.
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/shell/versions.inc
tmp=$(mktemp -d)
db=aeauth_downgrade
app=aeauth_downgrade_app
trap 'rm -rf "$tmp"; drop_db $db; drop_db aeauth_downgrade_ref; psqlq -d postgres -c "DROP ROLE IF EXISTS $app"' EXIT
psqlq -d postgres -c "DROP ROLE IF EXISTS $app" -c "CREATE ROLE $app" 2>/dev/null
q() { psqlq -d $db "$@"; }

mapfile -t downs < <(ls sql/aeauth--*--*.sql | sed -n 's/^sql\/aeauth--\(.*\)--\(.*\)\.sql$/\1 \2/p' | while read -r b a; do
  [ "$(printf '%s\n%s\n' "$a" "$b" | sort -V | head -n1)" = "$a" ] && echo "$b $a"; done)

snapshot() {   # snapshot VERSION FILE: the catalog of a fresh install of VERSION
  recreate_db aeauth_downgrade_ref
  psqlq -d aeauth_downgrade_ref -c "CREATE EXTENSION aeauth VERSION '$1'"
  psqlq -d aeauth_downgrade_ref -f test/shell/catalog_snapshot.sql >"$2"
}
same_catalog() {   # same_catalog LABEL REFERENCE (the app role's own privileges left out)
  q -f test/shell/catalog_snapshot.sql | sed "s/,$app=[A-Za-z*]*\/[a-z_]*//g" >"$tmp/now"
  if diff -u --label "fresh" --label "after the step" "$2" "$tmp/now" >"$tmp/diff"; then ok "$1"; else not_ok "$1"; sed 's/^/#   /' "$tmp/diff"; fi
}
fingerprint() {
  q -c "SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(r::text, ''|'' ORDER BY r::text)), ''-'') FROM %s r;', c.oid::regclass, c.oid::regclass)
          FROM pg_extension e, unnest(e.extconfig) cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
         WHERE e.extname = 'aeauth' AND NOT c.relispartition ORDER BY 1" >"$tmp/fp.sql"
  q -f "$tmp/fp.sql"
}

check "at least one downgrade script ships" "$([ "${#downs[@]}" -ge 1 ] && echo yes)" "yes"
for step in "${downs[@]}"; do
  read -r b a <<<"$step"
  snapshot "$a" "$tmp/fresh_a"; snapshot "$b" "$tmp/fresh_b"
  recreate_db $db
  q -c "CREATE EXTENSION aeauth VERSION '$b'" -c "SELECT aeauth.grant_app_access('$app')" >/dev/null
  uid=$(q -c "SELECT aeauth.register_user('down@example.com', 'down', 'A password for going down')")
  q -c "UPDATE aeauth.users SET email_verified = true" >/dev/null
  read -r access refresh <<<"$(q -c "SELECT access_token || ' ' || refresh_token FROM aeauth.create_session('$uid')")"
  q -c "SELECT aeauth.log_user_event('$uid', NULL, 'x', 'game', 'x', 'success')" >/dev/null
  fingerprint >"$tmp/rows_b"

  q -c "ALTER EXTENSION aeauth UPDATE TO '$a'"
  check "$b -> $a: the extension is at $a" "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'")" "$a"
  same_catalog "$b -> $a: the catalog is that of a fresh $a" "$tmp/fresh_a"
  check "$b -> $a: every row of every dumped table is kept" "$(q -f "$tmp/fp.sql")" "$(cat "$tmp/rows_b")"
  check "$b -> $a: schema_history ends at $a" "$(q -c "SELECT version FROM aeauth.schema_history ORDER BY string_to_array(version, '.')::int[] DESC LIMIT 1")" "$a"
  check "$b -> $a: a token issued at $b validates at $a (as the app role)" \
    "$(q -c "SET ROLE $app" -c "SELECT user_id FROM aeauth.validate_session('$access')")" "$uid"

  q -c "ALTER EXTENSION aeauth UPDATE TO '$b'"
  check "$b -> $a -> $b: back at $b" "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'")" "$b"
  same_catalog "$b -> $a -> $b: the catalog is that of a fresh $b" "$tmp/fresh_b"
  check "$b -> $a -> $b: every row of every dumped table is kept" "$(fingerprint)" "$(cat "$tmp/rows_b")"
  check "$b -> $a -> $b: the refresh token issued before rotates (as the app role)" \
    "$(q -c "SET ROLE $app" -c "SELECT status FROM aeauth.refresh_session('$refresh')")" "ok"
  if [ "$(q -c "SELECT to_regprocedure('aeauth.verify_integrity()') IS NOT NULL")" = t ]; then
    # Below the default version the library is newer than the SQL by design (that check is
    # upgrade_paths.sh's); every other check must pass.
    libcheck=""
    [ "$b" = "$(aeauth_default_version)" ] || libcheck="AND check_name NOT LIKE 'library version%'"
    check "$b -> $a -> $b: verify_integrity() is all ok" \
      "$(q -c "SELECT coalesce(string_agg(check_name || ': ' || detail, '; '), 'all ok') FROM aeauth.verify_integrity() WHERE NOT ok $libcheck")" "all ok"
  fi
done
echo "1..$n"
