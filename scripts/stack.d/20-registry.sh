# The OCI registry on 127.0.0.1 that stands in for Artifact Registry: Debian's docker-registry
# (Distribution v2). One that already answers on the port is used and left alone.
STEPS+=(registry)
REGISTRY_PORT=${COCUS_REGISTRY_PORT:-5000}
if ! [[ $REGISTRY_PORT =~ ^[0-9]+$ ]] || ((REGISTRY_PORT < 1 || REGISTRY_PORT > 65535)); then
    CURRENT_STEP=registry die "COCUS_REGISTRY_PORT must be a port number, got '$REGISTRY_PORT'"
fi
REGISTRY_ADDR=127.0.0.1:$REGISTRY_PORT
REGISTRY_URL=http://$REGISTRY_ADDR
REG_DIR=$STACK_DIR/registry-$REGISTRY_PORT

registry_marker() { echo "serve $1/config.yml"; }

# "registry" when URL/v2/ answers 200 as a Distribution v2 registry, "http CODE" for anything else
# that answers, "none" when nothing listens. Proxies are bypassed: this is always loopback.
registry_probe() {
    "$PROBE_PY" - "$1/v2/" <<'PY'
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
PY
}

write_registry_config() {
    mkdir -p "$REG_DIR/data"
    cat >"$REG_DIR/config.yml" <<YAML
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
YAML
}

up_registry() {
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
        need_packages docker-registry
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

status_registry() {
    local pid state
    state=$(registry_probe "$REGISTRY_URL")
    if [ "$state" = registry ]; then
        local who="not started by this script"
        pid=$(owned_pid "$REG_DIR/pid" "$(registry_marker "$REG_DIR")") \
            && who="started by this script (pid $pid)"
        report registry ok "$REGISTRY_URL answers, $who"
    else
        report registry FAIL "no open v2 registry at $REGISTRY_URL ($state)"
        return 1
    fi
}

down_registry() {
    local pid dir any=0
    for dir in "$STACK_DIR"/registry-*; do
        [ -e "$dir/pid" ] || continue
        any=1
        if pid=$(owned_pid "$dir/pid" "$(registry_marker "$dir")"); then
            stop_pid "$pid" "docker-registry"
            rm -f "$dir/pid"
            report registry "done" "stopped pid $pid (${dir##*/}; data kept in $dir/data)"
        else
            rm -f "$dir/pid"
            report registry ok "stale record ${dir##*/} removed (that process is gone)"
        fi
    done
    ((any)) || report registry ok "none started by this script; others left alone"
}

summary_registry() { echo "  registry   $REGISTRY_URL"; }
