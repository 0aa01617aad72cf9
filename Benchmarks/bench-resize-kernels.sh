#!/usr/bin/env bash
# The AVX2 image kernels (Sources/CImageKernels) against PIL's scalar loops written in C, in CPU
# time per image (so that other processes' load counts little), bytes checked identical.
#   SWA_BENCH_ROUNDS=7 bash Benchmarks/bench-resize-kernels.sh      # or: make bench-resize-kernels
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc=${CC:-$(command -v clang || echo cc)}  # clang, as SwiftPM compiles the C targets
"$cc" -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -ISources/CImageKernels/include -ISources/CCPUFeatures/include \
    Benchmarks/ResizeKernels/bench_resize_kernels.c Sources/CImageKernels/*.c -lm -o "$out/bench-resize-kernels"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $("$cc" --version | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/bench-resize-kernels" "${SWA_BENCH_ROUNDS:-7}"
