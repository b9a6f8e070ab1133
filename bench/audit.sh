#!/usr/bin/env bash
# The audit cases of the benchmark harness (bench/run.sh, `make bench`), on their own:
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 bash bench/audit.sh   (BENCH_SCALE, BENCH_SECONDS, BENCH_ROUNDS as for run.sh)
exec env BENCH_ONLY="${BENCH_ONLY:-audit}" bash "$(dirname "$0")/run.sh" "$@"
