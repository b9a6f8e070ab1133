#!/usr/bin/env bash
# The sessions cases of the benchmark harness (bench/run.sh, `make bench`), on their own:
#   PG_CONFIG=... AEAUTH_SKIP_APT=1 bash bench/sessions.sh   (BENCH_SCALE, BENCH_SECONDS, BENCH_ROUNDS as for run.sh)
exec env BENCH_ONLY="${BENCH_ONLY:-sessions growth}" bash "$(dirname "$0")/run.sh" "$@"
