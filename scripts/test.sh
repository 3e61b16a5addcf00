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
# npm run simulate compiles the simulation on its own (test/sync/sim/tsconfig.json)
if ! npx tsc --noEmit -p test/sync/sim/tsconfig.json; then failed=1; echo "type check of the simulation (npm run simulate) failed"; fi

# Suites named *.timing.test.ts assert response times (e.g. /healthz within 100 ms during an
# attack): they run after the others, one at a time, so that the rest of the suite does not
# share the two cores with them.
count() { # jest's JSON report -> "passed failed" (a suite that failed outside its tests counts once)
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const suitesFailedWithoutTests = r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + suitesFailedWithoutTests);
  ' "$1" 2>/dev/null || echo "0 1"
}
passed=0
report=$(mktemp)
echo "== jest"
npx jest --ci --json --outputFile="$report" --testPathIgnorePatterns '\.timing\.test\.ts$' "$@"
jest_rc=$?
read -r p f < <(count "$report")
passed=$((passed + p)); failed=$((failed + f))
if [ "$jest_rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
echo "== jest (timing suites, one at a time)"
npx jest --ci --json --outputFile="$report" --runInBand --passWithNoTests --testPathPatterns '\.timing\.test\.ts$' "$@"
jest_rc=$?
read -r p f < <(count "$report")
passed=$((passed + p)); failed=$((failed + f))
if [ "$jest_rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
rm -f "$report"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
