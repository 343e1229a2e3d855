"""`cocusctl ci render`: CI/CD workflows for the repository, from templates and cocus.yaml."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import OutputOption, output_value
from cocusctl.cli.views.ci import ci_render_view

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


class ProviderChoice(str, Enum):
    github = "github"


@app.callback()
def ci_group() -> None:
    """CI/CD workflows that call cocusctl (tests, scan gate, build once, plan, deploy, promote)."""


@app.command("render")
def render_command(
    ctx: typer.Context,
    provider: Annotated[ProviderChoice, typer.Option("--provider", help="CI system (github: GitHub Actions).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Repository folder to write .github/workflows/ under (default: cocus.yaml's folder)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 12 when a fresh render differs from the files on disk."),
    ] = False,
    output: OutputOption = None,
) -> None:
    """Render the CI workflow (lint, types, tests, image scan) and the release workflow (build once, push by
    digest, plan, deploy, promote) from the `ci:` block of cocus.yaml.

    Exit codes: 0 written (or, with --check, up to date); 12 with --check when a file is missing or differs.
    """
    app_ctx = get_context(ctx, output=output_value(output))

    def action() -> object:
        from cocusctl.core.errors import ChangesPending
        from cocusctl.core.workflows import write_workflows

        result = write_workflows(app_ctx.loaded, provider.value, out_dir=out, check=check)
        if check and result.changed:
            raise ChangesPending(
                f"{len(result.changed)} workflow file(s) out of date: "
                + ", ".join(Path(f.path).name for f in result.changed),
                hint="run `cocusctl ci render --provider github` and commit the result",
                result=result,
            )
        return result

    app_ctx.run("ci render", action, ci_render_view)
