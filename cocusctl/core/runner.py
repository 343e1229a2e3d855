"""The one subprocess runner: argv lists, no shell, argv logged at debug, errors as `ToolError`."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cocusctl.core.errors import NotAvailableError, OperationTimeout, ToolError

log = logging.getLogger("cocusctl.runner")

STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class RunResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(program: str) -> str | None:
    return shutil.which(program)


def require_program(program: str, *, hint: str) -> str:
    """Return the program's path, or raise NotAvailableError before any work starts."""
    path = which(program)
    if path is None:
        raise NotAvailableError(f"'{program}' was not found on PATH", hint=hint)
    return path


def run(
    argv: Sequence[str],
    *,
    tool: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    check: bool = True,
    on_line: Callable[[str], None] | None = None,
    stdin: str | None = None,
) -> RunResult:
    """Run a program; stream merged output lines to `on_line` when given, else capture both streams.

    `env` holds overrides on top of the current environment. With `check`, a non-zero exit raises
    `ToolError` carrying the tail of stderr.
    """
    args = [str(a) for a in argv]
    name = tool or Path(args[0]).name
    log.debug("run: %s", " ".join(args))
    full_env = {**os.environ, **env} if env else None
    try:
        if on_line is None:
            proc = subprocess.run(
                args,
                env=full_env,
                cwd=cwd,
                timeout=timeout,
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
            result = RunResult(args, proc.returncode, proc.stdout, proc.stderr)
        else:
            result = _run_streaming(args, full_env, cwd, timeout, on_line)
    except FileNotFoundError as exc:
        raise NotAvailableError(f"'{args[0]}' was not found", hint=f"install {name} and retry") from exc
    except subprocess.TimeoutExpired as exc:
        raise OperationTimeout(f"{name} did not finish within {timeout:g} s") from exc
    if check and result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).splitlines()[-STDERR_TAIL_LINES:])
        raise ToolError(name, args, result.returncode, tail)
    return result


def _run_streaming(
    args: list[str],
    env: Mapping[str, str] | None,
    cwd: str | Path | None,
    timeout: float | None,
    on_line: Callable[[str], None],
) -> RunResult:
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: deque[str] = deque(maxlen=2000)
    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill_on_timeout) if timeout else None
    if timer:
        timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            on_line(line)
        returncode = proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if timed_out.is_set():
        raise subprocess.TimeoutExpired(args, timeout or 0)
    output = "\n".join(lines)
    return RunResult(args, returncode, output, output)
