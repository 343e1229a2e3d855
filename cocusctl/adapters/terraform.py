"""Terraform adapter: a thin layer over the terraform binary (see docs/decisions.md, "Terraform and templates").

Every call goes through the one subprocess runner with `-chdir=<root module>`, `-input=false`, `-no-color`,
and a per-environment data dir (`TF_DATA_DIR`), so the module folder stays clean and environments never
share `.terraform/`. Paths handed to terraform are absolute. Output lines stream to `on_line`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cocusctl.core import runner
from cocusctl.core.errors import OperationTimeout, ToolError
from cocusctl.core.infra import TERRAFORM_INSTALL_HINT, TERRAFORM_MIN_VERSION

LineSink = Callable[[str], None]
DEFAULT_TIMEOUT_S = 3600.0

_LOCK_ERROR = "Error acquiring the state lock"
_LOCK_FIELD = re.compile(r"^\W*(ID|Path|Operation|Who|Created):\s+(.*)$")


class StateLocked(OperationTimeout):
    """The state lock was held by someone else for longer than the lock timeout."""

    code = "state_locked"


class Terraform:
    """One root module, one data dir. Implements `cocusctl.core.infra.TerraformRunner`."""

    def __init__(
        self,
        workdir: Path,
        *,
        data_dir: Path | None = None,
        binary: str = "terraform",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.binary = binary
        self.timeout_s = timeout_s
        self._version: str | None = None

    # --- plumbing ------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        if self.data_dir is not None:
            env["TF_DATA_DIR"] = str(self.data_dir)
        return env

    def _argv(self, *args: str) -> list[str]:
        return [self.binary, f"-chdir={self.workdir}", *args]

    def _run(
        self, subcommand: str, args: Sequence[str], *, on_line: LineSink | None = None, ok: tuple[int, ...] = (0,)
    ) -> runner.RunResult:
        argv = self._argv(subcommand, *args)
        lines: list[str] = []

        def sink(line: str) -> None:
            lines.append(line)
            if on_line is not None:
                on_line(line)

        result = runner.run(
            argv,
            tool="terraform",
            env=self._env(),
            timeout=self.timeout_s,
            check=False,
            on_line=sink if on_line is not None else None,
        )
        if result.returncode not in ok:
            output = "\n".join(lines) if on_line is not None else (result.stderr + "\n" + result.stdout)
            raise self._error(subcommand, argv, result.returncode, output)
        return result

    @staticmethod
    def _error(subcommand: str, argv: list[str], returncode: int, output: str) -> Exception:
        lines = [line.strip(" │╷╵") for line in output.splitlines()]
        if any(_LOCK_ERROR in line for line in lines):
            fields = {m[1]: m[2].strip() for line in lines if (m := _LOCK_FIELD.match(line))}
            who = fields.get("Who", "another process")
            since = f" since {fields['Created']}" if "Created" in fields else ""
            return StateLocked(
                f"terraform {subcommand}: the state is locked by {who}{since} (lock ID {fields.get('ID', '?')})",
                hint="wait for the other run to finish, raise infra.lock_timeout_s, or "
                "`terraform force-unlock <ID>` if that run is gone",
                details=output[-4000:],
            )
        errors = [line for line in lines if line.startswith("Error:")]
        first = errors[0] if errors else (next((x for x in reversed(lines) if x), "") or "no output")
        tail = "\n".join(output.splitlines()[-runner.STDERR_TAIL_LINES * 2:])
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return ToolError(
            "terraform",
            argv,
            returncode,
            tail,
            message=f"terraform {subcommand} failed (exit {returncode}): {first}{more}",
            hint="rerun with -v to see terraform's full message",
        )

    # --- commands ------------------------------------------------------------------------------------
    def version(self) -> str:
        """The terraform version; checks presence and minimum version before any work starts."""
        if self._version is None:
            runner.require_program(self.binary, hint=TERRAFORM_INSTALL_HINT)
            data = json.loads(self._run("version", ["-json"]).stdout)
            version = str(data.get("terraform_version", "0"))
            parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
            if parts < TERRAFORM_MIN_VERSION:
                raise ToolError(
                    "terraform", [self.binary, "version"], 0,
                    message=f"terraform {version} is too old; cocusctl needs >= {'.'.join(map(str, TERRAFORM_MIN_VERSION))}",
                )
            self._version = version
        return self._version

    def init(self, *, backend_config: Path | None = None, on_line: LineSink | None = None) -> None:
        args = ["-input=false", "-no-color", "-reconfigure"]
        if backend_config is not None:
            args.append(f"-backend-config={Path(backend_config).resolve()}")
        self._run("init", args, on_line=on_line)

    def plan(
        self,
        *,
        out: Path,
        var_files: Sequence[Path] = (),
        lock_timeout_s: int = 300,
        on_line: LineSink | None = None,
    ) -> bool:
        """Write a saved plan to `out`; True when it has changes (`-detailed-exitcode` 2)."""
        args = ["-input=false", "-no-color", "-detailed-exitcode", f"-lock-timeout={lock_timeout_s}s"]
        args += [f"-var-file={Path(f).resolve()}" for f in var_files]
        args.append(f"-out={Path(out).resolve()}")
        result = self._run("plan", args, on_line=on_line, ok=(0, 2))
        return result.returncode == 2

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        result = self._run("show", ["-json", "-no-color", str(Path(plan_file).resolve())])
        return json.loads(result.stdout)

    def apply(self, plan_file: Path, *, lock_timeout_s: int = 300, on_line: LineSink | None = None) -> None:
        """Apply exactly the saved plan (terraform refuses a stale plan)."""
        args = ["-input=false", "-no-color", f"-lock-timeout={lock_timeout_s}s", str(Path(plan_file).resolve())]
        self._run("apply", args, on_line=on_line)

    def output_json(self) -> dict[str, Any]:
        """Root outputs as name -> value; sensitive values are replaced by '***'."""
        data = json.loads(self._run("output", ["-json", "-no-color"]).stdout or "{}")
        return {name: ("***" if item.get("sensitive") else item.get("value")) for name, item in data.items()}
