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

swa: Stochastic Weight Averaging tools (https://arxiv.org/abs/1803.05407) for Linux x86_64.
$(printf '%s ' "$@")

The Swift runtime is linked into the executables; no Swift toolchain is needed. Three Debian
(or Ubuntu) libraries stay shared and must be installed:

    sudo apt-get install libzstd1 libopenblas0 zlib1g

(libstdc++6, libgcc-s1 and libc6, which every Debian system has, are used as well.)
Built on Debian 12; any glibc as new as Debian 12's (2.36) runs them.

## Use in place

    ./bin/swa-avg --help
    ./bin/swa-inspect some-checkpoint.safetensors.zst

## Install

Copy the folders under a prefix, for example /usr/local (needs root) or ~/.local:

    sudo cp -R bin share /usr/local/

That gives:

    PREFIX/bin/swa-*                                    the tools
    PREFIX/share/man/man1/swa-*.1                       man pages (man swa-avg)
    PREFIX/share/bash-completion/completions/swa-*      bash completion
    PREFIX/share/zsh/site-functions/_swa-*              zsh completion
    PREFIX/share/fish/vendor_completions.d/swa-*.fish   fish completion

To uninstall, remove those files:

    cd /usr/local && sudo rm -f $(cd "$stage" && find bin share -type f | sort | tr '\n' ' ')

Every tool has --help and --version; --version names the BLAS kernels OpenBLAS chose for
the CPU. The source and the full documentation are in the swa repository.
TEXT
} > "$stage/README"
tar -C dist -czf "dist/$name.tar.gz" --owner=0 --group=0 --numeric-owner "$name"
echo "dist/$name.tar.gz: $(du -h "dist/$name.tar.gz" | cut -f1) ($(du -sh "$stage" | cut -f1) unpacked)"
