"""Ansible adapter: ansible-playbook through the one subprocess runner (see docs/decisions.md, "On-prem hardening").

The playbook's own output (the default callback, no colour) streams line by line to `on_line` for progress;
the per-host outcome is read from its PLAY RECAP, and each host's first failure from its `fatal:` line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cocusctl.core import runner
from cocusctl.core.harden import HostStats, PlaybookRun

DEFAULT_TIMEOUT_S = 3600.0

_VERSION = re.compile(r"core (\d+\.\d+\.\d+)")
_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?"
)
_FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: (?:FAILED|UNREACHABLE)! => (?P<body>.*)$")
_ERROR = re.compile(r"^\[?ERROR\]?:?!?\s*(?P<message>.+)$")


@dataclass
class _Output:
    """What is collected from ansible-playbook's output while it streams."""

    recap: dict[str, HostStats] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    in_recap: bool = False

    def feed(self, line: str) -> None:
        text = line.strip()
        if text.startswith("PLAY RECAP"):
            self.in_recap = True
            return
        if self.in_recap and (match := _RECAP.match(text)):
            counts = {k: int(v) for k, v in match.groupdict().items() if k != "host" and v is not None}
            self.recap[match["host"]] = HostStats(**counts)
            return
        if match := _FATAL.match(text):
            self.messages.setdefault(match["host"], _failure_message(match["body"]))
        elif match := _ERROR.match(text):
            self.errors.append(match["message"])


def _failure_message(body: str) -> str:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return body[:500]
    return str(data.get("msg") or data.get("stderr") or data)[:500] if isinstance(data, dict) else body[:500]


class AnsiblePlaybook:
    """Runs playbooks with ansible-playbook. Implements `cocusctl.core.harden.PlaybookRunner`."""

    def __init__(self, binary: str = "ansible-playbook", *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.binary = binary
        self.timeout_s = timeout_s

    def version(self) -> str:
        """ansible-core's version; checks that ansible-playbook is there before any work starts."""
        path = runner.require_program(self.binary, hint="pip install 'cocusctl[onprem]' (ansible-core)")
        out = runner.run([path, "--version"], tool="ansible-playbook", timeout=60).stdout
        match = _VERSION.search(out)
        return match.group(1) if match else out.strip().splitlines()[0]

    def run(
        self,
        playbook: Path,
        *,
        inventory: Path,
        check: bool = False,
        limit: str | None = None,
        extra_args: Sequence[str] = (),
        on_line: Callable[[str], None] | None = None,
    ) -> PlaybookRun:
        argv = [self.binary, "--inventory", str(inventory), str(playbook)]
        if check:
            argv.append("--check")
        if limit:
            argv += ["--limit", limit]
        argv += list(extra_args)
        env = {
            "ANSIBLE_CONFIG": str(playbook.parent / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            # An inventory that does not parse is an error, not a warning followed by a run on no host.
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
            "PYTHONUNBUFFERED": "1",
        }
        output = _Output()

        def sink(line: str) -> None:
            output.feed(line)
            if on_line is not None:
                on_line(line)

        result = runner.run(
            argv, tool="ansible-playbook", env=env, timeout=self.timeout_s, check=False, on_line=sink,
            cwd=playbook.parent,
        )
        return PlaybookRun(
            argv=argv,
            returncode=result.returncode,
            hosts=output.recap,
            messages=output.messages,
            errors=output.errors,
            output_tail="\n".join(result.stdout.splitlines()[-runner.STDERR_TAIL_LINES:]),
        )
