"""`cocusctl secrets set`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cocusctl.cli.context import get_context
from cocusctl.cli.options import EnvOption, OutputOption, output_value
from cocusctl.cli.views.infra import secret_view

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.callback()
def secrets_group() -> None:
    """Secret values: Secret Manager on GCP (Terraform creates the secrets empty), the local secret store for
    environments on this machine. Values never pass through Terraform, a config file or the command line."""


def _read_value(from_file: Path | None) -> bytes:
    from cocusctl.core.errors import UsageError

    if from_file is not None:
        try:
            return from_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {from_file}: {exc.strerror}") from exc
    if sys.stdin is not None and not sys.stdin.isatty():
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        data = typer.prompt("Secret value", hide_input=True, confirmation_prompt=True, err=True).encode()
    return data[:-1] if data.endswith(b"\n") else data


@app.command("set")
def set_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Secret id, as referenced in revision.secrets.")],
    env: EnvOption = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Read the value from this file (byte for byte).")
    ] = None,
    output: OutputOption = None,
) -> None:
    """Add a new version to a secret: the value is read from stdin (one trailing newline dropped), --from-file,
    or a hidden prompt; never from the command line. Prints the version number to pin in
    revision.secrets.ENV.version. Local environments write the local secret store (COCUS_SECRETS_FILE,
    mode 0600), which the emulator reads. Exit codes: 0 added; 2 bad input; 5 Secret Manager refused or
    unreachable.
    """
    app_ctx = get_context(ctx, env=env, output=output_value(output))

    def action() -> object:
        from cocusctl.core.secrets import set_secret

        environment = app_ctx.environment()
        value = _read_value(from_file)
        return set_secret(environment, name, value, app_ctx.reporter, app_ctx.adapters.secrets)

    app_ctx.run("secrets set", action, secret_view)
