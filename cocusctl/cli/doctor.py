"""`cocusctl doctor`."""

from __future__ import annotations

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.doctor import doctor_view


def doctor_command(ctx: typer.Context, env: EnvOption = None, output: OutputOption = None) -> None:
    """Check that everything the chosen environment needs is present.

    One table: config, Docker engine, Trivy, Terraform, registry, Google credentials, Ansible (on-prem
    only). Each failed row says how to fix it; exit 3 (not available) when something the environment
    requires is missing.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.doctor import default_probes, run_doctor
        from cocusctl.core.errors import NotAvailableError

        report = run_doctor(lambda: app_ctx.loaded, app_ctx.env_name, default_probes())
        if not report.ok:
            names = ", ".join(c.name for c in report.missing_required)
            raise NotAvailableError(
                f"{len(report.missing_required)} required check(s) failed: {names}", result=report
            )
        return report

    app_ctx.run("doctor", action, doctor_view)
