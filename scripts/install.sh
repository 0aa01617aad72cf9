#!/usr/bin/env bash
# make install / make uninstall.
#   install.sh install DESTDIR PREFIX BIN TOOL...   copies BIN/TOOL to PREFIX/bin and BIN/share
#                                                   (scripts/make-share.sh) to PREFIX/share
#   install.sh uninstall DESTDIR PREFIX             removes exactly what the manifest lists
# The manifest, PREFIX/share/swa/install-manifest.txt, lists every installed file as an
# absolute path under PREFIX (without DESTDIR, as on the final system), then the folders the
# install created (with a trailing /, deepest first), so that uninstall removes those and
# leaves folders that were there before.
set -euo pipefail
action=$1 destdir=$2 prefix=$3
shift 3
case $prefix in /*) ;; *) echo "PREFIX must be an absolute path, got '$prefix'" >&2; exit 2 ;; esac
root=$destdir$prefix
manifest_path=share/swa/install-manifest.txt

case $action in
install)
    bin=$1
    shift
    for tool in "$@"; do
        [ -x "$bin/$tool" ] || { echo "missing $bin/$tool: run make build" >&2; exit 1; }
    done
    files=()
    for tool in "$@"; do files+=("bin/$tool"); done
    while IFS= read -r file; do files+=("share/$file"); done < <(cd "$bin/share" && find . -type f | sed 's|^\./||' | sort)
    files+=("$manifest_path")
    # The folders that do not exist yet, before creating any.
    created=()
    for file in "${files[@]}"; do
        dir=$(dirname "$root/$file")
        while [ "$dir" != "$root" ] && [ ! -d "$dir" ]; do created+=("$dir"); dir=$(dirname "$dir"); done
    done
    for tool in "$@"; do
        install -D -m 755 "$bin/$tool" "$root/bin/$tool"
    done
    for file in "${files[@]}"; do
        case $file in share/swa/*) ;; share/*) install -D -m 644 "$bin/$file" "$root/$file" ;; esac
    done
    mkdir -p "$(dirname "$root/$manifest_path")"
    {
        printf '%s\n' "${files[@]/#/$prefix/}"
        [ ${#created[@]} -eq 0 ] || printf '%s\n' "${created[@]}" | sed "s|^$destdir||; s|\$|/|" | sort -u -r
    } > "$root/$manifest_path"
    echo "installed $((${#files[@]} - 1)) files under $root (list: $root/$manifest_path)"
    case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on PATH" ;; esac
    ;;
uninstall)
    manifest=$root/$manifest_path
    [ -f "$manifest" ] || { echo "nothing to uninstall: no $manifest" >&2; exit 1; }
    mapfile -t entries < "$manifest"
    count=0
    for entry in "${entries[@]}"; do  # files first, the manifest last
        case $entry in */) continue ;; "$prefix/$manifest_path") continue ;; "$prefix"/*) ;; *) echo "skipping '$entry': not under $prefix" >&2; continue ;; esac
        if [ -e "$destdir$entry" ] || [ -L "$destdir$entry" ]; then rm -f "$destdir$entry"; count=$((count + 1)); fi
    done
    rm -f "$manifest"
    for entry in "${entries[@]}"; do  # then the folders the install created, deepest first, if empty
        case $entry in "$prefix"/*/) rmdir "$destdir$entry" 2>/dev/null || echo "kept $destdir$entry: not empty" >&2 ;; esac
    done
    echo "removed $count files listed in $manifest"
    ;;
*)
    echo "usage: install.sh install|uninstall DESTDIR PREFIX [BIN TOOL...]" >&2; exit 2 ;;
esac
