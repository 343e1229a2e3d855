"""How long `cocusctl --help` takes, as a user runs it (console script), over repeated runs.

Writes benchmarks/results/help_time.json. The pyenv shim on PATH (if any) adds its own bash start-up, so the
console script inside the interpreter's bin folder is timed too, and reported apart.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 30
RESULT = Path(__file__).parent / "results" / "help_time.json"


def time_command(argv: list[str], runs: int = RUNS) -> dict[str, float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "median_s": round(statistics.median(samples), 4),
        "p90_s": round(samples[int(0.9 * (len(samples) - 1))], 4),
        "min_s": round(samples[0], 4),
        "runs": runs,
    }


def main() -> None:
    console_script = Path(sys.executable).parent / "cocusctl"
    results: dict[str, object] = {
        "python": sys.version.split()[0],
        "console_script": str(console_script),
        "cocusctl_help": time_command([str(console_script), "--help"]),
        "python_startup_only": time_command([sys.executable, "-c", "pass"]),
    }
    on_path = shutil.which("cocusctl")
    if on_path and Path(on_path).resolve() != console_script.resolve():
        results["path_entry"] = on_path
        results["cocusctl_help_via_path"] = time_command([on_path, "--help"])
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
