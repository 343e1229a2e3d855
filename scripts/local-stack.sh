#!/usr/bin/env bash
# Make this kind of machine ready for cocusctl's main job and test suite: a Docker engine, an OCI registry
# on 127.0.0.1, the local base image (no public container registry is reachable here), Trivy and the
# other programs the tests use. Each of those is a step in scripts/stack.d/NN-<name>.sh, run in order.
#
#   scripts/local-stack.sh up      install what is missing, start what is stopped; idempotent
#   scripts/local-stack.sh down    stop only what `up` started (PIDs in the state dir); leave the rest alone
#   scripts/local-stack.sh status  show what runs and who started it; exit 1 if something required is missing
#
# `up` installs what is missing whether or not a Docker engine already runs. It installs only on Debian as
# root (apt, pip into a tools venv); elsewhere it names what is missing and how to get it. A step that fails
# names itself and the command that failed; it never ends silently.
#
# Environment (defaults in brackets):
#   COCUS_STACK_DIR      state dir: logs, PID files, registry data     [/var/tmp/cocus-stack]
#   COCUS_TOOLS_DIR      machine tools (trivy, helm, …), linked into /usr/local/bin   [/opt/cocus-tools]
#   COCUS_REGISTRY_PORT  registry port, always on 127.0.0.1           [5000]
#   COCUS_BASE_IMAGE     name of the local base image                 [cocus/python-base:3.11-bookworm]
#   COCUS_DEBIAN_MIRROR  mirror used by debootstrap                   [http://deb.debian.org/debian]
#   COCUS_STACK_TIMEOUT  seconds to wait for dockerd / the registry   [60]
#   COCUS_STACK_STEPS    run only these steps (space-separated names) [all]
set -euo pipefail
set -o errtrace
((BASH_VERSINFO[0] >= 5)) || { echo "local-stack: error: needs bash 5 or newer" >&2; exit 1; }

STACK_DIR=${COCUS_STACK_DIR:-/var/tmp/cocus-stack}
case $STACK_DIR in /*) ;; *) STACK_DIR=$PWD/$STACK_DIR ;; esac
TOOLS_DIR=${COCUS_TOOLS_DIR:-/opt/cocus-tools}
TIMEOUT=${COCUS_STACK_TIMEOUT:-60}
STACK_D=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stack.d
# Any Python does for HTTP probes; the system one starts faster than a pyenv shim.
PROBE_PY=$(command -v /usr/bin/python3 || command -v python3 || echo python3)
STEPS=()          # filled by the step files, in file-name order
CURRENT_STEP=setup

usage() { echo "usage: ${0##*/} up|down|status" >&2; exit 2; }
die() { printf 'local-stack: error: %s: %s\n' "$CURRENT_STEP" "$*" >&2; exit 1; }
# Any command that fails outside an `if`/`||` ends the run here, with the step and the command named.
on_error() {
    local rc=$1 line=$2 cmd=$3
    printf 'local-stack: error: step %s failed: `%s` exited %d (%s)\n' "$CURRENT_STEP" "$cmd" "$rc" "$line" >&2
    exit "$rc"
}
trap 'on_error $? "${BASH_SOURCE[0]##*/}:$LINENO" "$BASH_COMMAND"' ERR

# One line per step: name, verdict, message and the seconds the step took.
step_start() { STEP_T0=${EPOCHREALTIME/./}; }
report() {  # report STEP VERDICT MESSAGE...
    local us=$(( ${EPOCHREALTIME/./} - STEP_T0 )) step=$1 verdict=$2
    shift 2
    printf '%-10s %-4s %s [%d.%01ds]\n' "$step" "$verdict" "$*" $((us / 1000000)) $((us / 100000 % 10))
}
log_tail() { [ -f "$1" ] && tail -n 15 "$1" | sed 's/^/    | /' >&2; return 0; }
# run_logged LOG CMD...: output to LOG, shown (tail) only on failure; the failure names CMD.
run_logged() {
    local log=$1; shift
    "$@" >"$log" 2>&1 || { local rc=$?; log_tail "$log"; die "\`$*\` failed with exit $rc (full log: $log)"; }
}

