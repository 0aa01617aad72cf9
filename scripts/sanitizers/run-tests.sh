#!/usr/bin/env bash
# The test suite under a sanitizer (`make test-asan`, `make test-tsan`; docs/RELIABILITY.md,
# "Sanitizers"): `swift test --sanitize=KIND` in its own build folder, the tools included (the
# end-to-end tests run the instrumented executables beside the test bundle).
#
#   scripts/sanitizers/run-tests.sh address|thread [FILTER]
#
# Every process writes its sanitizer reports to a file of its own under BUILD/sanitizer-reports
# (`log_path`), not to stderr: a tool that a test expects to fail would otherwise hide a report
# behind its expected exit status. The run fails if the suite fails or if any report was
# written, and prints the reports.
set -uo pipefail

kind="${1:?usage: run-tests.sh address|thread [FILTER]}"
filter="${2:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
swift="${SWIFT:-swift}"
case "$kind" in
  address) build=.build-asan; prefix=asan ;;
  thread)  build=.build-tsan; prefix=tsan ;;
  *) echo "run-tests.sh: unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;;
esac

reports="$root/$build/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
common="log_path=$reports/$prefix"
export ASAN_OPTIONS="$common${ASAN_OPTIONS:+ $ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp print_suppressions=0${LSAN_OPTIONS:+ $LSAN_OPTIONS}"
export TSAN_OPTIONS="$common halt_on_error=0 second_deadlock_stack=1 suppressions=$root/scripts/sanitizers/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"

cd "$root"
"$swift" test --sanitize="$kind" --build-path "$build" ${filter:+--filter "$filter"}
status=$?

shopt -s nullglob
written=("$reports"/*)
if (( ${#written[@]} > 0 )); then
  echo "run-tests.sh: ${#written[@]} process(es) wrote $kind sanitizer reports, in $reports:" >&2
  for report in "${written[@]}"; do
    echo "==== $report" >&2
    head -n 60 "$report" >&2
  done
  exit 1
fi
echo "run-tests.sh: no $kind sanitizer report from any process (swift test exit status $status)" >&2
exit "$status"
