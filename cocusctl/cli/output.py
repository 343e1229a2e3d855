"""All printing happens here: the Rich reporter (stderr), the result renderer (stdout), the JSON envelope.

Data goes to stdout; status, progress, warnings and errors go to stderr. Colour honours NO_COLOR,
`--no-color` and non-TTY streams; spinners are shown only on a TTY outside CI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cocusctl.core.ci import in_ci
from cocusctl.core.errors import CocusError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from cocusctl.core.results import Envelope

View = Callable[["Console", Any], None]


def make_console(*, stderr: bool, no_color: bool) -> Console:
    from rich.console import Console

    no_color = no_color or "NO_COLOR" in os.environ
    # stderr does not hard-wrap: an error stays one line and a digest stays copyable in narrow CI logs.
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=stderr)


def interactive(console: Console) -> bool:
    return console.is_terminal and not in_ci()


class RichReporter:
    """The core's Reporter, printing to stderr. Streamed tool lines: a spinner on a TTY, plain lines else."""

    def __init__(self, console: Console, *, verbose: int = 0) -> None:
        self.console = console
        self.verbose = verbose
        self._status: Status | None = None

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def step(self, message: str) -> None:
        self._stop_status()
        self.console.print(f"[bold cyan]→[/] {message}")

    def info(self, message: str) -> None:
        self._stop_status()
        self.console.print(f"  {message}")

    def warn(self, message: str) -> None:
        self._stop_status()
        self.console.print(f"[bold yellow]warning:[/] {message}")

    def success(self, message: str) -> None:
        self._stop_status()
        self.console.print(f"[bold green]✓[/] {message}")

    def detail(self, line: str) -> None:
        from rich.markup import escape

        if not line.strip():
            return
        if interactive(self.console) and not self.verbose:
            # Tool output is text, not Rich markup: `[id=...]` or `[/x]` must print as they are.
            text = escape(line.strip()[: max(20, self.console.width - 6)])
            if self._status is None:
                self._status = self.console.status(text, spinner="dots")
                self._status.start()
            else:
                self._status.update(text)
        else:
            self.console.print(f"  [dim]{escape(line.rstrip())}[/]", markup=True, highlight=False)

    def close(self) -> None:
        self._stop_status()


class Renderer:
    """Prints a command's result: a view for humans, or the versioned envelope for `--output json`."""

    def __init__(self, *, output: str, stdout: Console, stderr: Console, verbose: int = 0) -> None:
        self.output = output
        self.stdout = stdout
        self.stderr = stderr
        self.verbose = verbose

    def success(self, command: str, result: object | None, view: View | None) -> None:
        from cocusctl.core.results import Envelope, to_data

        if self.output == "json":
            self._json(Envelope(command=command, status="ok", exit_code=0, data=to_data(result)))
        elif result is not None and view is not None:
            view(self.stdout, result)

    def failure(self, command: str, error: CocusError, view: View | None) -> None:
        from cocusctl.core.results import Envelope, ErrorItem, to_data

        if self.output == "json":
            self._json(
                Envelope(
                    command=command,
                    status="error",
                    exit_code=int(error.exit_code),
                    data=to_data(error.result),
                    errors=[ErrorItem(code=error.code, message=error.message, hint=error.hint)],
                )
            )
        elif error.result is not None and view is not None:
            view(self.stdout, error.result)
        self.error_line(error.message, hint=error.hint, details=error.details)

    def internal(self, command: str, exc: BaseException) -> None:
        from cocusctl.core.results import Envelope, ErrorItem

        message = f"internal error: {type(exc).__name__}: {exc}"
        if self.output == "json":
            self._json(
                Envelope(
                    command=command,
                    status="error",
                    exit_code=int(ExitCode.INTERNAL),
                    errors=[ErrorItem(code="internal", message=message)],
                )
            )
        self.error_line(message, hint="this is a bug; rerun with -v for the traceback")

    def error_line(self, message: str, *, hint: str | None = None, details: str | None = None) -> None:
        from rich.markup import escape

        self.stderr.print(f"[bold red]error:[/] {escape(message)}")
        if hint:
            self.stderr.print(f"[dim]hint:[/] {escape(hint)}")
        if details and self.verbose:
            self.stderr.print(escape(details), style="dim")

    def _json(self, envelope: Envelope) -> None:
        sys.stdout.write(json.dumps(envelope.model_dump(mode="json"), indent=2) + "\n")
        sys.stdout.flush()
