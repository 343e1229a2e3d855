#!/usr/bin/env bash
# Set up this machine (idempotent: Docker engine, local registry, base image, Trivy, Redis), install cocusctl
# into .venv, run lint and types, then the whole test suite. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/local-stack.sh up
bash scripts/install.sh
export PATH=$PWD/.venv/bin:$PATH
exec python -m pytest "$@"
