"""How the core tells the user what it is doing, without knowing about terminals.

The CLI passes a Rich-backed implementation; tests and library callers use `NullReporter` or
`RecordingReporter`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

TAIL_LINES = 15


class Reporter(Protocol):
    def step(self, message: str) -> None:
        """A new phase starts (e.g. 'Building image')."""

    def info(self, message: str) -> None:
        """A fact worth telling (a digest, a path)."""

    def warn(self, message: str) -> None:
        """Something the user must know but that does not fail the command."""

    def detail(self, line: str) -> None:
        """One line of streamed tool output (build log); shown live, not kept."""

    def success(self, message: str) -> None:
        """A phase finished well."""

    def output_failed(self, log_path: Path, tail: list[str]) -> None:
        """A tool whose output was streamed failed: show the end of its output and where the rest is."""


@contextmanager
def tool_log(reporter: Reporter, log_path: Path) -> Iterator[Callable[[str], None]]:
    """A line sink for one tool run: every line goes to `log_path` (kept, for reading later) and to the
    reporter (shown live, compactly); when the block fails, the reporter shows the tail and the path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with log_path.open("w", encoding="utf-8") as log:

        def sink(line: str) -> None:
            log.write(line + "\n")
            tail.append(line)
            reporter.detail(line)

        try:
            yield sink
        except Exception:
            log.flush()
            reporter.output_failed(log_path, list(tail))
            raise


class NullReporter:
    def step(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def detail(self, line: str) -> None:
        pass

    def success(self, message: str) -> None:
        pass

    def output_failed(self, log_path: Path, tail: list[str]) -> None:
        pass


class RecordingReporter:
    """Keeps every message as (kind, text); for tests and for embedding cocusctl."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def step(self, message: str) -> None:
        self.events.append(("step", message))

    def info(self, message: str) -> None:
        self.events.append(("info", message))

    def warn(self, message: str) -> None:
        self.events.append(("warn", message))

    def detail(self, line: str) -> None:
        self.events.append(("detail", line))

    def success(self, message: str) -> None:
        self.events.append(("success", message))

    def output_failed(self, log_path: Path, tail: list[str]) -> None:
        self.events.append(("output_failed", f"{log_path}: {len(tail)} lines"))
