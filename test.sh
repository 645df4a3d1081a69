#!/usr/bin/env bash
# The whole test suite against real services: services up, build, every test project in
# Release, services down, then one closing line `N passed, N failed[, N skipped]` counted from
# the TRX results. Exit status is non-zero when anything failed or did not run.
#
#   ./test.sh                 everything
#   ./test.sh --filter X      passed on to `dotnet test` (e.g. --filter FullyQualifiedName~Store)
#   KEEP_SERVICES=1 ./test.sh leave PostgreSQL and RabbitMQ running afterwards
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
STATE=${PLATFORM_SERVICES_DIR:-$ROOT/.services}
RESULTS=$ROOT/TestResults
started=$(date +%s)

stop_services() { [ -n "${KEEP_SERVICES:-}" ] || scripts/services.sh down >/dev/null 2>&1 || true; }
trap stop_services EXIT

if ! scripts/services.sh up; then
  echo "the services did not start; see the lines above"
  echo "0 passed, 1 failed"
  exit 1
fi
# shellcheck disable=SC1091
source "$STATE/env"

rm -rf "$RESULTS"
dotnet build Platform.sln -c Release -nologo -clp:ErrorsOnly
build=$?

test_status=1
if [ $build -eq 0 ]; then
  # The generated code the examples check in must match what the generator writes now.
  if [ -x scripts/drift-check.sh ]; then scripts/drift-check.sh || build=1; fi
  dotnet test Platform.sln -c Release --no-build -nologo \
    --logger "trx" --results-directory "$RESULTS" \
    --blame-hang-timeout 10m "$@"
  test_status=$?
fi

# Count from the TRX files, not from console output.
passed=0 failed=0 skipped=0 files=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

status=0
if [ $build -ne 0 ]; then
  echo "build or drift check failed: see the errors above"
  failed=$((failed + 1)); status=1
elif [ $files -eq 0 ]; then
  echo "no test results were written"
  failed=$((failed + 1)); status=1
elif [ $test_status -ne 0 ] || [ $failed -gt 0 ]; then
  status=1
  [ $failed -gt 0 ] || failed=1
fi

echo "test run took $(( $(date +%s) - started )) s"
if [ $skipped -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
