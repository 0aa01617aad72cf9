#!/usr/bin/env bash
# dist/NAME.tar.gz from a --static-swift-stdlib release build (make dist):
#   NAME/bin/TOOL, NAME/share/{man,bash-completion,zsh,fish}/..., NAME/README, NAME/LICENSE
# Usage: make-dist.sh NAME BIN TOOL...   (BIN/share made by scripts/make-share.sh)
set -euo pipefail
name=$1 bin=$2
shift 2
stage=dist/$name
rm -rf "$stage" "dist/$name.tar.gz"
mkdir -p "$stage/bin"
for tool in "$@"; do
    install -m 755 "$bin/$tool" "$stage/bin/$tool"
    strip --strip-debug "$stage/bin/$tool"  # DWARF is most of the size; the symbols stay for backtraces
done
cp -R "$bin/share" "$stage/share"
cp LICENSE "$stage/LICENSE"
{
    cat <<TEXT
# $name

swa: the Stochastic Weight Averaging tools (Izmailov et al. 2018,
https://arxiv.org/abs/1803.05407) for Linux on x86_64: $(echo "$@" | sed 's/ /, /g').

The Swift runtime is linked into the executables: no Swift toolchain is needed. Three Debian
(or Ubuntu) libraries stay shared and must be installed:

    sudo apt-get install libzstd1 libopenblas0 zlib1g

The tools also use libc6 (glibc 2.35 or later) and libstdc++6 (from GCC 12 or later), which
Debian 12 and Ubuntu 22.04 or later have.

## Use in place

    ./bin/swa-avg --help
    ./bin/swa-inspect checkpoint.safetensors.zst
    man -l share/man/man1/swa-avg.1

## Install

Copy the two folders under a prefix, for example /usr/local (needs root) or ~/.local:

    sudo cp -R bin share /usr/local/

which puts:

    PREFIX/bin/swa-*                                    the tools
    PREFIX/share/man/man1/swa-*.1                       man pages (man swa-avg)
    PREFIX/share/bash-completion/completions/swa-*      bash completion
    PREFIX/share/zsh/site-functions/_swa-*              zsh completion
    PREFIX/share/fish/vendor_completions.d/swa-*.fish   fish completion

To uninstall, remove those files:

    cd /usr/local && sudo rm -f bin/swa-* share/man/man1/swa-*.1 share/bash-completion/completions/swa-* \\
        share/zsh/site-functions/_swa-* share/fish/vendor_completions.d/swa-*.fish

Every tool has --help and --version; --version also names the BLAS kernels OpenBLAS chose
for the CPU. Licensed under the Apache License 2.0 (LICENSE).
TEXT
} > "$stage/README"
tar -C dist -czf "dist/$name.tar.gz" --owner=0 --group=0 --numeric-owner "$name"
echo "dist/$name.tar.gz: $(du -h "dist/$name.tar.gz" | cut -f1) ($(du -sh "$stage" | cut -f1) unpacked)"
