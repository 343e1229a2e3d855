"""`cocusctl build`: build the service image, check its size, scan it, gate it, push it by digest.

The core never imports typer, rich or an SDK: the engine, Trivy and the registry come in as adapters
(small protocols below), progress goes out through a `Reporter`. Each failure raises the error of its
phase (BuildError, SizeBudgetError, ScanGateError, PushError) carrying the partial `BuildResult`, so the
CLI can show what was done (image id, size, findings table) even when the command fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from cocusctl.core.config import Environment, LoadedConfig, ScanPolicy
from cocusctl.core.errors import CocusError, PushError, ScanGateError, SizeBudgetError, UsageError
from cocusctl.core.image_scan import ImageFacts, ReportPaths, Scanner, scan_image
from cocusctl.core.images import RegistryApi
from cocusctl.core.os_updates import SecuritySuite
from cocusctl.core.reporting import Reporter, tool_log
from cocusctl.core.scan import ScanSummary, gate_message, load_accepted
from cocusctl.core.tagging import image_tags, oci_build_args, source_info

MB = 1_000_000  # decimal megabytes, as `docker images` shows them
# Build argument carrying today's date (UTC): a Dockerfile that upgrades its OS packages under it reruns that
# layer once a day and reuses it within the day (see docs/decisions.md, "Security updates in images").
SECURITY_UPDATES_ARG = "SECURITY_UPDATES_DAY"
LAST_BUILD_FILE = "last-build.json"  # the last *pushed* build; deploy reads image, pushed_ref, digest


# --- the adapters the build needs ----------------------------------------------------------------------


class Engine(Protocol):
    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        buildargs: Mapping[str, str],
        on_line: Callable[[str], None] | None = None,
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


# --- request and result --------------------------------------------------------------------------------


@dataclass
class BuildRequest:
    extra_tags: list[str] = field(default_factory=list)
    push: bool = True
    allow_missing_vuln_db: bool = False
    no_cache: bool = False


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


# --- the build ---------------------------------------------------------------------------------------


@dataclass
class ImageBuild:
    """One build run. Construct with the loaded config, the environment and the adapters; call `run()`."""

    loaded: LoadedConfig
    environment: Environment
    engine_factory: Callable[[], Engine]
    scanner_factory: Callable[[], Scanner]
    registry_factory: Callable[[], RegistryApi]
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

    def _push(self, engine: Engine, registry: RegistryApi, result: BuildResult) -> None:
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
