# Shell helpers shared by bench-average.sh and bench-forward.sh (sourced, not run).
# The sourcing script defines `say MESSAGE...` (its prefix on stderr) before calling these.

# require_tools COMMAND...: installs the Debian packages of missing commands with apt-get when
# run as root, else says what to install and exits. `time` means GNU /usr/bin/time with -v.
require_tools() {
    local need="" tool
    for tool in "$@"; do
        if [ "$tool" = time ]; then
            [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 || need="$need time"
        else
            command -v "$tool" >/dev/null || need="$need $tool"
        fi
    done
    [ -z "$need" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        say "installing:$need"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
        say "missing:$need; run: sudo apt-get install -y$need"
        exit 1
    fi
}

# Busy CPU ticks of the whole machine so far (user, nice, system, irq, softirq, steal).
cpu_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
