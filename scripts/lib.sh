# shellcheck shell=bash
# Helpers shared by scripts/test-env.sh and scripts/build-test-images.sh.
# Source it after `set -euo pipefail` and after setting PROG (the log prefix).

PROG=${PROG:-$(basename "$0" .sh)}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

need_cmds() { # cmd... : fail early, naming the missing commands
    local c missing=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (run scripts/install-deps.sh)"
}

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root"; }

short_hash() { printf '%s' "$1" | sha256sum | cut -c1-8; }

# ---- KEY=VALUE files (no quotes, no export; C tests parse them too) ----

kv_get() { # file key: the last value of key, empty when absent
    [ -f "$1" ] || return 0
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

kv_set() { # file key value: replaces or appends, atomically
    local tmp=$1.tmp.$$
    if [ -f "$1" ]; then grep -v "^$2=" "$1" >"$tmp" || true; else : >"$tmp"; fi
    printf '%s=%s\n' "$2" "$3" >>"$tmp"
    mv -f "$tmp" "$1"
}

# ---- processes ----
# A pid counts as ours only while it is alive (not a zombie) and its command
# line still contains a path of our own, so a recycled pid is never killed.

pid_read() { # pidfile: its pid, or nothing
    local pid=
    if [ -f "$1" ]; then read -r pid <"$1" 2>/dev/null || true; fi
    case $pid in '' | *[!0-9]*) ;; *) echo "$pid" ;; esac
}

proc_matches() { # pid pattern (bash builtins only: pids_matching calls it a lot)
    local pid=$1 stat args
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    read -r stat <"/proc/$pid/stat" 2>/dev/null || return 1
    stat=${stat##*) }
    case ${stat%% *} in Z | X | x | '') return 1 ;; esac
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
    [[ " ${args[*]} " == *"$2"* ]]
}

pidfile_alive() { # pidfile pattern
    proc_matches "$(pid_read "$1")" "$2"
}

# spawn pidfile logfile cmd...: runs cmd in a session of its own (a Ctrl-C or
# a test runner killing our process group leaves it alone), stdin closed, the
# lock fd closed, output appended to logfile; its pid goes to pidfile.
spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    rm -f "$pidfile"
    # Every inherited fd above stderr is closed: a daemon that kept the fd of
    # a `flock /tmp/crishim-it.lock ...` around this script would hold that
    # lock for as long as it runs.
    # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
    setsid bash -c 'echo $$ >"$0"
        for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null; done
        exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
    for _ in $(seq 50); do
        [ -s "$pidfile" ] && return 0
        sleep 0.02
    done
    die "could not start $1 (see $logfile)"
}

stop_pid() { # pid pattern name seconds: CONT, TERM, wait, then KILL
    local pid=$1 pattern=$2 name=$3 secs=$4
    proc_matches "$pid" "$pattern" || return 0
    kill -CONT "$pid" 2>/dev/null || true # a test may have frozen it
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((secs * 10))); do
        proc_matches "$pid" "$pattern" || return 0
        sleep 0.1
    done
    log "$name (pid $pid) did not stop in ${secs}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        proc_matches "$pid" "$pattern" || return 0
        sleep 0.1
    done
    die "$name (pid $pid) survived SIGKILL"
}

pids_matching() { # pattern: every live process whose command line contains it
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] && proc_matches "$p" "$1" && echo "$p"
    done
    return 0
}

wait_until() { # seconds cmd...: polls cmd every 0.1s; 1 on timeout
    local secs=$1
    shift
    for _ in $(seq $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# ---- ports ----

port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

free_port() { # a TCP port nobody listens on, below the ephemeral range
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free TCP port found"
}

# ---- the env file ----

# build-test-images.sh keeps image references with @REGISTRY@ and
# @AUTH_REGISTRY@ for the registries' addresses, which change when a port
# has to: render_images_env file registry auth_registry.
render_images_env() { sed -e "s|@REGISTRY@|$2|g" -e "s|@AUTH_REGISTRY@|$3|g" "$1"; }

# env_merge envfile file: replaces the keys of file in envfile, atomically.
env_merge() {
    local envfile=$1 add=$2 tmp=$1.tmp.$$
    if [ -f "$envfile" ]; then
        awk -F= 'NR == FNR { drop[$1] = 1; next } !($1 in drop)' "$add" "$envfile" >"$tmp"
    else
        : >"$tmp"
    fi
    cat "$add" >>"$tmp"
    mv -f "$tmp" "$envfile"
}
