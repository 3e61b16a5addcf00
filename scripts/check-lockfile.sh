#!/usr/bin/env bash
# check-lockfile.sh - checks that `npm install` leaves package-lock.json unchanged: copies the
# tracked files of this checkout to a temporary folder (no node_modules, no dist), runs
# `npm install` there and compares the lockfile. Prints "lockfile unchanged" (exit 0) or the diff
# (exit 1). Slow (a full install: minutes on a cold npm cache); not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tmp"
cp package.json package-lock.json "$tmp"/   # the working copies, committed or not
(cd "$tmp" && npm install --no-audit --no-fund --ignore-scripts >/dev/null)
if cmp -s package-lock.json "$tmp/package-lock.json"; then
  echo "lockfile unchanged"
else
  diff -u package-lock.json "$tmp/package-lock.json" | head -50
  exit 1
fi
