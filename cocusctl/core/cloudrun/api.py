"""The seam between the lifecycle and Cloud Run: a small protocol, implemented by the adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cocusctl.core.cloudrun.model import RevisionInfo, RevisionSpec, ServiceState, TrafficEntry

if TYPE_CHECKING:
    from cocusctl.core.cloudrun.canary import RouterCounters


class RevisionNotReady(Exception):
    """The operation finished with the (new) revision failed; the message is Cloud Run's."""


class CloudRunApi(Protocol):
    endpoint: str
    is_emulator: bool

    def get_service(self, service: str) -> ServiceState | None: ...

    def create_service(
        self, service: str, spec: RevisionSpec, traffic: list[TrafficEntry], timeout: float
    ) -> ServiceState: ...

    def update_service(
        self,
        service: str,
        *,
        spec: RevisionSpec | None,
        traffic: list[TrafficEntry],
        timeout: float,
        validate_only: bool = False,
    ) -> ServiceState:
        """Set template (when `spec`) and traffic, wait for the operation; RevisionNotReady on failure."""
        ...

    def delete_service(self, service: str, timeout: float) -> None: ...

    def list_revisions(self, service: str) -> list[RevisionInfo]: ...

    def get_revision(self, service: str, revision: str) -> RevisionInfo | None: ...

    def revision_logs(self, revision: RevisionInfo, tail: int = 20) -> str:
        """The last log lines of a revision ('' when the platform offers none here)."""
        ...

    def request_counts(self, service: str) -> dict[str, int] | None:
        """Requests served per revision (emulator only; None elsewhere)."""
        ...

    def revision_stats(self, service: str) -> dict[str, RouterCounters] | None:
        """The router's counters per revision, latency histogram included (emulator only; None elsewhere)."""
        ...

    def http(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
             headers: dict[str, str] | None = None) -> int:
        """One authenticated request to a service URL; returns the status code (0 = no answer)."""
        ...

    def http_json(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
                  headers: dict[str, str] | None = None) -> tuple[int, object | None]:
        """Like `http`, with the JSON body of the answer (None when it is not JSON)."""
        ...
