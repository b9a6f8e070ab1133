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
