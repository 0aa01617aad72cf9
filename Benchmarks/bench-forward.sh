#!/usr/bin/env bash
# The CPU forward pass of swa-bn-update and swa-eval against PyTorch, measured in the same run
# on the same files (`bash Benchmarks/bench-forward.sh`).
#
# Workloads (random weights, random uint8 32×32 "CIFAR-like" images, batch size 128):
#   - BN pass: `swa-bn-update CKPT --arch A` vs `torch.optim.swa_utils.update_bn`, for the
#     paper's CIFAR models preresnet20, preresnet164, vgg16bn and wrn28x10 (timgaripov/swa
#     models/); afterwards the BN statistics of the two are compared.
#   - inference: `swa-eval` vs `model.eval()` + `torch.no_grad()` on the BN-updated checkpoint,
#     for the same models and the fixture model (fixtures/, 497 digits of 8×8).
# Every row names the kernels it ran on: swa's OpenBLAS core (`backend` of its --json) and
# PyTorch's CPU capability; the report's header names the CPU model and its ISA.
# `OPENBLAS_CORETYPE=Prescott` reproduces on an AMD machine the SSE3 fallback Debian's OpenBLAS
# takes on the Intel Xeon of family 6 model 207 (swa never overrides a core type the user set).
# swa is timed as its whole command with hyperfine (process start, reading the npz and the
# checkpoint, writing the output included); PyTorch as the pass only, inside one process, with
# the npz already in memory (Benchmarks/forward_reference.py): the comparison favours PyTorch.
# Peak RSS of both with GNU `/usr/bin/time -v` (PyTorch's includes `import torch`).
# Both run on all the machine's cores (swa always uses every core; torch.set_num_threads(nproc)),
# in the environment as it is (OPENBLAS_* variables are recorded, not changed).
#
# Environment: SWA_BENCH_MODELS ("preresnet20 preresnet164 vgg16bn wrn28x10"; SWA_BENCH_DEPTHS
# "20 164", the older form, means preresnet20 preresnet164 only), SWA_BENCH_SAMPLES (2560 =
# 20 batches, the preresnets), SWA_BENCH_VGG_SAMPLES (512), SWA_BENCH_WRN_SAMPLES (128), the
# weights of the wide models made at run time (VGG16-BN 61 MB, WRN-28-10 146 MB),
# SWA_BENCH_RUNS (3), SWA_BENCH_THREADS (nproc), SWA_BENCH_RESULTS (a folder to keep the raw
# JSON in), SWA_BIN (a folder holding swa-bn-update and swa-eval: skips the build), TMPDIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
samples="${SWA_BENCH_SAMPLES:-2560}"
if [ -n "${SWA_BENCH_DEPTHS:-}" ]; then
    default_models="$(for depth in $SWA_BENCH_DEPTHS; do printf 'preresnet%s ' "$depth"; done)"
else
    default_models="preresnet20 preresnet164 vgg16bn wrn28x10"
fi
models="${SWA_BENCH_MODELS:-$default_models}"
vgg_samples="${SWA_BENCH_VGG_SAMPLES:-512}"
wrn_samples="${SWA_BENCH_WRN_SAMPLES:-128}"
runs="${SWA_BENCH_RUNS:-3}"
threads="${SWA_BENCH_THREADS:-$(nproc)}"
results="${SWA_BENCH_RESULTS:-}"
batch=128
reference="$here/forward_reference.py"

say() { printf 'bench-forward: %s\n' "$*" >&2; }

# MARK: - Tools

. "$here/bench-common.sh"
require_tools hyperfine zstd time
if ! python3 -c 'import torch, numpy, safetensors, sklearn, zstandard' 2>/dev/null; then
    say "python3 with torch, numpy, safetensors, scikit-learn and zstandard (the fixture model's script) is needed for the PyTorch side"
    exit 1
fi

# MARK: - Build

if [ -n "${SWA_BIN:-}" ]; then
    bin="$SWA_BIN"
else
    say "building (release, scratch path .build-fwd)"
    (cd "$root" && swift build -c release --scratch-path .build-fwd >&2)
    bin="$(cd "$root" && swift build -c release --scratch-path .build-fwd --show-bin-path)"
fi

# MARK: - Work folder and helpers

work="$(mktemp -d "${TMPDIR:-/tmp}/swa-bench-forward.XXXXXX")"
trap 'rm -rf "$work"' EXIT

ticks_per_s="$(getconf CLK_TCK)"

# time_v NAME CMD...: runs CMD under /usr/bin/time -v, its stdout to $work/NAME.out, and
# writes "$work/NAME.time" (rusage) and "$work/NAME.busy" (machine busy ticks before/after).
time_v() {
    local name="$1"; shift
    local before; before=$(cpu_busy_ticks)
    /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out"
    echo "$before $(cpu_busy_ticks)" >"$work/$name.busy"
}

