"""Options shared by several commands; each names its environment variable in --help."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class OutputFormat(str, Enum):
    human = "human"
    json = "json"


EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", envvar="COCUSCTL_ENV", help="Environment from cocus.yaml (default: default_environment)."),
]
OutputOption = Annotated[
    OutputFormat | None,
    typer.Option("--output", "-o", envvar="COCUSCTL_OUTPUT", help="human or json (versioned envelope on stdout)."),
]
# `render` and `plan`: only the image of a service Terraform creates (release-owned afterwards).
InitialImageOption = Annotated[
    str | None, typer.Option("--image", help="Image for a service Terraform creates (deploy owns it after).")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", envvar="COCUSCTL_YES", help="Answer yes to confirmations (for CI).")
]


def output_value(output: OutputFormat | None) -> str | None:
    return output.value if output is not None else None
