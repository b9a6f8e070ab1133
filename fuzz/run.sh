#!/usr/bin/env bash
# libFuzzer targets for aeauth's pure parsers of untrusted bytes (src/parse.c), built without a
# server with clang-14 -fsanitize=fuzzer,address,undefined.  Prints TAP (one test per target),
# so scripts/test.sh runs it with prove.
#   bash fuzz/run.sh                     # short run: FUZZ_RUNS executions per target (200000)
#   FUZZ_RUNS=10000000 bash fuzz/run.sh  # the long run (figures in README "Security notes")
# The committed corpus (fuzz/corpus/<target>/) is read, never written: new inputs go to a
# scratch folder; crash inputs are kept in FUZZ_ARTIFACTS (default: a scratch folder, printed).
set -uo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-14}
RUNS=${FUZZ_RUNS:-200000}
targets=(hash token secret_key)
corpus() { case $1 in hash) echo "corpus/hash_argon2id corpus/hash_bcrypt" ;; token) echo corpus/token_shape ;; *) echo "corpus/$1" ;; esac; }

build=$(mktemp -d /tmp/aeauth-fuzz.XXXXXX)
art=${FUZZ_ARTIFACTS:-$build/artifacts}
mkdir -p "$art"
echo "1..${#targets[@]}"
n=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  if ! "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
       -fno-omit-frame-pointer -Wall -Wextra -Werror \
       -o "$build/fuzz_$t" "fuzz_$t.c" ../src/parse.c 2>"$build/$t.build.log"; then
    echo "not ok $n - fuzz_$t builds"; sed 's/^/# /' "$build/$t.build.log"; continue
  fi
  mkdir -p "$build/new_$t"
  # shellcheck disable=SC2046
  "$build/fuzz_$t" -runs="$RUNS" -max_len=4096 -artifact_prefix="$art/$t-" \
    "$build/new_$t" $(corpus "$t") >"$build/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$build/$t.log" | tail -n1)
  if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
    echo "ok $n - fuzz_$t: $execs executions, no crash"
  else
    echo "not ok $n - fuzz_$t: exit $rc (artifacts in $art)"; tail -n 30 "$build/$t.log" | sed 's/^/# /'
    FUZZ_KEEP=1
  fi
done
if [ -z "${FUZZ_KEEP:-}" ]; then rm -rf "$build"; else echo "# kept $build"; fi
