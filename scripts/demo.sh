#!/usr/bin/env bash
# The main job, end to end, on the embedded local default: set up the machine (idempotent), install
# cocusctl, then build → scan → push the service image to the local registry and show its digest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/local-stack.sh up
bash scripts/install.sh

echo "→ cocusctl doctor"
cocusctl doctor --env local
echo "→ cocusctl build --env local"
cocusctl build --env local