# hyperfine_run NAME RUNS CMD...: hyperfine -N with one warm-up, its JSON to $work/NAME.json,
# machine busy ticks to $work/NAME.busy.
hyperfine_run() {
    local name="$1" count="$2"; shift 2
    local before; before=$(cpu_busy_ticks)
    hyperfine -N --warmup 1 --runs "$count" --style basic --export-json "$work/$name.json" -n "$name" "$*" >/dev/null 2>&1
    echo "$before $(cpu_busy_ticks)" >"$work/$name.busy"
}

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
machine_cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
torch_version="$(python3 -c 'import torch; print(torch.__version__)')"
openblas_env="$(env | grep '^OPENBLAS' | tr '\n' ' ' || true)"
openblas_lib="$(ldd "$bin/swa-bn-update" | awk '/openblas/ { print $3; exit }')"
openblas_lib="$(readlink -f "$openblas_lib" 2>/dev/null || echo "$openblas_lib")"

# MARK: - Inputs

# samples_of MODEL: how many images its rows use (the wide models are 10-40x the work per image).
samples_of() {
    case "$1" in
        vgg*) echo "$vgg_samples" ;;
        wrn*) echo "$wrn_samples" ;;
        *) echo "$samples" ;;
    esac
}

for model in $models; do
    count="$(samples_of "$model")"
    say "making $model and $count random uint8 images"
    python3 "$reference" make --arch "$model" --out "$work" --samples "$count" --data-name "data-$count.npz" --seed 0 >"$work/make-$model.json"
