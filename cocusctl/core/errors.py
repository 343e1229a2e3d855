"""One exception tree, mapped to exit codes in one place.

Every expected failure is a `CocusError`; the CLI prints its one-line message (plus the hint) and exits
with its `exit_code`. Anything else is a bug and exits with `ExitCode.INTERNAL`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in `cocusctl --help` and the README."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_AVAILABLE = 3
    TOOL_FAILED = 4
    CLOUD_API = 5
    BUILD_FAILED = 6
    SCAN_GATE = 7
    SIZE_BUDGET = 8
    PUSH_FAILED = 9
    TIMEOUT = 10
    DEPLOY_FAILED = 11
    CHANGES_PENDING = 12
    INTERRUPTED = 130


EXIT_CODE_HELP = {
    ExitCode.OK: "success (plan: no changes)",
    ExitCode.INTERNAL: "unexpected internal error (a bug: rerun with -v)",
    ExitCode.USAGE: "bad input or configuration; nothing was changed",
    ExitCode.NOT_AVAILABLE: "a required program or service is missing, or the command is not available yet",
    ExitCode.TOOL_FAILED: "an external program (docker, trivy, terraform, helm) failed",
    ExitCode.CLOUD_API: "a cloud or registry API call failed",
    ExitCode.BUILD_FAILED: "the image build failed",
    ExitCode.SCAN_GATE: "the scan gate failed (policy violation)",
    ExitCode.SIZE_BUDGET: "the image exceeds its size budget",
    ExitCode.PUSH_FAILED: "pushing the image failed",
    ExitCode.TIMEOUT: "an operation timed out",
    ExitCode.DEPLOY_FAILED: "deploy or traffic change failed; previous traffic was restored",
    ExitCode.CHANGES_PENDING: "plan: there are changes to apply",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); previous state restored where cocusctl had changed it",
}


class CocusError(Exception):
    """An expected failure: one clear line for the user, an exit code, an optional hint."""

    exit_code: ExitCode = ExitCode.INTERNAL
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: str | None = None,
        result: object | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details
        # A typed result to render even though the command failed (e.g. the scan table of a failed gate).
        self.result = result


class UsageError(CocusError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(UsageError):
    """The configuration is invalid; the message names the file and the field path."""

    code = "config"


class NotAvailableError(CocusError):
    exit_code = ExitCode.NOT_AVAILABLE
    code = "not_available"


class ToolError(CocusError):
    """An external program exited non-zero."""

    exit_code = ExitCode.TOOL_FAILED
    code = "tool_failed"

    def __init__(
        self,
        tool: str,
        argv: list[str],
        returncode: int,
        stderr_tail: str = "",
        *,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        tail = stderr_tail.strip().splitlines()
        last = tail[-1] if tail else ""
        super().__init__(
            message or f"{tool} failed (exit {returncode})" + (f": {last}" if last else ""),
            hint=hint,
            details=stderr_tail,
        )
        self.tool = tool
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class CloudApiError(CocusError):
    exit_code = ExitCode.CLOUD_API
    code = "cloud_api"


class BuildError(CocusError):
    exit_code = ExitCode.BUILD_FAILED
    code = "build_failed"


class ScanGateError(CocusError):
    exit_code = ExitCode.SCAN_GATE
    code = "scan_gate"


class SizeBudgetError(CocusError):
    exit_code = ExitCode.SIZE_BUDGET
    code = "size_budget"


class PushError(CocusError):
    exit_code = ExitCode.PUSH_FAILED
    code = "push_failed"


class OperationTimeout(CocusError):
    exit_code = ExitCode.TIMEOUT
    code = "timeout"


class DeployError(CocusError):
    exit_code = ExitCode.DEPLOY_FAILED
    code = "deploy_failed"


class ChangesPending(CocusError):
    """Not a failure: `plan` uses it to exit with CHANGES_PENDING after printing its result."""

    exit_code = ExitCode.CHANGES_PENDING
    code = "changes_pending"


class Interrupted(CocusError):
    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"
