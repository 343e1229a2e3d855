"""How streamed tool output is shown: compact by default, whole with -v, the tail when a tool fails."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from cocusctl.cli.output import RichReporter
from cocusctl.core.errors import ToolError
from cocusctl.core.reporting import TAIL_LINES, tool_log


def reporter(*, terminal: bool, verbose: int = 0) -> tuple[RichReporter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, no_color=True, soft_wrap=True)
    return RichReporter(console, verbose=verbose), out


def stream(rep: RichReporter, log: Path, lines: int, *, fail: bool = False) -> None:
    rep.step("Building image")
    with tool_log(rep, log) as sink:
        for n in range(lines):
            sink(f"Step {n}/{lines} [id=x{n}]")
        if fail:
            raise ToolError("docker", ["docker", "build"], 1, "boom")
    rep.success("Built")


def test_without_a_terminal_lines_go_only_to_the_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rep, out = reporter(terminal=False)
    stream(rep, tmp_path / "build.log", 300)
    assert out.getvalue() == "→ Building image\n✓ Built\n"
    assert (tmp_path / "build.log").read_text().splitlines()[-1] == "Step 299/300 [id=x299]"


def test_verbose_prints_every_line_as_text(tmp_path: Path) -> None:
    rep, out = reporter(terminal=False, verbose=1)
    stream(rep, tmp_path / "build.log", 30)
    printed = out.getvalue().splitlines()
    assert printed[1:31] == [f"  Step {n}/30 [id=x{n}]" for n in range(30)]


def test_a_failure_prints_the_tail_and_where_the_log_is(tmp_path: Path) -> None:
    rep, out = reporter(terminal=False)
    with pytest.raises(ToolError):
        stream(rep, tmp_path / "build.log", 100, fail=True)
    printed = out.getvalue().splitlines()
    assert printed[0] == "→ Building image"
    assert printed[1:-1] == [f"  │ Step {n}/100 [id=x{n}]" for n in range(100 - TAIL_LINES, 100)]
    assert printed[-1] == f"  full log: {tmp_path / 'build.log'}"
    assert len((tmp_path / "build.log").read_text().splitlines()) == 100


def test_on_a_terminal_the_live_view_shows_the_step_and_its_last_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")  # under TERM=dumb Rich moves no cursor: no live view to erase
    rep, out = reporter(terminal=True)
    rep.step("Building image")
    with tool_log(rep, tmp_path / "build.log") as sink:
        for n in range(40):
            sink(f"line {n}")
        assert rep._live is not None
        rep._live.refresh()
        view = out.getvalue()
    # The view holds the step and only its last 5 lines; it is cleared when the step ends.
    assert "Building image" in view and "line 39" in view and "line 35" in view
    assert "line 34" not in view
    rep.success("Built")
    assert rep._live is None
    after = out.getvalue()[len(view):]
    assert re.search(r"\r(\x1b\[1A\x1b\[2K){6}\x1b\[1m✓", after), "the step line and its 5 lines are erased"
    assert re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", after).strip().endswith("✓ Built")