can_install() { [ "$(id -u)" -eq 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
APT_UPDATED=0
# need_packages PKG...: apt-get install the ones not installed; sets NEW_PACKAGES to what it installed.
need_packages() {
    local p missing=()
    NEW_PACKAGES=()
    command -v dpkg-query >/dev/null || die "not a Debian machine: install $* by other means"
    for p in "$@"; do is_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    can_install || die "missing Debian packages ${missing[*]}: run as root: apt-get install -y ${missing[*]}"
    local log=$STACK_DIR/apt.log apt=(apt-get -q -o DPkg::Lock::Timeout=600)
    if ((!APT_UPDATED)); then
        DEBIAN_FRONTEND=noninteractive run_logged "$log" "${apt[@]}" update
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive run_logged "$log" "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
    hash -r
    NEW_PACKAGES=("${missing[@]}")
}
# up_apt_step STEP PKG...: a step that is only Debian packages: install the missing ones, say which.
up_apt_step() {
    local step=$1; shift
    need_packages "$@"
    if ((${#NEW_PACKAGES[@]})); then
        report "$step" "done" "installed: $(package_versions "${NEW_PACKAGES[@]}")"
    else
        report "$step" ok "all present: $(package_versions "$@")"
    fi
}
# status_apt_step STEP PKG...: FAIL naming the missing packages, or ok with their versions.
status_apt_step() {
    local step=$1 p missing=(); shift
    for p in "$@"; do is_installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        report "$step" FAIL "missing: ${missing[*]}"
        return 1
    fi
    report "$step" ok "all present: $(package_versions "$@")"
}
package_versions() { dpkg-query -W -f='${Package} ${Version}, ' "$@" 2>/dev/null | sed 's/, $//'; }
# link_tool PATH: put a tool on PATH through /usr/local/bin (root) — the place every shell already looks.
link_tool() {
    local target=$1 name=${2:-${1##*/}}
    [ "$(id -u)" -eq 0 ] || die "cannot link $name into /usr/local/bin without root; add ${target%/*} to PATH"
    ln -sfn "$target" "/usr/local/bin/$name"
    hash -r
}

# PID of a process recorded in FILE whose command line contains MARKER (a path unique to this state
# dir), so a reused PID or a hand-started daemon is never taken for ours.
owned_pid() {
    local file=$1 marker=$2 pid
    [ -r "$file" ] || return 1
    pid=$(<"$file")   # dockerd writes its PID without a newline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *"$marker"* ]] || return 1  # may vanish meanwhile
    echo "$pid"
}

# Start a daemon detached from this shell and its terminal; prints its PID. fd 9 (our lock) stays here.
launch() {
    local log=$1; shift
    setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
    echo $!
}

stop_pid() {  # stop_pid PID NAME: SIGTERM, then wait for the process to be gone
    local pid=$1 name=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    die "$name (pid $pid) did not stop within ${TIMEOUT}s"
}

take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/lock"
    flock -n 9 && return
    echo "local-stack: waiting for another local-stack.sh using $STACK_DIR" >&2
    flock -w 900 9 || die "another local-stack.sh holds $STACK_DIR/lock"
}

selected() {  # is step $1 selected by COCUS_STACK_STEPS?
    [ -z "${COCUS_STACK_STEPS:-}" ] && return 0
    [[ " $COCUS_STACK_STEPS " == *" $1 "* ]]
}

# run_steps VERB: call VERB_<step> (dashes in a step name become underscores) for every selected step that defines it; status goes on after a failure.
run_steps() {
    local verb=$1 step fn failed=0
    for step in "${STEPS[@]}"; do
        selected "$step" || continue
        fn=${verb}_${step//-/_}
        declare -F "$fn" >/dev/null || continue
        CURRENT_STEP=$step
        step_start
        if [ "$verb" = status ]; then
            "$fn" || failed=1
        else
            "$fn"
        fi
    done
    CURRENT_STEP=setup
    return "$failed"
}

main() {
    [ $# -eq 1 ] || usage
    case $1 in up | down | status) ;; *) usage ;; esac
    [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "COCUS_STACK_TIMEOUT must be a number of seconds, got '$TIMEOUT'"
    local file
    for file in "$STACK_D"/[0-9][0-9]-*.sh; do
        # shellcheck source=/dev/null
        source "$file"
    done
    local name
    for name in ${COCUS_STACK_STEPS:-}; do
        [[ " ${STEPS[*]} " == *" $name "* ]] || die "COCUS_STACK_STEPS: unknown step '$name' (steps: ${STEPS[*]}; space-separated)"
    done
    case $1 in
        up)
            take_lock
            run_steps up
            echo "ready:"
            run_steps summary
            ;;
        down)
            if [ -d "$STACK_DIR" ]; then take_lock; fi
            local -a reversed=()
            for ((i = ${#STEPS[@]} - 1; i >= 0; i--)); do reversed+=("${STEPS[i]}"); done
            STEPS=("${reversed[@]}")
            run_steps down
            ;;
        status) run_steps status ;;
    esac
}

# On one line, so that editing this file while it runs (bash reads scripts as it goes) cannot break a run.
main "$@"; exit
