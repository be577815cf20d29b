#!/usr/bin/env bash
# `npm test`: the unit suite, then the lab (built and started when needed), then the e2e suite against it.
# A lab this script started is always stopped at the end, pass or fail; a lab that was already running
# (someone's shared lab) is left running. Exits non-zero when any part failed, and closes with one
# "N passed, N failed" line over both suites.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
started_lab=0
reports="$(mktemp -d)"

stop_lab() {
  if [ "$started_lab" = 1 ]; then
    started_lab=0
    echo "== lab down"
    node scripts/lab.mjs down || failed+=("lab:down")
  fi
}
trap 'stop_lab; rm -rf "$reports"' EXIT
trap 'exit 130' INT TERM

suite() {
  npx vitest run --project "$1" --reporter=default --reporter=json --outputFile.json="$reports/$1.json" || failed+=("$1")
}

echo "== unit tests"
suite unit

echo "== lab up"
if node scripts/lab.mjs status >/dev/null 2>&1; then
  echo "lab already running: using it and leaving it up"
else
  started_lab=1
  node scripts/lab.mjs up || failed+=("lab:up")
fi

if [[ " ${failed[*]} " != *" lab:up "* ]]; then
  echo "== e2e tests"
  suite e2e
fi

stop_lab
# Sum of both suites' JSON reports (a suite that never ran counts nothing).
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0;
  for (const f of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(`${process.argv[1]}/${f}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);
' "$reports"
if [ ${#failed[@]} -gt 0 ]; then
  echo "npm test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "npm test: unit and e2e suites passed"
