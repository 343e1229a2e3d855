# Docker engine: Debian's docker.io, dockerd started without a bridge or iptables rules (containers use the
# host's network and listen on 127.0.0.1). A daemon that already answers is used and left alone.
STEPS+=(dockerd)
DOCKERD_PIDFILE=$STACK_DIR/dockerd.pid   # written and removed by dockerd itself (--pidfile)
DOCKERD_LOG=$STACK_DIR/dockerd.log

docker_ok() { command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }
dockerd_marker() { echo "--pidfile $DOCKERD_PIDFILE "; }

up_dockerd() {
    local pid
    if docker_ok; then
        if pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
            report dockerd ok "running, started by this script (pid $pid)"
        else
            report dockerd ok "running, not started by this script (left alone)"
        fi
        return
    fi
    # The engine (and a client that talks to it) come from Debian; a lone client elsewhere on PATH is not enough.
    need_packages docker.io
    if ! pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
        if [ -r /var/run/docker.pid ] && pid=$(</var/run/docker.pid) \
            && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
            die "a dockerd (pid $pid) runs but 'docker info' fails; see its log or stop it, then rerun"
        fi
        [ "$(id -u)" -eq 0 ] || die "the Docker engine is not reachable and only root can start dockerd here"
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
    report dockerd "done" "started (pid $pid, log $DOCKERD_LOG)${NEW_PACKAGES:+; installed ${NEW_PACKAGES[*]}}"
}

status_dockerd() {
    local pid
    if docker_ok; then
        local who="not started by this script"
        pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)") && who="started by this script (pid $pid)"
        report dockerd ok "running, server $(docker version --format '{{.Server.Version}}'), $who"
    else
        report dockerd FAIL "not reachable (docker info fails)"
        return 1
    fi
}

down_dockerd() {
    local pid
    if pid=$(owned_pid "$DOCKERD_PIDFILE" "$(dockerd_marker)"); then
        stop_pid "$pid" dockerd
        report dockerd "done" "stopped pid $pid"
    else
        report dockerd ok "not started by this script; left alone"
    fi
}

summary_dockerd() { echo "  docker     $(docker version --format '{{.Server.Version}}' 2>/dev/null)"; }
