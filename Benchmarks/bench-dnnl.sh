#!/usr/bin/env bash
# oneDNN against im2col + OpenBLAS sgemm on every convolution shape of the presets, the fixture
# model and the torchvision family fixtures (Benchmarks/Sources/bench-conv-backends), in one
# process, alternating, medians. Output: Markdown on stdout, for docs/PERFORMANCE.md.
#
#   bash Benchmarks/bench-dnnl.sh [bench-conv-backends options: --models a,b --repeats N --budget S]
#
# ONEDNN_MAX_CPU_ISA=AVX2 caps oneDNN's kernels (the AVX2 path on an AVX-512 machine);
# OPENBLAS_CORETYPE=Haswell|SkylakeX|Prescott picks OpenBLAS's.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product bench-conv-backends >&2
bin="$(swift build -c release --show-bin-path)/bench-conv-backends"
echo "### oneDNN vs im2col + sgemm per convolution shape, $(date -u +%Y-%m-%d)"
echo
echo "Command: \`make bench-dnnl\` (Benchmarks/bench-dnnl.sh$([ $# -gt 0 ] && echo " $*")); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Environment: ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-unset}, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}."
echo
"$bin" "$@"
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
