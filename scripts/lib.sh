# Shared by scripts/test.sh, scripts/demo.sh and bench/run.sh: packages, build, throwaway cluster.
# Sourced, not run.  Honours PG_CONFIG (default pg_config) so that a PostgreSQL tree copied by
# scripts/pg-sandbox.sh can be used for isolated parallel work.

AEAUTH_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap \
libtap-parser-sourcehandler-pgtap-perl libsodium-dev libcrypt-dev build-essential \
clang-14 libclang-rt-14-dev"

log() { printf '>>> %s\n' "$*" >&2; }

# Re-run the calling script as root through sudo when started by an ordinary user.
become_root() {
  if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E PATH="$PATH" bash "$0" "$@"
  fi
}

install_packages() {
  if [ -n "${AEAUTH_SKIP_APT:-}" ]; then return 0; fi
  log "installing packages: $AEAUTH_PACKAGES $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
    $AEAUTH_PACKAGES "$@" >/dev/null
}

pg_setup_paths() {
  PG_CONFIG=${PG_CONFIG:-pg_config}
  PGBIN=$("$PG_CONFIG" --bindir)
  export PG_CONFIG PGBIN
  export PATH="$PGBIN:$PATH"
}

build_and_install() {
  pg_setup_paths
  log "building and installing aeauth against $("$PG_CONFIG" --version)"
  make -s clean >/dev/null
  make -s PG_CONFIG="$PG_CONFIG" ${AEAUTH_MAKEFLAGS:-} >/dev/null
  make -s PG_CONFIG="$PG_CONFIG" ${AEAUTH_MAKEFLAGS:-} install >/dev/null
}

# build_pair OUT: the benchmark's calls-in-turn client, bench/pair.c (libpq, which comes with
# the server headers, and libsodium).
build_pair() {
  gcc -O2 -Wall -Wextra -Werror -I"$("$PG_CONFIG" --includedir)" -I/usr/include/postgresql \
    -o "$1" bench/pair.c -lpq -lsodium -lm
}

# load_login_users DB PREFIX USERS SESSIONS_PER_USER ARGON2_KIB: for bench/login_*.sh, USERS
# users PREFIX1... (emails PREFIX1@x.com) sharing one argon2id hash of 'bench password' made at
# ARGON2_KIB and kept in public.h_PREFIX, each with SESSIONS_PER_USER live sessions, set-wise
# as bench/run.sh loads them.  Make the audit partitions first (run_maintenance()), or the login
# audit rows go the SQL way into the default partition.
load_login_users() {
  psql -qX -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<SQL
SET aeauth.argon2_memory_kib = $5;
CREATE TABLE public.h_$2 AS SELECT aeauth.hash_password('bench password') AS h;
INSERT INTO aeauth.users (id, email, username, password_hash)
SELECT gen_random_uuid(), '$2' || g || '@x.com', '$2' || g, (SELECT h FROM public.h_$2)
  FROM generate_series(1, $3) g;
SET session_replication_role = replica;
INSERT INTO aeauth.user_sessions (user_id, access_token_hash, refresh_token_hash, access_expires_at, expires_at, last_activity)
SELECT u.id, sha256(convert_to('aea_' || u.id || '_' || g, 'UTF8')), sha256(convert_to('aer_' || u.id || '_' || g, 'UTF8')),
       now() + interval '1 hour', now() + interval '30 days', now() - interval '1 minute'
  FROM aeauth.users u, generate_series(1, $4) g
 WHERE u.username LIKE '$2%';
SQL
}

# l1_pair PAIR DB CLIENTS SECONDS USERS PREFIX ARGON2_KIB: L1's two sides in turn (bench/pair.c
# built at PAIR): a successful login of a random user of load_login_users' PREFIX, and one
# verify_password of public.h_PREFIX's hash.  Prints pair's line: ratio se pairs a_ms b_ms.
# L1_PGOPTIONS: more settings for both sides (e.g. -c aeauth.hash_helper=off).
l1_pair() {
  PGOPTIONS="-c aeauth.argon2_memory_kib=$7 ${L1_PGOPTIONS:-}" "$1" "$2" "$3" "$4" 2 "$5" \
    "sql:SELECT status FROM aeauth.login('$6' || \$1, 'bench password', '10.0.0.0'::inet + \$2, 'bench-agent/1.0', 'desktop', 'bench')" \
    "sql:SELECT aeauth.verify_password('bench password', h) FROM public.h_$6"
}

# start_cluster [extra postgres -c settings...]
# initdb + pg_ctl as user postgres in a private folder, listening only on a unix socket there.
start_cluster() {
  pg_setup_paths
  AEAUTH_PGDIR=$(mktemp -d /tmp/aeauth-pg.XXXXXX)
  chown postgres: "$AEAUTH_PGDIR"
  chmod 700 "$AEAUTH_PGDIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$AEAUTH_PGDIR/data" -U postgres -A trust \
    --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  local opts="-c listen_addresses='' -k $AEAUTH_PGDIR -p 5432 -c fsync=off"
  opts="$opts -c full_page_writes=off -c max_connections=120 -c log_line_prefix='%m [%p] '"
  local s
  for s in "$@"; do opts="$opts -c $s"; done
  # AEAUTH_SERVER_ENV: extra environment for the server only (scripts/test.sh --sanitize: LD_PRELOAD).
  # shellcheck disable=SC2086
  # AEAUTH_PG_CTL_OPTS: extra pg_ctl options (--valgrind: -p <wrapper> -t 900).
  runuser -u postgres -- env ${AEAUTH_SERVER_ENV:-} "$PGBIN/pg_ctl" -D "$AEAUTH_PGDIR/data" \
    -l "$AEAUTH_PGDIR/server.log" -o "$opts" ${AEAUTH_PG_CTL_OPTS:-} -w -s start
  export PGHOST="$AEAUTH_PGDIR" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
  trap stop_cluster EXIT
}

stop_cluster() {
  if [ -n "${AEAUTH_PGDIR:-}" ] && [ -d "$AEAUTH_PGDIR/data" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$AEAUTH_PGDIR/data" -m fast -s stop >/dev/null 2>&1 || true
    if [ -n "${AEAUTH_KEEP_CLUSTER:-}" ]; then
      log "cluster files kept in $AEAUTH_PGDIR"
    else
      rm -rf "$AEAUTH_PGDIR"
    fi
  fi
}
