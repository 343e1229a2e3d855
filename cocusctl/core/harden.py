"""`cocusctl harden`: run the on-prem playbook (ansible/site.yml) against an inventory, summarise per host.

The playbook hardens every host and runs the service on the `cocus_service` group. Outcome per host comes
from ansible-playbook's recap. Exit codes: 0 all hosts ok; 12 `--check` found changes to make; 4 a host
failed or was unreachable; 2 bad inventory or limit (nothing run, or no host matched); 3 no ansible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel

from cocusctl.core.assets import asset
from cocusctl.core.errors import ChangesPending, ToolError, UsageError
from cocusctl.core.reporting import Reporter, tool_log

HostStatus = Literal["ok", "changed", "failed", "unreachable"]


class HostStats(BaseModel):
    """One line of ansible-playbook's PLAY RECAP."""

    ok: int = 0
    changed: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass
class PlaybookRun:
    """What one ansible-playbook run produced."""

    argv: list[str]
    returncode: int
    hosts: dict[str, HostStats]
    messages: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    output_tail: str = ""


class PlaybookRunner(Protocol):
    def version(self) -> str: ...

    def run(
        self,
        playbook: Path,
        *,
        inventory: Path,
        check: bool = False,
        limit: str | None = None,
        extra_args: Sequence[str] = (),
        on_line: Callable[[str], None] | None = None,
    ) -> PlaybookRun: ...


class HostSummary(HostStats):
    host: str
    status: HostStatus
    message: str | None = None


class HardenResult(BaseModel):
    inventory: str
    playbook: str
    check: bool
    limit: str | None
    ansible_version: str
    hosts: list[HostSummary]

    @property
    def changed(self) -> list[HostSummary]:
        return [h for h in self.hosts if h.changed]

    @property
    def broken(self) -> list[HostSummary]:
        return [h for h in self.hosts if h.status in ("failed", "unreachable")]


def host_status(stats: HostStats) -> HostStatus:
    if stats.unreachable:
        return "unreachable"
    if stats.failed:
        return "failed"
    return "changed" if stats.changed else "ok"


def _with_result(error: ToolError, result: HardenResult) -> ToolError:
    """Attach the per-host table, so that a failed run still prints (and emits as JSON) its summary."""
    error.result = result
    return error


def harden(
    inventory: Path,
    ansible: PlaybookRunner,
    reporter: Reporter,
    *,
    log_dir: Path,
    settings_schema: Path | None = None,
    check: bool = False,
    limit: str | None = None,
) -> HardenResult:
    """Run the playbook; raise with the per-host result attached when a host failed or (check) would change.

    `settings_schema` is the service's settings contract the cocus_service role checks its settings against
    (the one `config check` uses). ansible-playbook's whole output goes to LOG_DIR/ansible.log (its tail is
    shown when the run fails).
    """
    if not inventory.exists():
        raise UsageError(f"inventory {inventory} does not exist")
    if limit is not None and not limit.strip():
        raise UsageError("--limit is empty", hint="name hosts or groups, e.g. --limit web-01,db")
    playbook = asset("ansible") / "site.yml"
    extra_vars = {"cocus_service_settings_schema": str(settings_schema)} if settings_schema else {}
    version = ansible.version()
    mode = " in check mode (nothing is changed)" if check else ""
    reporter.step(f"ansible-core {version}: {playbook.name} on {inventory}{mode}")
    log_path = log_dir / "ansible.log"
    with tool_log(reporter, log_path) as sink:

        def on_line(line: str) -> None:
            sink(line)
            if line.startswith("PLAY ["):
                reporter.info(line.rstrip(" *"))

        run = ansible.run(playbook, inventory=inventory.resolve(), check=check, limit=limit, on_line=on_line,
                          extra_args=["--extra-vars", json.dumps(extra_vars)] if extra_vars else [])
        result = summarize(run, inventory=inventory, playbook=playbook, check=check, limit=limit, version=version)
    reporter.info(f"ansible output: {log_path}")
    if check and result.changed:
        raise ChangesPending(
            f"{len(result.changed)} of {len(result.hosts)} host(s) would change",
            hint="`cocusctl harden` without --check applies the changes",
            result=result,
        )
    reporter.success(f"{len(result.hosts)} host(s) hardened" if not check else "no changes needed")
    return result


def summarize(
    run: PlaybookRun, *, inventory: Path, playbook: Path, check: bool, limit: str | None, version: str
) -> HardenResult:
    """The per-host result of a run; raises when nothing ran, a host failed, or ansible-playbook failed."""
    if not run.hosts:
        # No host ran a task: ansible-playbook refused the inventory or the limit (its first error says why).
        where = f"inventory {inventory}" + (f" with --limit {limit}" if limit else "")
        reason = run.errors[0] if run.errors else "no host matched"
        raise UsageError(f"nothing run on {where}: {reason}",
                         hint="check the inventory file and the --limit pattern (-v shows ansible's output)")
    result = HardenResult(
        inventory=str(inventory),
        playbook=str(playbook),
        check=check,
        limit=limit,
        ansible_version=version,
        hosts=[
            HostSummary(host=host, status=host_status(stats), message=run.messages.get(host), **stats.model_dump())
            for host, stats in sorted(run.hosts.items())
        ],
    )
    if result.broken:
        names = ", ".join(f"{h.host} ({h.status})" for h in result.broken)
        raise _with_result(ToolError(
            "ansible-playbook", run.argv, run.returncode, run.output_tail,
            message=f"{len(result.broken)} of {len(result.hosts)} host(s) not hardened: {names}",
            hint="the table shows each host's first error; rerun with -v for the full output",
        ), result)
    if run.returncode != 0:
        raise _with_result(ToolError("ansible-playbook", run.argv, run.returncode, run.output_tail), result)
    return result
