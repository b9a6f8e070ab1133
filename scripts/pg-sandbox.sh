#!/usr/bin/env bash
# Copies Debian's PostgreSQL 15 tree to DIR so that `make install` there does not touch the
# system's files: several developers (or helpers) can then build and test in parallel.
#   scripts/pg-sandbox.sh /opt/pg-mine && PG_CONFIG=/opt/pg-mine/lib/postgresql/15/bin/pg_config scripts/test.sh
# PostgreSQL finds its share and lib folders relative to its binaries, so the copy is self-contained.
set -euo pipefail
dir=${1:?usage: pg-sandbox.sh DIR}
rm -rf "$dir"
mkdir -p "$dir/lib/postgresql" "$dir/share/postgresql" "$dir/include/postgresql"
cp -a /usr/lib/postgresql/15 "$dir/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$dir/share/postgresql/"
ln -s /usr/include/postgresql/15 "$dir/include/postgresql/15"
echo "PG_CONFIG=$dir/lib/postgresql/15/bin/pg_config"
