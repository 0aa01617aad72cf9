#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer harness (Sources/swa-fuzz) with -sanitize=fuzzer,address in
# its own build path and runs each target for FUZZ_SECONDS, starting from the committed seeds
# (Tests/Fuzz/corpus/TARGET) plus what earlier runs found (.build-fuzz/corpus/TARGET, not
# committed). Prints per target the executions and libFuzzer's final coverage (cov: edges,
# ft: features) and corpus size; a crash, sanitizer report, leak, timeout (-timeout=5) or an
# allocation beyond -malloc_limit_mb is saved under .build-fuzz/crashes/TARGET/ and makes the
# script exit 1 after all targets ran. docs/RELIABILITY.md, "Fuzzing", says how to turn a crash
# into a regression test.
#
#   FUZZ_SECONDS=30        seconds per target
#   FUZZ_TARGETS="npy png" targets to run (default: all, as `swa-fuzz` lists them)
#   FUZZ_FLAGS="..."       extra libFuzzer flags
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
BUILD=.build-fuzz
ALL_TARGETS="safetensors-header zstd-stream seek-table npy npz graph-json pickle pytorch-zip pytorch-legacy hf-index cifar-python cifar-binary jpeg png partial-result"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}

# Coverage as -sanitize=fuzzer instruments, but linked against libFuzzer without its main():
# SwiftPM points an executable's main at the module's own entry point (Sources/swa-fuzz).
LIBFUZZER=$(ls "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1)
[ -f "$LIBFUZZER" ] || { echo "fuzz: libclang_rt.fuzzer_no_main not found beside swiftc" >&2; exit 1; }
swift build --product swa-fuzz -c release --build-path "$BUILD" \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
    -Xswiftc -D -Xswiftc SWA_FUZZ -Xlinker "$LIBFUZZER" -Xlinker -lstdc++ 2>&1 \
    | grep -v "Cannot export local symbol" || true
HARNESS="$BUILD/release/swa-fuzz"
[ -x "$HARNESS" ] || { echo "fuzz: the harness did not build" >&2; exit 1; }

dictionary() {
    case "$1" in
        safetensors-header|graph-json|hf-index|partial-result) echo Tests/Fuzz/dict/json.dict ;;
        zstd-stream|seek-table) echo Tests/Fuzz/dict/zstd.dict ;;
        pickle|pytorch-zip|pytorch-legacy|cifar-python) echo Tests/Fuzz/dict/pickle.dict ;;
        npy|npz) echo Tests/Fuzz/dict/npy.dict ;;
        *) echo "" ;;
    esac
}

SUMMARY=${FUZZ_SUMMARY:-$BUILD/fuzz-summary.md}
echo "| target | seconds | executions | exec/s | cov | ft | corpus | crashes |" > "$SUMMARY"
echo "|---|---:|---:|---:|---:|---:|---:|---:|" >> "$SUMMARY"
failed=0
for target in $TARGETS; do
    seeds="Tests/Fuzz/corpus/$target"
    [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; failed=1; continue; }
    corpus="$BUILD/corpus/$target"
    crashes="$BUILD/crashes/$target"
    log="$BUILD/logs/$target.log"
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    dict=$(dictionary "$target")
    # ZIPFoundation leaks a few bytes on every Archive(url:) (suppressed in lsan.supp), and
    # libFuzzer then runs a full leak scan after every input: 6 executions/s instead of hundreds.
    # For npz the per-input leak check is off; LeakSanitizer still checks at exit.
    leak_flag=""
    [ "$target" = npz ] && leak_flag="-detect_leaks=0"
    echo "== $target: ${SECONDS_PER_TARGET}s"
    # libFuzzer's own limits: a hang is an input slower than 5 s; an absurd allocation is one
    # malloc above 1 GiB, or the process above 2 GiB.
    # SWIFT_BACKTRACE off: a trap goes straight to libFuzzer's handler, which saves the input.
    # Leaks are checked, except two inside Foundation and ZIPFoundation (Tests/Fuzz/lsan.supp).
    SWA_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/Tests/Fuzz/lsan.supp:print_suppressions=0} "$HARNESS" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$crashes/" $leak_flag ${dict:+-dict=$dict} ${FUZZ_FLAGS:-} \
        "$corpus" "$seeds" > "$log" 2>&1
    status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    found=$(find "$crashes" -type f | wc -l)
    units=$(find "$corpus" -type f | wc -l)
    echo "   executions ${executions:-?}  exec/s ${speed:-?}  cov ${cov:-?}  ft ${ft:-?}  corpus $units  crashes $found  (log: $log)"
    echo "| $target | $SECONDS_PER_TARGET | ${executions:-?} | ${speed:-?} | ${cov:-?} | ${ft:-?} | $units | $found |" >> "$SUMMARY"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed=1
        grep -E "ERROR: |SUMMARY: |Fatal error|swa-fuzz [a-z-]+:" "$log" | head -5 | sed 's/^/   /'
    fi
done
echo "summary: $SUMMARY"
exit $failed
