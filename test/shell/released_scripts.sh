#!/usr/bin/env bash
# Released install and upgrade scripts are frozen: each one listed in test/released-scripts.sha256
# must exist with exactly that checksum.  A change to a released script (instead of a new
# version's script) fails here; new, unlisted scripts are fine.  A release adds its scripts'
# lines (README "Upgrading").  Needs no database.
set -euo pipefail
cd "$(dirname "$0")/../.."
list=test/released-scripts.sha256
mapfile -t lines < <(grep -vE '^(#|$)' "$list")
echo "1..$(( ${#lines[@]} + 1 ))"
n=0
if [ "${#lines[@]}" -ge 1 ] && grep -q ' sql/aeauth--1\.0\.sql$' "$list"; then
  n=$((n + 1)); echo "ok $n - $list lists the released scripts, aeauth--1.0.sql among them"
else
  n=$((n + 1)); echo "not ok $n - $list lists the released scripts, aeauth--1.0.sql among them"
fi
for l in "${lines[@]}"; do
  want=${l%% *}; file=${l##* }
  n=$((n + 1))
  if [ ! -f "$file" ]; then
    echo "not ok $n - released script $file exists"; echo "#   missing: a released script is never removed"
  elif [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$want" ]; then
    echo "ok $n - released script $file is unchanged"
  else
    echo "not ok $n - released script $file is unchanged"
    echo "#   sha256 is now $(sha256sum "$file" | cut -d' ' -f1), released as $want"
    echo "#   a released script is never edited: ship the change as the next version's sql/aeauth--A--B.sql"
  fi
done
