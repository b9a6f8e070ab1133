#!/usr/bin/env bash
# The aeauth demo: a throwaway cluster with the extension installed, and a game backend's
# flow shown step by step.  Run as root (or a user with sudo) on Debian bookworm.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"

install_packages
build_and_install
start_cluster
psql -qX -d postgres -c 'CREATE DATABASE game' >/dev/null
export PGDATABASE=game

# Each step: a caption, then the SQL as the backend would send it, then what came back.
step() { printf '\n=== %s\n' "$1"; printf '%s\n' "$2" | sed 's/^/    /'; psql -X -v ON_ERROR_STOP=1 -P pager=off -c "$2"; }

step "1. Install aeauth (one statement)" \
  "CREATE EXTENSION aeauth CASCADE;"
step "2. What it installed, and its version history" \
  "SELECT version, applied_at::date, description FROM aeauth.schema_history ORDER BY applied_at;"
step "3. The tables it owns (tokens are stored only as hashes)" \
  "SELECT table_name, count(*) AS columns FROM information_schema.columns WHERE table_schema = 'aeauth' GROUP BY 1 ORDER BY 1;"
printf '\nDemo finished.\n'
