#!/usr/bin/env bash
# Reference vectors (test/fixtures/password_vectors.tsv): libsodium, phc-winner-argon2, Openwall
# crypt_blowfish, bcryptjs and node-argon2.  For every line: (1) the libraries alone
# (test/fixtures/verify_ref.c) give the expected answer; (2) aeauth.verify_password gives the same
# answer, where the password is valid UTF-8 and the format is one aeauth accepts ($2x$ is not).
# Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
db=aeauth_vectors
trap 'rm -rf "$tmp"; psql -qXAt -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

gcc -O1 -Wall -Werror -o "$tmp/verify_ref" "$here/fixtures/verify_ref.c" -lsodium -lcrypt
grep -v '^#' "$here/fixtures/password_vectors.tsv" > "$tmp/vectors"
n_lines=$(wc -l < "$tmp/vectors")
"$tmp/verify_ref" < "$tmp/vectors" > "$tmp/ref"

psqlq -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psqlq -d $db -c "CREATE EXTENSION aeauth"
psqlq -d $db -c "CREATE TABLE v (n int, pw_hex text, hash text)"
awk -F'\t' '{print NR "\t" $1 "\t" $2}' "$tmp/vectors" | psqlq -d $db -c "\copy v FROM STDIN"
# NULL where aeauth cannot be asked (not UTF-8, or $2x$): those lines are checked against the library only.
psqlq -d $db > "$tmp/aeauth" <<'SQL'
CREATE FUNCTION utf8_or_null(b bytea) RETURNS text LANGUAGE plpgsql AS
$$BEGIN RETURN convert_from(b, 'UTF8'); EXCEPTION WHEN others THEN RETURN NULL; END$$;
SELECT CASE WHEN hash LIKE '$2x$%' OR pw IS NULL THEN 'skip' ELSE aeauth.verify_password(pw, hash)::text END
  FROM (SELECT n, hash, utf8_or_null(CASE pw_hex WHEN '-' THEN ''::bytea ELSE decode(pw_hex, 'hex') END) AS pw FROM v) s
 ORDER BY n;
SQL

echo "1..$((n_lines * 2))"
i=0
while IFS=$'\t' read -r hex hash expected source; do
  i=$((i + 1))
  ref=$(sed -n "${i}p" "$tmp/ref")
  got=$(sed -n "${i}p" "$tmp/aeauth")
  if [ "$ref" = "$expected" ]; then echo "ok $((2*i-1)) - library: $source: $hash"; else echo "not ok $((2*i-1)) - library: $source: $hash (got $ref, want $expected)"; fi
  case "$got" in
    skip) echo "ok $((2*i)) - aeauth: $source: $hash # SKIP password not UTF-8 or \$2x\$ format" ;;
    true) [ "$expected" = t ] && echo "ok $((2*i)) - aeauth: $source: $hash" || echo "not ok $((2*i)) - aeauth: $source: $hash (got t, want $expected)" ;;
    false) [ "$expected" = f ] && echo "ok $((2*i)) - aeauth: $source: $hash" || echo "not ok $((2*i)) - aeauth: $source: $hash (got f, want $expected)" ;;
    *) echo "not ok $((2*i)) - aeauth: $source: $hash (got '$got')" ;;
  esac
done < "$tmp/vectors"
