"""`cocusctl build`: build the service image, check its size, scan it, gate it, push it by digest.

The core never imports typer, rich or an SDK: the engine, Trivy and the registry come in as adapters
(small protocols below), progress goes out through a `Reporter`. Each failure raises the error of its
phase (BuildError, SizeBudgetError, ScanGateError, PushError) carrying the partial `BuildResult`, so the
CLI can show what was done (image id, size, findings table) even when the command fails.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from cocusctl.core.config import AcceptedFinding, Environment, LoadedConfig, ScanPolicy
from cocusctl.core.errors import (
    CocusError,
    NotAvailableError,
    PushError,
    ScanGateError,
    SizeBudgetError,
    ToolError,
    UsageError,
)
from cocusctl.core.os_updates import SecuritySuite, check_report, sarif_run
from cocusctl.core.reporting import Reporter, tool_log
from cocusctl.core.scan import (
    ScanSummary,
    VulnDbUnavailable,
    evaluate,
    findings_from_report,
    gate_message,
    gate_report,
    load_accepted,
    load_report,
)
from cocusctl.core.tagging import image_tags, oci_build_args, source_info

MB = 1_000_000  # decimal megabytes, as `docker images` shows them
# Build argument carrying today's date (UTC): a Dockerfile that upgrades its OS packages under it reruns that
# layer once a day and reuses it within the day (see docs/decisions.md, "Security updates in images").
SECURITY_UPDATES_ARG = "SECURITY_UPDATES_DAY"
LAST_BUILD_FILE = "last-build.json"  # the last *pushed* build; deploy reads image, pushed_ref, digest


# --- the adapters the build needs ----------------------------------------------------------------------


class ImageFacts(Protocol):
    id: str
    size: int
    user: str


class Engine(Protocol):
    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        timeout: int | None = None,
        no_cache: bool = False,
    ) -> str: ...

    def image(self, ref: str) -> ImageFacts: ...

    def tag(self, image_id: str, repository: str, tag: str) -> None: ...

    def push(
        self,
        repository: str,
        tag: str,
        *,
        auth_config: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> str: ...


class Scanner(Protocol):
    def scan_image(
        self,
        image: str,
        report: Path,
        *,
        scanners: Any = ...,
        input_tar: Path | None = None,
        skip_db_update: bool = False,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> list[str]: ...

    def scan_config(self, path: Path, report: Path, *, timeout: float | None = None) -> None: ...

    def convert(self, report: Path, fmt: str, output: Path, *, timeout: float = ...) -> Path: ...


class Registry(Protocol):
    def ping(self) -> int: ...

    def docker_auth_config(self) -> dict[str, str] | None: ...

    def manifest_digest(self, repository: str, reference: str) -> str | None: ...


# --- request and result --------------------------------------------------------------------------------


@dataclass
class BuildRequest:
    extra_tags: list[str] = field(default_factory=list)
    push: bool = True
    allow_missing_vuln_db: bool = False
    no_cache: bool = False


class ReportPaths(BaseModel):
    dir: str
    trivy_json: str | None = None
    sarif: str | None = None
    sbom: str | None = None
    gate: str | None = None
    dockerfile_json: str | None = None


class BuildResult(BaseModel):
    """What `cocusctl build` did; `--output json` prints it, `<output_dir>/last-build.json` keeps it."""

    environment: str
    image: str = Field(description="REGISTRY/IMAGE without tag or digest")
    tags: list[str]
    refs: list[str] = Field(default_factory=list, description="local tagged references")
    revision: str | None = None
    dirty: bool = False
    image_id: str | None = None
    size_bytes: int | None = None
    size_mb: float | None = None
    size_budget_mb: int
    scan: ScanSummary | None = None
    reports: ReportPaths | None = None
    pushed: bool = False
    push_skipped: bool = Field(False, description="--no-push was given")
    digest: str | None = None
    pushed_ref: str | None = Field(None, description="REGISTRY/IMAGE@sha256:…")
    timings_s: dict[str, float] = Field(default_factory=dict)


class ScanRun(BaseModel):
    """What `cocusctl scan` returns: the gate's summary and, for an image scan, the report paths."""

    scan: ScanSummary
    reports: ReportPaths | None = None


