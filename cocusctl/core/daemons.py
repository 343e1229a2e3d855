"""Background processes cocusctl starts and stops again: found by PID, recognised by their command line.

A PID file can outlive its process and the PID be reused; a process is only ever treated as ours when its
command line contains a marker unique to the home directory it was started for.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def owned(pid: int, *markers: str) -> bool:
    """Does process `pid` run with every marker in its command line?"""
    cmd = cmdline(pid)
    return bool(cmd) and all(m in cmd for m in markers)


def terminate(pids: list[int], *markers: str, timeout: float = 30.0) -> list[int]:
    """SIGTERM each PID that is ours, wait for them to go (SIGKILL after `timeout`); returns the ones stopped."""
    ours = [pid for pid in pids if owned(pid, *markers)]
    for pid in ours:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in ours:
        while owned(pid, *markers) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our child (tests start and stop in-process)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if owned(pid, *markers):
            os.kill(pid, signal.SIGKILL)
    return ours
