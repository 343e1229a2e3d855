"""`cocusctl render`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, InitialImageOption, OutputOption, output_value
from cocusctl.cli.views.infra import render_view


def render_command(
    ctx: typer.Context,
    env: EnvOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the rendered files (default OUTPUT_DIR/render/ENV).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 12 when a fresh render differs from the files on disk."),
    ] = False,
    image: InitialImageOption = None,
    output: OutputOption = None,
) -> None:
    """Render the environment's Terraform inputs (terraform.tfvars, backend.hcl) and, for GKE, its Helm values
    (helm-values.yaml) from templates.

    Exit codes: 0 written (or, with --check, up to date); 12 with --check when a file is missing or differs.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import ChangesPending
        from cocusctl.core.render import render_environment

        result = render_environment(app_ctx.loaded, app_ctx.environment(), out_dir=out, image=image, check=check)
        stale = result.changed
        if check and stale:
            raise ChangesPending(
                f"{len(stale)} rendered file(s) out of date for {result.environment}: "
                + ", ".join(Path(f.path).name for f in stale),
                hint="run `cocusctl render` and commit or apply the result",
                result=result,
            )
        return result

    app_ctx.run("render", action, render_view)