def scan_image(
    scanner: Scanner,
    ref: str,
    out: Path,
    policy: ScanPolicy,
    *,
    accepted: list[AcceptedFinding],
    allow_missing_vuln_db: bool,
    reporter: Reporter,
    dockerfile: Path | None = None,
    os_suite: SecuritySuite | None = None,
) -> ScanRun:
    """Scan a local image into `out/` (Trivy JSON, SARIF, CycloneDX SBOM, gate.json) and judge it.

    When the vulnerability DB is unavailable this raises `VulnDbUnavailable`, unless the flag or the
    policy allows going on; then only secrets and misconfigurations are scanned and the summary says
    vulnerabilities were NOT checked (the SBOM is complete either way: it does not need the DB).
    With the source `dockerfile`, it is scanned for misconfigurations too: Trivy cannot rebuild a Dockerfile
    from the history of many images (exec-form HEALTHCHECK, LABEL values with spaces) and then silently
    skips those checks — without the source that is an error, never a silent pass.
    With `os_suite` (and `policy.os_updates` not off), a Debian image's packages are compared with its
    release's security suite: each pending update is a finding, whether or not Trivy has its DB.
    """
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "trivy.json"
    timeout = float(policy.timeout_s)
    reporter.step(f"Scanning {ref} with Trivy (vulnerabilities, secrets, misconfigurations)")
    vulns_checked = True
    try:
        with tool_log(reporter, out / "trivy-image.log") as sink:
            history_errors = scanner.scan_image(ref, report_path, timeout=timeout, on_line=sink)
    except VulnDbUnavailable as exc:
        if not (allow_missing_vuln_db or policy.allow_missing_vuln_db):
            raise
        vulns_checked = False
        reporter.warn(f"{exc.message}: vulnerabilities will NOT be checked (allowed explicitly)")
        with tool_log(reporter, out / "trivy-image.log") as sink:
            history_errors = scanner.scan_image(
                ref, report_path, scanners=("secret", "misconfig"), timeout=timeout, on_line=sink
            )
    reports = ReportPaths(dir=str(out), trivy_json=str(report_path))
    report = load_report(report_path)
    findings = findings_from_report(report)
    os_check = None
    if os_suite is not None and policy.os_updates != "off":
        reporter.step(f"Comparing the OS packages of {ref} with its Debian security suite")
        os_check = check_report(report, os_suite)
    if dockerfile is not None:
        reporter.step(f"Scanning {dockerfile.name} (the source of {ref}) for misconfigurations")
        dockerfile_report = out / "dockerfile.json"
        scanner.scan_config(dockerfile, dockerfile_report, timeout=timeout)
        reports.dockerfile_json = str(dockerfile_report)
        # The same check can fail on the image's history and on its source: count it once.
        source_findings = findings_from_report(load_report(dockerfile_report))
        seen = {(f.kind, f.id) for f in source_findings}
        findings = [f for f in findings if (f.kind, f.id) not in seen] + source_findings
    elif history_errors:
        raise ToolError(
            "trivy", [], 0, "\n".join(history_errors),
            message="Trivy could not rebuild the image's Dockerfile from its history, so its configuration was "
            f"NOT checked for misconfigurations ({history_errors[0]})",
            hint="scan the image through `cocusctl build`, which also scans the source Dockerfile",
        )
    reports.sarif = str(scanner.convert(report_path, "sarif", out / "trivy.sarif"))
    reports.sbom = str(scanner.convert(report_path, "cyclonedx", out / "sbom.cdx.json"))
    summary = evaluate(
        findings,
        policy,
        vulnerabilities_checked=vulns_checked,
        allow_missing_vuln_db=allow_missing_vuln_db,
        accepted=accepted,
        artifact=ref,
        os_check=os_check,
    )
    if os_check is not None and os_check.pending:
        sarif = json.loads(Path(reports.sarif).read_text(encoding="utf-8"))
        sarif.setdefault("runs", []).append(sarif_run(os_check, ref, failing=policy.os_updates == "fail"))
        Path(reports.sarif).write_text(json.dumps(sarif, indent=2) + "\n", encoding="utf-8")
    reports.gate = str(out / "gate.json")
    (out / "gate.json").write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for note in summary.notes:
        reporter.warn(note)
    if summary.passed:
        reporter.success(f"Scan gate passed ({len(summary.unfixed)} unfixed, {len(summary.accepted)} accepted)")
    return ScanRun(scan=summary, reports=reports)


