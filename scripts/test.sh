#!/usr/bin/env bash
# test.sh - the one test command (npm test): starts what the tests talk to (MariaDB, Redis,
# Ceph RGW), type-checks, runs every jest suite (API suites on SQLite and MariaDB, storage
# conformance on local, S3/RGW and the GCS stand-in) and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS="${NODE_OPTIONS:-} --no-warnings=DeprecationWarning"

bash scripts/services.sh || { echo "services failed to start"; echo "0 passed, 1 failed"; exit 1; }

failed=0
echo "== build (the CLI and server process tests run dist/)"
if ! npm run --silent build; then failed=1; echo "build failed"; fi
echo "== tsc --noEmit"
if ! npx tsc --noEmit -p .; then failed=1; echo "type check failed"; fi

report=$(mktemp)
echo "== jest"
npx jest --ci --json --outputFile="$report" "$@"
jest_rc=$?
read -r passed jfailed < <(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const suitesFailedWithoutTests = r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
  console.log(r.numPassedTests, r.numFailedTests + suitesFailedWithoutTests);
' "$report" 2>/dev/null || echo "0 1")
rm -f "$report"
failed=$((failed + jfailed))
if [ "$jest_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
