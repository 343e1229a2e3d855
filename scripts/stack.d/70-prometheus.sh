# Prometheus 2.42 (with promtool), Alertmanager 0.25 (with amtool) and node-exporter 1.5 from Debian: the
# rule unit tests (promtool), the dashboard and canary integration tests, and `cocusctl monitoring start`.
# cocusctl starts its own instances on 127.0.0.1; the Debian services the packages enable (listening on all
# interfaces) are stopped and disabled when this step installed them on a machine that runs systemd.
STEPS+=(prometheus)
readonly PROMETHEUS_PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter)
readonly PROMETHEUS_UNITS=(prometheus.service prometheus-alertmanager.service prometheus-node-exporter.service)

prometheus_versions() {
    local p v out=()
    for p in prometheus prometheus-alertmanager prometheus-node-exporter; do
        v=$("$p" --version 2>&1 | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n 1)
        out+=("$p ${v:-?}")
    done
    echo "${out[*]}"
}

up_prometheus() {
    need_packages "${PROMETHEUS_PACKAGES[@]}"
    if ((${#NEW_PACKAGES[@]})); then
        if [ -d /run/systemd/system ]; then
            systemctl disable --now "${PROMETHEUS_UNITS[@]}" >/dev/null 2>&1 || true
        fi
        report prometheus "done" "installed: ${NEW_PACKAGES[*]} ($(prometheus_versions))"
    else
        report prometheus ok "$(prometheus_versions)"
    fi
}

status_prometheus() {
    local p missing=()
    for p in "${PROMETHEUS_PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        report prometheus FAIL "missing: ${missing[*]}"
        return 1
    fi
    report prometheus ok "$(prometheus_versions)"
}
