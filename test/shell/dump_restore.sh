#!/usr/bin/env bash
# pg_dump of a database using aeauth, restored into a new database, keeps every row of every
# user-data table; in plain and custom (-Fc) formats.  Expects PGHOST/PGPORT/PGUSER (scripts/test.sh).
set -euo pipefail
psqlq() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; for d in aeauth_dump_src aeauth_dump_plain aeauth_dump_custom; do psqlq -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)"; done' EXIT

echo "1..9"
psqlq -d postgres -c "DROP DATABASE IF EXISTS aeauth_dump_src WITH (FORCE)" -c "CREATE DATABASE aeauth_dump_src"
psqlq -d aeauth_dump_src >/dev/null <<'SQL'
CREATE EXTENSION aeauth CASCADE;
INSERT INTO aeauth.users (email, username, password_hash)
SELECT 'p' || g || '@example.com', 'player' || g, 'x' FROM generate_series(1, 50) g;
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, expires_at)
SELECT id, sha256(convert_to('a' || id::text, 'UTF8')), sha256(convert_to('r' || id::text, 'UTF8')),
       now() + interval '1 day'
  FROM aeauth.users;
-- Audit rows in every kind of partition: month partitions made by maintenance (not extension
-- members), the permanent and the default partition (members, registered for pg_dump).
SELECT count(*) FROM aeauth.run_maintenance();
SELECT aeauth.log_user_event(id, NULL, 'login', 'authentication', 'login', 'success') FROM aeauth.users;
SELECT aeauth.log_user_event(id, NULL, 'lockout', 'security', 'lock', 'success') FROM aeauth.users LIMIT 5;
SELECT aeauth.log_user_event(NULL, NULL, 'setup', 'admin', 'setup', 'success', p_retention_policy => 'permanent');
INSERT INTO aeauth.user_audit_log (event_type, event_category, action, status, expires_at)
VALUES ('far', 'game', 'far', 'success', now() + interval '30 years');
SQL

counts() {
  psqlq -d "$1" -c "SELECT (SELECT count(*) FROM aeauth.users) || ' ' ||
                          (SELECT count(*) FROM aeauth.user_sessions) || ' ' ||
                          (SELECT count(*) FROM aeauth.user_audit_log)"
}
want=$(counts aeauth_dump_src)
parts() {   # audit rows per partition, and which partitions are extension members
  psqlq -d "$1" -c "SELECT string_agg(p || '=' || n, ' ' ORDER BY p) FROM (SELECT tableoid::regclass::text p, count(*) n FROM aeauth.user_audit_log GROUP BY 1) s"
  psqlq -d "$1" -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'aeauth.user_audit_log'::regclass
                      AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
  psqlq -d "$1" -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'aeauth.user_audit_log'::regclass"
}
want_parts=$(parts aeauth_dump_src)
n=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   got '$2', want '$3'"; fi; }

pg_dump -d aeauth_dump_src -f "$tmp/plain.sql"
psqlq -d postgres -c "CREATE DATABASE aeauth_dump_plain"
psqlq -d aeauth_dump_plain -f "$tmp/plain.sql" >/dev/null
check "plain dump keeps users, sessions and audit rows" "$(counts aeauth_dump_plain)" "$want"
check "plain dump keeps every audit row in its partition, month partitions attached" "$(parts aeauth_dump_plain)" "$want_parts"
check "plain restore: log_user_event and run_maintenance work, nothing to create" \
  "$(psqlq -d aeauth_dump_plain -c "SELECT aeauth.log_user_event(NULL, NULL, 'x', 'game', 'x', 'success') IS NOT NULL" -c "SELECT affected FROM aeauth.run_maintenance() WHERE task = 'audit: partitions created'")" "$(printf 't\n0')"
check "plain restore has aeauth installed at the same version" \
  "$(psqlq -d aeauth_dump_plain -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'")" \
  "$(psqlq -d aeauth_dump_src -c "SELECT extversion FROM pg_extension WHERE extname = 'aeauth'")"
check "plain restore keeps the case-insensitive uniqueness" \
  "$(psqlq -d aeauth_dump_plain -c "INSERT INTO aeauth.users (email, username, password_hash) VALUES ('P1@EXAMPLE.COM', 'new', 'x')" 2>&1 | grep -c 'duplicate key' || true)" "1"

pg_dump -Fc -d aeauth_dump_src -f "$tmp/custom.dump"
psqlq -d postgres -c "CREATE DATABASE aeauth_dump_custom"
pg_restore -d aeauth_dump_custom "$tmp/custom.dump"
check "custom-format dump keeps users, sessions and audit rows" "$(counts aeauth_dump_custom)" "$want"
check "custom-format dump keeps every audit row in its partition" "$(parts aeauth_dump_custom)" "$want_parts"
check "session token hashes survive byte for byte" \
  "$(psqlq -d aeauth_dump_custom -c "SELECT md5(string_agg(access_token_hash::text || refresh_token_hash::text, ',' ORDER BY id)) FROM aeauth.user_sessions")" \
  "$(psqlq -d aeauth_dump_src -c "SELECT md5(string_agg(access_token_hash::text || refresh_token_hash::text, ',' ORDER BY id)) FROM aeauth.user_sessions")"
check "the source had rows to lose" "$want" "50 50 57"
