"""The README's two commands on a fresh machine: first and second run of each, wall time and exit status.

Each command runs twice (`--runs N`: N times) inside one `scripts/fresh-machine.sh` root (a bare bookworm file
system with none of the tools the set-up installs), so the first run pays for every install and the second
shows what is reused.
The fresh root shares the host's network, so the host's registry must not serve 127.0.0.1:5000 meanwhile (the
set-up would use it instead of installing its own, and tests that need Debian's docker-registry would skip):
stop it first (`COCUS_STACK_STEPS=registry scripts/local-stack.sh down`). Everything (Docker engine, registry,
base image, Trivy, .venv, the image build cache) then starts from nothing.
Writes benchmarks/results/fresh_machine.json; each run's whole output is kept in /var/tmp/cocus-fresh-logs/.

  python benchmarks/fresh_machine.py [--runs N] [demo|test …]   (default: 2 runs of both; each takes many minutes)
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = Path(__file__).parent / "results" / "fresh_machine.json"
# Each run's whole output is kept here (the fresh root itself is deleted): too big to commit, needed to diagnose.
LOGS = Path("/var/tmp/cocus-fresh-logs")
COMMANDS = {"demo": "bash scripts/demo.sh", "test": "bash scripts/test.sh"}
# Inside the root: run the command RUNS times, each bracketed by markers carrying its wall time and status.
RUNS = r"""
for run in $(seq 1 {runs}); do
    start=$EPOCHREALTIME
    set +e
    {command} >"/out/{name}-run-$run.log" 2>&1
    rc=$?
    set -e
    echo "@@run $run rc=$rc start=$start end=$EPOCHREALTIME"
    tail -n 25 "/out/{name}-run-$run.log" | sed "s/^/@@tail $run | /"
done
"""


def measure(name: str, runs: int) -> dict[str, object]:
    script = RUNS.format(command=COMMANDS[name], runs=runs, name=name)
    started = time.perf_counter()
    proc = subprocess.run([str(ROOT / "scripts" / "fresh-machine.sh"), "bash", "-c", script],
                          capture_output=True, text=True, env={**os.environ, "COCUS_FRESH_OUT": str(LOGS)})
    runs = []
    for match in re.finditer(r"^@@run (\d) rc=(\d+) start=([\d.]+) end=([\d.]+)$", proc.stdout, re.M):
        number = match.group(1)
        tail = [line.split(" | ", 1)[1] for line in proc.stdout.splitlines()
                if line.startswith(f"@@tail {number} | ")]
        runs.append({"run": int(number), "exit_code": int(match.group(2)),
                     "wall_s": round(float(match.group(4)) - float(match.group(3)), 1), "last_lines": tail[-8:],
                     "log": str(LOGS / f"{name}-run-{number}.log")})
    return {"command": COMMANDS[name], "runs": runs, "fresh_machine_exit": proc.returncode,
            "total_wall_s": round(time.perf_counter() - started, 1),
            "stderr_tail": proc.stderr.splitlines()[-10:]}


def host_registry_answers() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 5000)) == 0


def main() -> None:
    args = sys.argv[1:]
    runs = 2
    if args[:1] == ["--runs"]:
        runs, args = int(args[1]), args[2:]
    names = args or list(COMMANDS)
    unknown = set(names) - set(COMMANDS)
    if unknown:
        raise SystemExit(f"unknown command(s): {', '.join(sorted(unknown))}; choose from {', '.join(COMMANDS)}")
    if host_registry_answers():
        raise SystemExit("the host serves a registry on 127.0.0.1:5000, which the fresh root would use instead of "
                         "its own; stop it: COCUS_STACK_STEPS=registry scripts/local-stack.sh down")
    previous = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    results = dict(previous.get("results", {}))
    load_before = os.getloadavg()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    for name in names:
        results[name] = {**measure(name, runs), "commit": commit,
                         "copied_in": os.environ.get("COCUS_FRESH_COPY", "").split()}
    RESULT.write_text(json.dumps({
        "commit": commit,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]},
        "note": "fresh root from scripts/fresh-machine.sh, the host's registry stopped (the root installs its own)",
        "results": results,
    }, indent=2) + "\n")
    for name in names:
        for run in results[name]["runs"]:
            print(f"{name} run {run['run']}: exit {run['exit_code']} in {run['wall_s']} s")


if __name__ == "__main__":
    main()
