#!/usr/bin/env bash
# The main job, end to end, on the embedded local default (no GCP account needed):
#   set up the machine (idempotent) → install cocusctl → build, scan and push the service image by digest →
#   deploy it to the local Cloud Run emulator (local-staging) → ask it a real question →
#   canary a new revision 10 → 50 → 100 % → promote the same digest to local-prod → show status →
#   the GKE target: promote the same digest to local-gke (the chart helm/cocus-mvp on the local Kubernetes
#   cluster) → ask it → canary a new revision there → show status.
# Safe to run again: an unchanged deploy creates no new revision.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/local-stack.sh up
bash scripts/install.sh
export PATH=$PWD/.venv/bin:$PATH

# The service refuses to start without an API key. A local demo key, made once and kept in the
# git-ignored build folder, goes into the local secret store (mode 0600) as version 1 of the secret that
# cocus.yaml pins, the way a Secret Manager version serves a Cloud Run revision on GCP; the emulator hands
# it to each revision. cocusctl sends it with its smoke query and never prints it.
mkdir -p build
[ -s build/demo-api-key ] || python3 -c 'import secrets; print("demo-" + secrets.token_hex(16))' > build/demo-api-key
key=$(cat build/demo-api-key)
export COCUS_SMOKE_API_KEY="$key"
for env in local-staging local-prod local-gke; do
    cocusctl secrets set --env "$env" cocus-rag-api-keys < build/demo-api-key
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "doctor"
cocusctl doctor --env local-staging

say "Cloud Run emulator"
cocusctl emulator start

say "build → scan → push (by digest)"
cocusctl build --env local-staging

say "deploy to local-staging"
cocusctl deploy --env local-staging --strategy all --yes

ask() {  # ask ENV: one real question to the service deployed in ENV
    local url
    url=$(cocusctl status --env "$1" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["url"])')
    python3 - "$url" "$key" <<'PY'
import json, sys, urllib.request
url, key = sys.argv[1], sys.argv[2]
question = "How do I create a virtual environment?"
request = urllib.request.Request(url + "/v1/query", method="POST", data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json", "X-API-Key": key})
with urllib.request.urlopen(request, timeout=60) as response:
    answer = json.load(response)
print(f"Q: {question}\nA: {answer['answer'][:600]}")
for source in answer["sources"][:3]:
    print(f"  [{source['score']:.3f}] {source['id']} — {source['title']}")
PY
}

say "query the deployed service"
ask local-staging

say "canary: a new revision (config change, same digest) 10 → 50 → 100 %"
COCUSCTL_ENVIRONMENTS__LOCAL_STAGING__REVISION__ENV__COCUS_LOG_LEVEL=WARNING \
    cocusctl deploy --env local-staging --strategy canary --yes

say "promote local-staging → local-prod (same digest)"
cocusctl promote --from local-staging --to local-prod

say "status of local-prod"
cocusctl status --env local-prod

say "the GKE target: the local Kubernetes cluster (its first start builds it, unless local-stack.sh did)"
cocusctl cluster start
cocusctl doctor --env local-gke

say "promote local-staging → local-gke (same digest; helm upgrade --install of the chart, rollout, smoke test)"
cocusctl promote --from local-staging --to local-gke --yes

say "query the service on the cluster"
ask local-gke

say "canary on GKE: a new revision (config change, same digest) 10 → 50 → 100 % by replica share"
# The last build was made for local-staging, and deploy takes a last build only for its own environment:
# name the digest that promote put into local-gke's registry, the one serving there now.
serving=$(cocusctl status --env local-gke --output json | python3 -c '
import json, sys
revisions = json.load(sys.stdin)["data"]["revisions"]
print(max(revisions, key=lambda r: r["percent"])["image"])')
COCUSCTL_ENVIRONMENTS__LOCAL_GKE__REVISION__ENV__COCUS_LOG_LEVEL=WARNING \
    cocusctl deploy --env local-gke --image "$serving" --strategy canary --yes

say "status of local-gke"
cocusctl status --env local-gke
