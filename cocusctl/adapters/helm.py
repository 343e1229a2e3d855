"""Helm, through pyhelm3 driving the real `helm` binary (helm 3.17+ or 4).

Values always travel on helm's stdin (`--values -`), never on its command line, so secret values never show
in a process list or a log. pyhelm3 is imported lazily; its failures become `ToolError` (exit 4) carrying
helm's own last error line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from cocusctl.core.errors import NotAvailableError, ToolError
from cocusctl.core.gke.model import HelmRevision

T = TypeVar("T")
MIN_VERSION = (3, 17)
INSTALL_HINT = "scripts/local-stack.sh up installs helm; or see https://helm.sh/docs/intro/install/"
log = logging.getLogger("cocusctl.helm")
# pyhelm3 logs every command at INFO and every failure at WARNING; failures reach the user as ToolError, so
# its records are shown only when logging is configured (-v), never through logging's last-resort handler.
logging.getLogger("pyhelm3").addHandler(logging.NullHandler())


class Helm:
    """The `HelmApi` of the GKE lifecycle for one kubeconfig context."""

    def __init__(self, *, kubeconfig: Path | None = None, context: str | None = None, executable: str = "helm",
                 timeout_s: float = 300.0) -> None:
        from pyhelm3 import Command

        self.executable = executable
        self.command = Command(executable=executable, kubeconfig=kubeconfig, kubecontext=context,
                               default_timeout=f"{int(timeout_s)}s", history_max_revisions=20)

    @classmethod
    def locate(cls, *, kubeconfig: Path | None = None, context: str | None = None, timeout_s: float = 300.0) -> Helm:
        """The helm on PATH, refused before any work when missing or older than 3.17."""
        import shutil

        path = shutil.which("helm")
        if path is None:
            raise NotAvailableError("'helm' was not found on PATH", hint=INSTALL_HINT)
        helm = cls(kubeconfig=kubeconfig, context=context, executable=path, timeout_s=timeout_s)
        version = helm.version()
        if _version_tuple(version) < MIN_VERSION:
            raise NotAvailableError(f"helm {version} is too old (need 3.17 or newer)", hint=INSTALL_HINT)
        return helm

    def _run(self, what: str, call: Coroutine[Any, Any, T]) -> T:
        from pyhelm3 import errors

        try:
            return asyncio.run(call)
        except errors.Error as exc:
            raise _error(what, exc) from exc

    def version(self) -> str:
        return self._run("version", self.command.version()).strip()

    def upgrade_install(self, release: str, chart: Path, values: Mapping[str, Any], *, namespace: str,
                        description: str, timeout_s: float) -> HelmRevision:
        """`helm upgrade --install` without --wait (cocusctl watches the rollout itself); the new revision."""
        data = self._run("upgrade", self.command.install_or_upgrade(
            release, chart, dict(values), namespace=namespace, create_namespace=True, description=description,
            timeout=f"{int(timeout_s)}s"))
        metadata = (data.get("chart") or {}).get("metadata") or {}
        return HelmRevision(revision=int(data["version"]), status=data["info"]["status"],
                            description=data["info"].get("description", ""), updated=data["info"].get("last_deployed", ""),
                            chart=f"{metadata.get('name', '')}-{metadata.get('version', '')}")

    def history(self, release: str, *, namespace: str) -> list[HelmRevision]:
        """Every stored revision, oldest first; [] when the release does not exist."""
        from pyhelm3 import errors

        try:
            rows = asyncio.run(self.command.history(release, namespace=namespace))
        except errors.ReleaseNotFoundError:
            return []
        except errors.Error as exc:
            raise _error("history", exc) from exc
        return [HelmRevision(revision=int(r["revision"]), status=r["status"], description=r.get("description", ""),
                             updated=r.get("updated", ""), chart=r.get("chart", "")) for r in rows]

    def values(self, release: str, *, namespace: str, revision: int | None = None) -> dict[str, Any]:
        """The values a revision was installed with (what cocusctl passed, not the chart's defaults)."""
        return self._run("get values", self.command.get_values(release, namespace=namespace, revision=revision))

    def rollback(self, release: str, revision: int, *, namespace: str, timeout_s: float) -> None:
        self._run("rollback", self.command.rollback(release, revision, namespace=namespace,
                                                    timeout=f"{int(timeout_s)}s"))

    def uninstall(self, release: str, *, namespace: str, timeout_s: float) -> None:
        self._run("uninstall", self.command.uninstall(release, namespace=namespace, timeout=f"{int(timeout_s)}s",
                                                      wait=True))

    def template(self, chart: Path, values: Mapping[str, Any], *, release: str, namespace: str,
                 kube_version: str | None = None) -> str:
        """Render the chart as `helm template` does (schema checked); the manifests as YAML text."""
        argv: list[Any] = ["template", release, chart, "--namespace", namespace, "--values", "-"]
        if kube_version:
            argv += ["--kube-version", kube_version]
        return self._run("template", self.command.run(argv, json.dumps(dict(values)).encode())).decode()


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:2])


def _error(what: str, exc: Any) -> ToolError | NotAvailableError:
    """An unreachable cluster is a missing service (exit 3); any other failure is helm's (exit 4)."""
    stderr = exc.stderr.decode(errors="replace")
    message = _message(what, stderr)
    if "cluster unreachable" in stderr.lower():
        return NotAvailableError(message, hint="is the cluster running? `cocusctl cluster start` starts the local "
                                 "one; for GKE: gcloud container clusters get-credentials", details=stderr)
    return ToolError("helm", ["helm", what], exc.returncode, stderr, message=message)


def _message(what: str, stderr: str) -> str:
    """helm's own error ("Error: …" and the lines after it, e.g. each schema violation) on one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Error:")]
    if starts:
        detail = " ".join(lines[starts[-1]:]).removeprefix("Error:").strip()
    else:
        detail = lines[-1] if lines else "no output"
    log.debug("helm %s failed: %s", what, stderr)
    return f"helm {what} failed: {detail}"
