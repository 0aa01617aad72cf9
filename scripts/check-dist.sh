#!/usr/bin/env bash
# Checks the tarball of `make dist` the way a machine without Swift would use it (make check-dist).
# Not part of `make test`: it needs the static release build, which takes minutes.
#   1. no executable links a Swift runtime library (ldd);
#   2. every tool runs from the unpacked tarball with an empty environment: --help, --version,
#      and swa-inspect and swa-avg on the fixtures;
#   3. the man pages and completion scripts are there and usable.
# Usage: check-dist.sh dist/swa-VERSION-linux-x86_64.tar.gz
set -euo pipefail
tarball=$(realpath "$1")
fixtures=$(realpath "$(dirname "$0")/../fixtures")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

tar -C "$work" -xzf "$tarball"
root=$(echo "$work"/*)
cd "$root"
tools=$(ls bin)
[ -n "$tools" ] || fail "no executables in bin/"

# 1. Only Debian's libraries (and libc, libstdc++, libgcc_s) may be dynamic.
for tool in $tools; do
    libs=$(ldd "bin/$tool")
    if swift_libs=$(grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_FoundationICU|libicu' <<<"$libs"); then
        fail "$tool links the Swift runtime: $(tr -s ' \t\n' ' ' <<<"$swift_libs")"
    elif grep -q 'not found' <<<"$libs"; then
        fail "$tool has a missing library: $(grep 'not found' <<<"$libs" | tr -s ' \t\n' ' ')"
    else
        others=$(awk '{print $1}' <<<"$libs" | grep -vE '^(linux-vdso|/lib64/ld-linux|libc\.so|libm\.so|libstdc\+\+|libgcc_s|libzstd|libopenblas|libz\.so|libgfortran|libquadmath|libpthread|libdl|librt|libutil)' || true)
        if [ -n "$others" ]; then fail "$tool links unexpected libraries: $(tr '\n' ' ' <<<"$others")"
        else pass "$tool: no Swift runtime ($(awk '{print $1}' <<<"$libs" | grep -E 'zstd|openblas|libz\.' | tr '\n' ' '))"; fi
    fi
done

# 2. An empty environment: no Swift on PATH, no LD_LIBRARY_PATH, no HOME.
run() { env -i PATH=/usr/bin:/bin "$@"; }
for tool in $tools; do
    if out=$(run "./bin/$tool" --help 2>&1) && grep -q USAGE <<<"$out"; then pass "$tool --help"; else fail "$tool --help: $out"; fi
    if out=$(run "./bin/$tool" --version 2>&1) && grep -q OpenBLAS <<<"$out"; then pass "$tool --version: $(head -1 <<<"$out")"; else fail "$tool --version: $out"; fi
done
if out=$(run ./bin/swa-inspect "$fixtures/checkpoints/ckpt-001.safetensors.zst" 2>&1); then
    pass "swa-inspect ckpt-001: $(head -1 <<<"$out")"
else fail "swa-inspect ckpt-001: $out"; fi
if out=$(run ./bin/swa-avg "$fixtures/checkpoints" -o "$work/swa.bin" --start 10 --every 2 --quiet 2>&1) && [ -s "$work/swa.bin" ]; then
    pass "swa-avg fixtures/checkpoints --start 10 --every 2 ($(stat -c %s "$work/swa.bin") bytes)"
else fail "swa-avg on the fixtures: $out"; fi

# 3. Man pages and completions.
for tool in $tools; do
    for file in "share/man/man1/$tool.1" "share/bash-completion/completions/$tool" "share/zsh/site-functions/_$tool" "share/fish/vendor_completions.d/$tool.fish"; do
        [ -s "$file" ] || fail "missing $file"
    done
    if command -v man >/dev/null; then
        if MANPAGER=cat man -l "share/man/man1/$tool.1" 2>/dev/null | grep -q -- '--help'; then pass "man -l $tool.1"; else fail "man -l $tool.1 shows no options"; fi
    fi
done
[ -s LICENSE ] && [ -s README ] || fail "LICENSE or README missing"

echo "$tarball: $(du -h "$tarball" | cut -f1); $failures failure(s)"
[ "$failures" -eq 0 ]
