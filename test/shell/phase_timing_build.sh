#!/usr/bin/env bash
# The login phase timer (src/phase_timing.h; bench/login_phases.sh) is compiled in only on
# request.  (1) The sources that use it build with -DAEAUTH_PHASE_TIMING under the project's
# warnings (-Wall -Wextra -Werror), so the diagnostic cannot rot unnoticed; (2) that build has
# the timer; (3) the installed, normal build has none of it.  Expects PG_CONFIG (scripts/test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PG_CONFIG=${PG_CONFIG:-pg_config}
echo "1..3"

cp -a "$here/Makefile" "$here/aeauth.control" "$here/src" "$tmp/"
rm -f "$tmp"/src/*.o
if out=$(make -s -C "$tmp" PG_CONFIG="$PG_CONFIG" COPT=-DAEAUTH_PHASE_TIMING \
           src/phase_timing.o src/login.o src/session.o 2>&1); then
  echo "ok 1 - the timing build of phase_timing.c, login.c and session.c compiles without warnings"
else
  echo "not ok 1 - the timing build of phase_timing.c, login.c and session.c compiles without warnings"
  printf '%s\n' "$out" | sed 's/^/#   /'
fi

if [ -f "$tmp/src/phase_timing.o" ] && nm "$tmp/src/phase_timing.o" | grep -q ' T phase_mark$'; then
  echo "ok 2 - the timing build defines phase_mark"
else
  echo "not ok 2 - the timing build defines phase_mark"
fi

lib="$("$PG_CONFIG" --pkglibdir)/aeauth.so"
if [ -f "$lib" ] && ! nm -D "$lib" | grep -q 'phase_'; then
  echo "ok 3 - the installed aeauth.so has no phase timer"
else
  echo "not ok 3 - the installed aeauth.so has no phase timer"
  echo "#   $lib: $(nm -D "$lib" 2>&1 | grep 'phase_' | head -3)"
fi
