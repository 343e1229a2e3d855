# Prometheus 2.42 (with promtool), Alertmanager 0.25 (with amtool) and node-exporter 1.5 from Debian: the
# rule unit tests (promtool), the dashboard and canary integration tests, and `cocusctl monitoring start`.
# cocusctl starts its own instances on 127.0.0.1; the Debian services the packages enable (listening on all
# interfaces) are stopped and disabled when this step installed them on a machine that runs systemd.
STEPS+=(prometheus)
readonly PROMETHEUS_PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter)
readonly PROMETHEUS_UNITS=(prometheus.service prometheus-alertmanager.service prometheus-node-exporter.service)

up_prometheus() {
    up_apt_step prometheus "${PROMETHEUS_PACKAGES[@]}"
    if ((${#NEW_PACKAGES[@]})) && [ -d /run/systemd/system ]; then
        systemctl disable --now "${PROMETHEUS_UNITS[@]}" >/dev/null 2>&1 || true
    fi
}

status_prometheus() { status_apt_step prometheus "${PROMETHEUS_PACKAGES[@]}"; }
