"""Start, stop and inspect a background emulator process (PID + info file in its home directory).

`stop` only signals the process recorded in the PID file, and only after checking that its command line
is this emulator serving this home's state directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from cocusctl.core import daemons, local_secrets
from cocusctl.core.errors import NotAvailableError, OperationTimeout, UsageError

DEFAULT_PORT = 9280
ENV_HOME = "COCUS_EMULATOR_HOME"


def default_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".cache" / "cocusctl" / "emulator").expanduser()


@dataclass(frozen=True)
class EmulatorInfo:
    pid: int
    endpoint: str
    port: int
    state_dir: str
    log_file: str
    secrets_file: str  # the local secret store it resolves Secret Manager references from


class EmulatorResult(BaseModel):
    """What `cocusctl emulator start|stop|status` report (human and JSON)."""

    running: bool
    started: bool = False
    stopped: bool = False
    endpoint: str | None = None
    port: int | None = None
    pid: int | None = None
    state_dir: str | None = None
    log_file: str | None = None
    secrets_file: str | None = None

    @classmethod
    def of(cls, info: EmulatorInfo, *, started: bool = False) -> EmulatorResult:
        return cls(running=True, started=started, endpoint=info.endpoint, port=info.port, pid=info.pid,
                   state_dir=info.state_dir, log_file=info.log_file, secrets_file=info.secrets_file)


def _paths(home: Path) -> tuple[Path, Path, Path, Path]:
    return home / "emulator.pid", home / "emulator.json", home / "state", home / "emulator.log"


def _is_ours(pid: int, state_dir: Path) -> bool:
    return daemons.owned(pid, "cocusctl.emulator", str(state_dir))


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/emulator/v1/healthz", timeout=2) as resp:  # noqa: S310
            return resp.status == 200
    except OSError:
        return False


def status(home: Path | None = None) -> EmulatorInfo | None:
    home = home or default_home()
    pid_file, info_file, state_dir, log_file = _paths(home)
    if not pid_file.exists() or not info_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return None
    if not _is_ours(pid, state_dir) or not _healthy(info["endpoint"]):
        return None
    return EmulatorInfo(pid, info["endpoint"], int(info["port"]), str(state_dir), str(log_file),
                        str(info.get("secrets_file", "")))


def start(
    port: int = DEFAULT_PORT, home: Path | None = None, timeout: float = 60.0
) -> tuple[EmulatorInfo, bool]:
    """Start the emulator in the background; returns (info, started). Idempotent when already running."""
    home = home or default_home()
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    running = status(home)
    if running is not None:
        if port and running.port != port:
            raise UsageError(f"the emulator already runs on port {running.port} (pid {running.pid}); "
                             "stop it first to change the port")
        return running, False
    pid_file, info_file, state_dir, log_file = _paths(home)
    home.mkdir(parents=True, exist_ok=True)
    info_file.unlink(missing_ok=True)
    try:
        import docker  # noqa: F401  (checked before anything starts)
    except ImportError:
        raise NotAvailableError(
            "the emulator needs the docker SDK", hint="pip install 'cocusctl[cloudrun]'"
        ) from None
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "cocusctl.emulator", "--port", str(port), "--state-dir", str(state_dir),
             "--info-file", str(info_file), "--secrets-file", str(local_secrets.default_path().resolve())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
            last = tail[-1] if tail else "no output"
            raise NotAvailableError(f"the emulator exited during start: {last}", details="\n".join(tail))
        if info_file.exists():
            info = status(home)
            if info is not None:
                return info, True
        time.sleep(0.1)
    proc.terminate()
    raise OperationTimeout(f"the emulator did not serve within {timeout:.0f}s (log: {log_file})")


def stop(home: Path | None = None, timeout: float = 30.0) -> int | None:
    """Stop the emulator this home started; returns its pid, or None when none was running."""
    home = home or default_home()
    pid_file, info_file, state_dir, _ = _paths(home)
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return None
    if not _is_ours(pid, state_dir):
        pid_file.unlink(missing_ok=True)
        info_file.unlink(missing_ok=True)
        return None
    daemons.terminate([pid], "cocusctl.emulator", str(state_dir), timeout=timeout)
    pid_file.unlink(missing_ok=True)
    info_file.unlink(missing_ok=True)
    return pid