# --- the build ---------------------------------------------------------------------------------------


@dataclass
class ImageBuild:
    """One build run. Construct with the loaded config, the environment and the adapters; call `run()`."""

    loaded: LoadedConfig
    environment: Environment
    engine_factory: Callable[[], Engine]
    scanner_factory: Callable[[], Scanner]
    registry_factory: Callable[[], Registry]
    reporter: Reporter
    request: BuildRequest = field(default_factory=BuildRequest)
    security_suite_factory: Callable[[ScanPolicy], SecuritySuite] | None = None

    def run(self) -> BuildResult:
        service = self.loaded.config.service
        context = self.loaded.resolve_path(service.context)
        dockerfile = context / service.dockerfile
        if not dockerfile.is_file():
            raise UsageError(f"service.dockerfile: {dockerfile} does not exist")
        source = source_info(self.loaded.root)
        tags = image_tags(source, self.request.extra_tags)
        repository = f"{self.environment.registry.url}/{service.image}"
        result = BuildResult(
            environment=self.environment.name,
            image=repository,
            tags=tags,
            refs=[f"{repository}:{tag}" for tag in tags],
            revision=source.revision,
            dirty=source.dirty,
            size_budget_mb=service.size_budget_mb,
            push_skipped=not self.request.push,
        )
        accepted = load_accepted(self.environment.scan, self.loaded.root)

        # Everything the run needs is checked before the (long) build starts.
        engine = self.engine_factory()
        scanner = self.scanner_factory()
        registry = self.registry_factory() if self.request.push else None
        if registry is not None:
            try:
                registry.ping()
            except CocusError as exc:
                raise PushError(
                    f"{exc.message}; nothing was built",
                    hint=f"{exc.hint + '; ' if exc.hint else ''}or pass --no-push to build without pushing",
                ) from exc

        try:
            self._build(engine, context, dockerfile, source, tags, result)
            self._check_size(engine, result)
            self._scan(scanner, result, accepted, dockerfile)
            if registry is not None:
                self._push(engine, registry, result)
        except CocusError as exc:
            if exc.result is None:
                exc.result = result
            raise
        if result.pushed:  # only a pushed image is deployable: --no-push keeps the last pushed build
            self._write_last_build(result)
        return result

    # --- phases -------------------------------------------------------------------------------------
    def _build(
        self, engine: Engine, context: Path, dockerfile: Path, source: Any, tags: list[str], result: BuildResult
    ) -> None:
        buildargs = {
            SECURITY_UPDATES_ARG: datetime.now(UTC).date().isoformat(),
            **self.environment.build_args,
            **oci_build_args(source, tags),
        }
        self.reporter.step(f"Building {result.refs[0]} from {dockerfile.relative_to(context)}")
        started = time.monotonic()
        with tool_log(self.reporter, self._build_dir(result) / "build.log") as sink:
            image_id = engine.build(
                context,
                dockerfile=dockerfile.relative_to(context).as_posix(),
                tag=result.refs[0],
                buildargs=buildargs,
                on_line=sink,
                no_cache=self.request.no_cache,
            )
        for tag in tags[1:]:
            engine.tag(image_id, result.image, tag)
        result.image_id = image_id
        result.timings_s["build"] = round(time.monotonic() - started, 2)
        self.reporter.success(f"Built {image_id[:19]} in {result.timings_s['build']:.1f} s")

    def _check_size(self, engine: Engine, result: BuildResult) -> None:
        assert result.image_id is not None
        info = engine.image(result.image_id)
        result.size_bytes = info.size
        result.size_mb = round(info.size / MB, 1)
        budget = result.size_budget_mb
        if info.size > budget * MB:
            raise SizeBudgetError(
                f"image is {result.size_mb:.1f} MB, over its size budget of {budget} MB",
                hint="slim the image, or raise service.size_budget_mb in cocus.yaml",
            )
        self.reporter.info(f"image size {result.size_mb:.1f} MB (budget {budget} MB)")

    def _security_suite(self) -> SecuritySuite | None:
        factory = self.security_suite_factory
        return factory(self.environment.scan) if factory is not None else None

    def _build_dir(self, result: BuildResult) -> Path:
        """This build's folder: its logs, Trivy reports, SBOM and gate verdict."""
        return self.loaded.resolve_path(self.loaded.config.output_dir) / "build" / result.tags[0]

    def _scan(self, scanner: Scanner, result: BuildResult, accepted: Any, dockerfile: Path) -> None:
        out = self._build_dir(result)
        started = time.monotonic()
        try:
            scan = scan_image(
                scanner,
                result.refs[0],
                out,
                self.environment.scan,
                accepted=accepted,
                allow_missing_vuln_db=self.request.allow_missing_vuln_db,
                reporter=self.reporter,
                dockerfile=dockerfile,
                os_suite=self._security_suite(),
            )
        finally:
            result.reports = ReportPaths(dir=str(out), trivy_json=str(out / "trivy.json"))
        result.scan, result.reports = scan.scan, scan.reports
        result.timings_s["scan"] = round(time.monotonic() - started, 2)
        if not scan.scan.passed:
            raise ScanGateError(gate_message(scan.scan), hint=f"reports in {out}")

    def _push(self, engine: Engine, registry: Registry, result: BuildResult) -> None:
        self.reporter.step(f"Pushing {result.image} ({', '.join(result.tags)})")
        started = time.monotonic()
        auth = registry.docker_auth_config()
        digest: str | None = None
        with tool_log(self.reporter, self._build_dir(result) / "push.log") as sink:
            for tag in result.tags:
                pushed = engine.push(result.image, tag, auth_config=auth, on_line=sink)
                if digest is not None and pushed != digest:
                    raise PushError(f"tag {tag} was pushed as {pushed}, expected {digest}")
                digest = pushed
        assert digest is not None
        repository = result.image.split("/", 1)[1]
        stored = registry.manifest_digest(repository, digest)
        if stored != digest:
            raise PushError(f"registry does not serve {result.image}@{digest} after the push")
        result.pushed = True
        result.digest = digest
        result.pushed_ref = f"{result.image}@{digest}"
        result.timings_s["push"] = round(time.monotonic() - started, 2)
        self.reporter.success(f"Pushed {result.pushed_ref}")

    def _write_last_build(self, result: BuildResult) -> None:
        path = self.loaded.resolve_path(self.loaded.config.output_dir) / LAST_BUILD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


