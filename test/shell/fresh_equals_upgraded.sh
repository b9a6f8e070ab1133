#!/usr/bin/env bash
# A fresh install of the newest version has exactly the catalog of every older version updated to
# the newest: tables, columns, types, defaults, constraints, indexes, triggers, views, functions
# (signature, result, volatility, security, settings, owner, definition), privileges with
# pg_init_privs, extension membership and the tables pg_dump keeps (test/shell/catalog_snapshot.sql).
# Today a fresh install runs the same chain (there is no full script but 1.0); this holds the line
# if anyone adds one.  A difference fails with a unified diff.  Expects PGHOST/PGPORT/PGUSER.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/shell/versions.inc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; drop_db aeauth_fresh; drop_db aeauth_upgraded' EXIT

newest=$(aeauth_default_version)
mapfile -t olds < <(aeauth_versions | while read -r v; do
  [ "$v" != "$newest" ] && [ "$(printf '%s\n%s\n' "$v" "$newest" | sort -V | head -n1)" = "$v" ] && echo "$v"; done)
echo "1..$(( ${#olds[@]} + 1 ))"

recreate_db aeauth_fresh
psqlq -d aeauth_fresh -c "CREATE EXTENSION aeauth"
psqlq -d aeauth_fresh -f test/shell/catalog_snapshot.sql >"$tmp/fresh"
check "the fresh install of $newest describes a whole product (verify_integrity, login, accounts, sessions, audit present)" \
  "$(grep -cE '^function aeauth\.(verify_integrity\(\)|login\(|validate_session\(text\)|log_user_event\(|register_user\()' "$tmp/fresh")" "5"

for v in "${olds[@]}"; do
  recreate_db aeauth_upgraded
  psqlq -d aeauth_upgraded -c "CREATE EXTENSION aeauth VERSION '$v'" -c "ALTER EXTENSION aeauth UPDATE"
  psqlq -d aeauth_upgraded -f test/shell/catalog_snapshot.sql >"$tmp/upgraded"
  if diff -u --label "fresh $newest" --label "$v updated to $newest" "$tmp/fresh" "$tmp/upgraded" >"$tmp/diff"; then
    ok "$v + ALTER EXTENSION aeauth UPDATE has the catalog of a fresh $newest ($(wc -l <"$tmp/fresh") facts)"
  else
    not_ok "$v + ALTER EXTENSION aeauth UPDATE has the catalog of a fresh $newest"
    sed 's/^/#   /' "$tmp/diff"
  fi
done
