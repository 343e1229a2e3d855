"""The one subprocess runner, exercised with real child processes."""

from __future__ import annotations

import sys

import pytest

from cocusctl.core.errors import NotAvailableError, OperationTimeout, ToolError
from cocusctl.core.runner import require_program, run


def test_captures_output_and_passes_env_overrides() -> None:
    result = run([sys.executable, "-c", "import os; print(os.environ['COCUS_X'])"], env={"COCUS_X": "42"})
    assert (result.returncode, result.stdout) == (0, "42\n")


def test_streams_lines_in_order() -> None:
    lines: list[str] = []
    run([sys.executable, "-c", "import sys\nfor i in range(3): print(i, flush=True)\nprint('e', file=sys.stderr)"],
        on_line=lines.append)
    assert lines[:3] == ["0", "1", "2"] and "e" in lines


def test_non_zero_exit_raises_tool_error_with_stderr_tail() -> None:
    with pytest.raises(ToolError) as info:
        run([sys.executable, "-c", "import sys; print('first'); sys.exit('boom happened')"], tool="demo")
    error = info.value
    assert error.returncode == 1 and error.tool == "demo"
    assert str(error) == "demo failed (exit 1): boom happened"


def test_unchecked_run_returns_the_code() -> None:
    assert run([sys.executable, "-c", "raise SystemExit(3)"], check=False).returncode == 3


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_kills_and_raises(stream: bool) -> None:
    with pytest.raises(OperationTimeout, match="did not finish within 0.5 s"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5,
            on_line=(lambda line: None) if stream else None)


def test_missing_program() -> None:
    with pytest.raises(NotAvailableError, match="'no-such-tool-x' was not found"):
        run(["no-such-tool-x"])
    with pytest.raises(NotAvailableError, match="on PATH"):
        require_program("no-such-tool-x", hint="install it")
