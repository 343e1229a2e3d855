"""`cocusctl scan`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.scan import scan_run_view


def scan_command(
    ctx: typer.Context,
    image: Annotated[str | None, typer.Argument(help="Local image to scan (e.g. REGISTRY/IMAGE:TAG).")] = None,
    from_report: Annotated[
        Path | None,
        typer.Option("--from-report", help="Judge a saved Trivy JSON report instead of scanning.", dir_okay=False),
    ] = None,
    env: EnvOption = None,
    allow_missing_vuln_db: Annotated[
        bool,
        typer.Option(
            "--allow-missing-vuln-db",
            help="Pass without vulnerability data (output says vulnerabilities were NOT checked).",
        ),
    ] = False,
    output: OutputOption = None,
) -> None:
    """Apply the scan gate to an image or a saved Trivy JSON report.

    Exit 0 when the gate passes, the scan-gate exit code (7) when it fails. The policy is the chosen
    environment's `scan` section of cocus.yaml.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import UsageError

        if (image is None) == (from_report is None):
            raise UsageError("give exactly one of IMAGE or --from-report TRIVY_JSON")
        from cocusctl.core.image_scan import gate_saved_report, scan_local_image

        environment = app_ctx.environment()
        if from_report is not None:
            return gate_saved_report(app_ctx.loaded, environment, from_report, allow_missing_vuln_db)
        assert image is not None
        return scan_local_image(
            app_ctx.loaded, environment, image, app_ctx.adapters.docker, app_ctx.adapters.trivy,
            allow_missing_vuln_db, app_ctx.reporter, os_suite=app_ctx.adapters.security_suite(environment.scan),
        )

    app_ctx.run("scan", action, scan_run_view)
