"""How the core tells the user what it is doing, without knowing about terminals.

The CLI passes a Rich-backed implementation; tests and library callers use `NullReporter` or
`RecordingReporter`.
"""

from __future__ import annotations

from typing import Protocol


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