# --- `cocusctl scan` -------------------------------------------------------------------------------------


def gate_saved_report(
    loaded: LoadedConfig, environment: Environment, report: Path, allow_missing_vuln_db: bool
) -> ScanRun:
    """Judge a saved Trivy JSON report under the environment's policy; ScanGateError when it fails."""
    summary = gate_report(
        report, environment.scan, root=loaded.root, allow_missing_vuln_db=allow_missing_vuln_db
    )
    run = ScanRun(scan=summary)
    if not summary.passed:
        raise ScanGateError(gate_message(summary), result=run)
    return run


def scan_local_image(
    loaded: LoadedConfig,
    environment: Environment,
    image: str,
    engine_factory: Callable[[], Engine],
    scanner_factory: Callable[[], Scanner],
    allow_missing_vuln_db: bool,
    reporter: Reporter,
    os_suite: SecuritySuite | None = None,
) -> ScanRun:
    """Scan an image in the local engine into OUTPUT_DIR/scan/<image>/ and judge it."""
    accepted = load_accepted(environment.scan, loaded.root)
    engine = engine_factory()
    scanner = scanner_factory()
    try:
        engine.image(image)
    except NotAvailableError as exc:
        raise NotAvailableError(exc.message, hint="build it (cocusctl build) or docker pull it first") from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", image).strip("_")[:120]
    out = loaded.resolve_path(loaded.config.output_dir) / "scan" / safe
    run = scan_image(
        scanner, image, out, environment.scan, accepted=accepted,
        allow_missing_vuln_db=allow_missing_vuln_db, reporter=reporter, os_suite=os_suite,
    )
    if not run.scan.passed:
        raise ScanGateError(gate_message(run.scan), hint=f"reports in {out}", result=run)
    return run