done
python3 "$reference" platform >"$work/torch-platform.json"
cat "$work"/*.safetensors "$work"/data-*.npz "$root"/fixtures/checkpoints/ckpt-020.safetensors.zst "$root"/fixtures/data/test.npz >/dev/null

# MARK: - Measurements

rows=()
for model in $models; do
    ckpt="$work/$model.safetensors"
    data="$work/data-$(samples_of "$model").npz"
    swa_out="$work/swa-bn-$model.safetensors.zst"
    torch_out="$work/torch-bn-$model.safetensors"

    say "$model: swa-bn-update (hyperfine, 1 warm-up + $runs runs)"
    bn_command="$bin/swa-bn-update $ckpt --arch $model --data $data --batch-size $batch -o $swa_out --force -q"
    hyperfine_run "swa-bn-$model" "$runs" $bn_command
    # The measured run for peak RSS also prints the JSON report, whose `backend` names the kernels.
    time_v "swa-bn-$model-rss" $bn_command --json
    say "$model: PyTorch update_bn (1 warm-up + $runs passes)"
    time_v "torch-bn-$model" python3 "$reference" update-bn --arch "$model" --checkpoint "$ckpt" --data "$data" \
        --batch-size "$batch" --threads "$threads" --runs "$runs" --out "$torch_out"
    python3 "$reference" compare --swa "$swa_out" --torch "$torch_out" >"$work/compare-$model.out"
    rows+=("bn $model $work/swa-bn-$model $work/torch-bn-$model $work/compare-$model.out")

    # Inference on the BN-updated model (its running statistics are sane; the random ones in
    # the made checkpoint overflow preresnet164's logits).
    say "$model: swa-eval (hyperfine, 1 warm-up + $runs runs)"
    eval_command="$bin/swa-eval $swa_out --arch $model --data $data --batch-size $batch --json -q"
    hyperfine_run "swa-eval-$model" "$runs" $eval_command
    time_v "swa-eval-$model-rss" $eval_command
    say "$model: PyTorch eval (1 warm-up + $runs passes)"
    time_v "torch-eval-$model" python3 "$reference" eval --arch "$model" --checkpoint "$swa_out" --data "$data" \
        --batch-size "$batch" --threads "$threads" --runs "$runs"
    rows+=("eval $model $work/swa-eval-$model $work/torch-eval-$model -")
done

# The fixture model: 497 8×8 digits, a pass of milliseconds, so more runs on both sides; swa's
# time is then mostly process start and reading the files.
fixture_runs=$(( runs > 10 ? runs : 10 ))
fixture_ckpt="$root/fixtures/checkpoints/ckpt-020.safetensors.zst"
fixture_data="$root/fixtures/data/test.npz"
say "fixture: swa-eval (hyperfine, 1 warm-up + $fixture_runs runs)"
fixture_command="$bin/swa-eval $fixture_ckpt --data $fixture_data --batch-size $batch --json -q"
hyperfine_run "swa-eval-fixture" "$fixture_runs" $fixture_command
time_v "swa-eval-fixture-rss" $fixture_command
say "fixture: PyTorch eval (1 warm-up + $fixture_runs passes)"
time_v "torch-eval-fixture" python3 "$reference" eval --fixture --checkpoint "$fixture_ckpt" --data "$fixture_data" \
    --batch-size "$batch" --threads "$threads" --runs "$fixture_runs"
rows+=("eval fixture $work/swa-eval-fixture $work/torch-eval-fixture -")

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
# The kernels as swa reports them (`backend` of the first swa-eval --json) and as PyTorch does.
backend_json="$(ls "$work"/swa-eval-*-rss.out | head -1)"
swa_backend="$(python3 - "$backend_json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["backend"]
print(f"{b['blas']}, kernels **{b['kernels']}** ({b['kernels_chosen_by']}); CPU features read by swa: {b['cpu_features']}")
PY
)"
torch_platform="$(python3 - "$work/torch-platform.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"ATen CPU capability **{p['cpu_capability']}**, oneDNN {'built in' if p['mkldnn'] else 'absent'}")
PY
)"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(sse3|ssse3|sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512dq|avx512vl|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
if [ -n "$results" ]; then mkdir -p "$results" && cp "$work"/*.json "$work"/*.out "$work"/*.time "$work"/*.busy "$results/"; fi

# MARK: - Report

cat <<EOF

### Forward pass vs PyTorch, $(date -u +%Y-%m-%d)

Machine: $(nproc) cores, ${machine_cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM; PyTorch $torch_version
(set_num_threads($threads)); swa's OpenBLAS: ${openblas_lib:-?}; OpenBLAS environment: ${openblas_env:-none set}.
ISA (/proc/cpuinfo flags): ${cpu_flags:-?}
swa: $swa_backend. PyTorch: $torch_platform.
Load average (1/5/15 min) at start: $load_start; at end: $load_end (the end figure includes the
benchmark's own $threads busy threads; "other CPU s" below is the measure of interference).
Random uint8 images 3×32×32 (the images column), batch size $batch. swa: median wall time
of the whole command (hyperfine, 1 warm-up + $runs runs; $fixture_runs for the fixture).
PyTorch: median of $runs passes (after 1 warm-up) inside one process, data already in memory.
Ratio = swa images/s ÷ PyTorch images/s (> 1: swa faster). "Other CPU s": CPU time other
processes took while swa (all its runs) or the PyTorch process ran; near 0 on a quiet machine.

| workload | images | swa images/s | PyTorch images/s | ratio | kernels (swa / PyTorch) | swa peak RSS MiB | PyTorch peak RSS MiB (before pass) | check | other CPU s (swa / PyTorch) |
|---|---:|---:|---:|---:|---|---:|---:|---|---:|
EOF
for row in "${rows[@]}"; do
    python3 - $row "$ticks_per_s" "$work/torch-platform.json" <<'PY'
import json, re, sys
kind, model, swa, torch_prefix, compare, ticks, platform = sys.argv[1:]
def rusage(path):
    text = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    return rss, cpu
def busy(path):
    before, after = map(int, open(path).read().split())
    return (after - before) / int(ticks)
hf = json.load(open(swa + ".json"))["results"][0]
# hyperfine reports the mean user/system time per run; the busy ticks also cover the warm-up.
swa_cpu = (hf["user"] + hf["system"]) * (len(hf["times"]) + 1)
swa_other = max(0.0, busy(swa + ".busy") - swa_cpu)
swa_rss, _ = rusage(swa + "-rss.time")
torch_json = json.loads(open(torch_prefix + ".out").read())
torch_rss, torch_cpu = rusage(torch_prefix + ".time")
torch_other = max(0.0, busy(torch_prefix + ".busy") - torch_cpu)
n = torch_json["samples"]
swa_ips = n / hf["median"]
torch_ips = torch_json["images_per_s"]
name = ("fixture model (8×8)" if model == "fixture" else model)
name += ", BN pass" if kind == "bn" else ", inference"
if kind == "bn":
    c = json.loads(open(compare).read())
    check = (f"BN stats max rel. diff {c['max_rel']:.1e} (var {c['running_var_max_rel']:.1e}, "
             f"mean {c['running_mean_max_diff_in_std']:.1e} σ); counters {'=' if c['num_batches_tracked_equal'] else '≠'}, "
             f"weights {'bit-identical' if c['weights_bit_identical'] else 'DIFFER'}")
else:
    s = json.loads(open(swa + "-rss.out").read())["model"]
    nll_rel = abs(s["nll"] - torch_json["nll"]) / max(abs(torch_json["nll"]), 1e-30)
    check = f"accuracy {s['accuracy']:.4f} / {torch_json['accuracy']:.4f}, NLL rel. diff {nll_rel:.1e}"
backend = json.loads(open(swa + "-rss.out").read())["backend"]
kernels = f"{backend['kernels']} / {json.load(open(platform))['cpu_capability']}"
print(f"| {name} | {n} | {swa_ips:.0f} | {torch_ips:.0f} | **{swa_ips / torch_ips:.2f}** | {kernels} | {swa_rss:.0f} "
      f"| {torch_rss:.0f} ({torch_json['peak_rss_mib_before_pass']:.0f}) | {check} | {swa_other:.1f} / {torch_other:.1f} |")
PY
done
