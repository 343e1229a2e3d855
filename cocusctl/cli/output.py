"""All printing happens here: the Rich reporter (stderr), the result renderer (stdout), the JSON envelope.

Data goes to stdout; status, progress, warnings and errors go to stderr. Colour honours NO_COLOR,
`--no-color` and non-TTY streams; spinners are shown only on a TTY outside CI.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cocusctl.core.ci import in_ci
from cocusctl.core.errors import CocusError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

    from cocusctl.core.results import Envelope

View = Callable[["Console", Any], None]


def make_console(*, stderr: bool, no_color: bool) -> Console:
    from rich.console import Console

    no_color = no_color or "NO_COLOR" in os.environ
    # stderr does not hard-wrap: an error stays one line and a digest stays copyable in narrow CI logs.
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=stderr)


def interactive(console: Console) -> bool:
    return console.is_terminal and not in_ci()


LIVE_LINES = 5


class _LiveTail:
    """What the live view shows while a tool runs: the step, its elapsed time, its last few output lines."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.started = time.monotonic()
        self.lines: deque[str] = deque(maxlen=LIVE_LINES)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.spinner import Spinner
        from rich.text import Text

        elapsed = time.monotonic() - self.started
        yield Spinner("dots", Text(f"{self.title}  {elapsed:.0f}s", style="bold"))
        for line in self.lines:
            yield Text(f"  {line}", style="dim", no_wrap=True, overflow="ellipsis")


class RichReporter:
    """The core's Reporter, printing to stderr.

    Streamed tool output (docker build, trivy, terraform) is shown like BuildKit shows it: on a terminal, a
    live view of the current step, its elapsed time and its last few lines, cleared when the step ends; with
    no terminal (CI, pipes) nothing per line. Either way the whole output is in a log file, whose tail is
    printed when the tool fails. `-v` prints every line as it comes.
    """

    def __init__(self, console: Console, *, verbose: int = 0) -> None:
        self.console = console
        self.verbose = verbose
        self._title = ""
        self._live: Live | None = None
        self._tail: _LiveTail | None = None

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._tail = None

    def step(self, message: str) -> None:
        self._stop_live()
        self._title = message
        self.console.print(f"[bold cyan]→[/] {message}")

    def info(self, message: str) -> None:
        self._stop_live()
        self.console.print(f"  {message}")

    def warn(self, message: str) -> None:
        self._stop_live()
        self.console.print(f"[bold yellow]warning:[/] {message}")

    def success(self, message: str) -> None:
        self._stop_live()
        self.console.print(f"[bold green]✓[/] {message}")

    def detail(self, line: str) -> None:
        from rich.markup import escape

        if not line.strip():
            return
        if self.verbose:
            # Tool output is text, not Rich markup: `[id=...]` or `[/x]` must print as they are.
            self.console.print(f"  [dim]{escape(line.rstrip())}[/]", markup=True, highlight=False)
        elif interactive(self.console):
            if self._live is None:
                from rich.live import Live

                self._tail = _LiveTail(self._title)
                self._live = Live(self._tail, console=self.console, refresh_per_second=8, transient=True)
                self._live.start()
            assert self._tail is not None
            self._tail.lines.append(line.strip())

    def output_failed(self, log_path: Path, tail: list[str]) -> None:
        from rich.markup import escape

        self._stop_live()
        if self.verbose:
            return  # every line was printed already
        for line in tail:
            self.console.print(f"  [dim]│ {escape(line.rstrip())}[/]", highlight=False)
        self.console.print(f"  [dim]full log: {escape(str(log_path))}[/]", highlight=False)

    def close(self) -> None:
        self._stop_live()


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
