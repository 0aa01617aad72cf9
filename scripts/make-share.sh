#!/usr/bin/env bash
# Man pages and shell completions for the built tools, laid out as under PREFIX/share:
#   man/man1/TOOL.1                      swift-argument-parser's generate-manual, from --help
#   bash-completion/completions/TOOL     TOOL --generate-completion-script bash
#   zsh/site-functions/_TOOL             ... zsh
#   fish/vendor_completions.d/TOOL.fish  ... fish
# Usage: make-share.sh BIN OUT TOOL...   (BIN holds the tools and generate-manual)
set -euo pipefail
bin=$1 out=$2
shift 2
rm -rf "$out"
mkdir -p "$out/man/man1" "$out/bash-completion/completions" "$out/zsh/site-functions" "$out/fish/vendor_completions.d"
# The page's date is the build's, so the pages do not change between identical builds.
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
for tool in "$@"; do
    # One page per tool: --multi-page would add a page for the implicit `help` subcommand.
    "$bin/generate-manual" "$bin/$tool" --date "$date" --output-directory "$out/man/man1"
    # mdoc warns about empty lines (the blank lines of --help discussions); .Pp is its paragraph
    # break. generate-manual puts `subcommand` in the synopsis for the implicit `help`
    # subcommand, which none of the tools needs.
    # swa-landscape's subcommands (line, width, plane) are real: its synopsis keeps the word.
    if [ "$tool" = swa-landscape ]; then
        sed -i -e 's/^$/.Pp/' "$out/man/man1/$tool.1"
    else
        sed -i -e 's/^$/.Pp/' -e '/^\.Ar subcommand$/d' "$out/man/man1/$tool.1"
    fi
    "$bin/$tool" --generate-completion-script bash > "$out/bash-completion/completions/$tool"
    "$bin/$tool" --generate-completion-script zsh > "$out/zsh/site-functions/_$tool"
    "$bin/$tool" --generate-completion-script fish > "$out/fish/vendor_completions.d/$tool.fish"
done
