"""`cocusctl build`."""

from __future__ import annotations

from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.build import build_view


def build_command(
    ctx: typer.Context,
    env: EnvOption = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", metavar="TAG", help="Extra tag (repeatable); the commit tag is always set."),
    ] = None,
    no_push: Annotated[bool, typer.Option("--no-push", help="Build, check and scan, but do not push.")] = False,
    allow_missing_vuln_db: Annotated[
        bool,
        typer.Option(
            "--allow-missing-vuln-db",
            help="Go on when Trivy's vulnerability DB is unavailable; output says vulnerabilities were NOT checked.",
        ),
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer (a cold build).")] = False,
    output: OutputOption = None,
) -> None:
    """Build the service image, scan it with Trivy, and push it by digest.

    Tags: the short commit SHA (with -dirty for a modified tree) plus every --tag. Reports (Trivy JSON,
    SARIF, CycloneDX SBOM) go to OUTPUT_DIR/build/TAG/; the result is kept in OUTPUT_DIR/last-build.json.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.build import BuildRequest, ImageBuild

        environment = app_ctx.environment()
        adapters = app_ctx.adapters
        return ImageBuild(
            loaded=app_ctx.loaded,
            environment=environment,
            engine_factory=adapters.docker,
            scanner_factory=adapters.trivy,
            registry_factory=lambda: adapters.registry(environment.registry),
            security_suite_factory=adapters.security_suite,
            reporter=app_ctx.reporter,
            request=BuildRequest(extra_tags=list(tag or []), push=not no_push,
                                 allow_missing_vuln_db=allow_missing_vuln_db, no_cache=no_cache),
        ).run()

    app_ctx.run("build", action, build_view)
