#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set up the machine (idempotent: Docker engine, local registry,
# base image, Trivy, …), install cocusctl into .venv, run lint and types, then every test.
#
#   bash scripts/test.sh [PYTEST_ARGS…]   everything (CI runs exactly this); extra arguments go to pytest
#   bash scripts/test.sh --unit [ARGS…]   the contributor's fast loop: lint, types, unit and CLI tests that
#                                         need no daemon; sets up nothing but .venv
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'rc=$?; echo "test.sh: error: \"$BASH_COMMAND\" failed (exit $rc)" >&2; exit $rc' ERR

unit=0
if [ "${1:-}" = --unit ]; then
    unit=1
    shift
fi

bash scripts/install.sh
export PATH=$PWD/.venv/bin:$PATH

echo "→ lint (ruff) and types (mypy)"
ruff check cocusctl service tests benchmarks noxfile.py
mypy cocusctl service/cocus_rag

if ((unit)); then
    exec python -m pytest tests/unit tests/cli -m "not docker and not registry and not trivy and not redis" "$@"
fi
bash scripts/local-stack.sh up
exec python -m pytest "$@"
