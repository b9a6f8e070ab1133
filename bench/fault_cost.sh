#!/usr/bin/env bash
# What fresh memory costs on this machine and what an argon2id hash leaves behind for the work
# after it (bench/fault_cost.c), at MS argon2 memory sizes (KiB), touching PAGES other pages after
# each step, ROUNDS steps per way.  No database.
#   AEAUTH_SKIP_APT=1 bash bench/fault_cost.sh
# An experiment beside the harness, not part of it.  bench/README.md "L1: where the time goes".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
become_root "$@"
install_packages
work=$(mktemp -d /tmp/aeauth-fault.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$work/fault_cost" bench/fault_cost.c -lsodium
for m in ${MS:-1024 19456}; do
  echo "argon2 memory $m KiB:"
  "$work/fault_cost" "$m" "${PAGES:-500}" "${ROUNDS:-40}"
done
