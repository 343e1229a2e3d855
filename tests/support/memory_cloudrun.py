"""An in-memory Cloud Run for the unit tests of the lifecycle (the real API is exercised on the emulator)."""

from __future__ import annotations

from cocusctl.core.cloudrun.api import RevisionNotReady
from cocusctl.core.cloudrun.model import (
    Condition,
    RevisionInfo,
    RevisionSpec,
    ServiceState,
    TrafficEntry,
    TrafficStatus,
)

GOOD = "127.0.0.1:5000/app@sha256:" + "a" * 64
GOOD2 = "127.0.0.1:5000/app@sha256:" + "b" * 64
CRASH = "127.0.0.1:5000/app@sha256:" + "c" * 64


class InMemoryCloudRun:
    """Follows the CloudRunApi protocol; images whose digest starts with 'c' crash."""

    endpoint = "memory://"
    is_emulator = False

    def __init__(self) -> None:
        self.traffic: list[TrafficEntry] = []
        self.revisions: dict[str, RevisionInfo] = {}
        self.updates: list[list[TrafficEntry]] = []
        self.exists = False
        self.http_status = 200
        self.latest = ""
        self.created = ""

    def _state(self) -> ServiceState:
        statuses = tuple(TrafficStatus(t.revision or self.latest, t.percent, t.tag,
                                       f"http://tag-{t.tag}" if t.tag else "") for t in self.traffic)
        return ServiceState("svc", "http://svc", tuple(self.traffic), statuses, self.latest, self.created, True)

    def _add(self, spec: RevisionSpec) -> None:
        crash = "@sha256:c" in spec.image
        cond = Condition("Ready", "FAILED" if crash else "SUCCEEDED", "container exited with code 3" if crash else "")
        self.revisions[spec.revision] = RevisionInfo(
            spec.revision, spec.image, str(len(self.revisions)), not crash, (cond,), log_uri="mem", env=spec.env,
            secrets=spec.secrets, memory=spec.memory, cpu=spec.cpu, min_instances=spec.min_instances,
            max_instances=spec.max_instances, concurrency=spec.concurrency)
        self.created = spec.revision
        if crash:
            raise RevisionNotReady(f"Revision '{spec.revision}' is not ready and cannot serve traffic.")
        self.latest = spec.revision

    def get_service(self, service):
        return self._state() if self.exists else None

    def create_service(self, service, spec, traffic, timeout):
        self.exists = True
        self.traffic = list(traffic)
        self._add(spec)
        return self._state()

    def update_service(self, service, *, spec, traffic, timeout, validate_only=False):
        if validate_only:
            return self._state()
        self.updates.append(list(traffic))
        if spec is not None:
            self._add(spec)
        self.traffic = list(traffic)
        return self._state()

    def delete_service(self, service, timeout):
        self.exists = False

    def list_revisions(self, service):
        return list(self.revisions.values())

    def get_revision(self, service, revision):
        return self.revisions.get(revision)

    def revision_logs(self, revision, tail=20):
        return "booting\nFATAL: index missing\n" if not revision.ready else ""

    def request_counts(self, service):
        return None

    def http(self, method, url, *, json_body=None, timeout=10.0, headers=None):
        return self.http_status

    def http_json(self, method, url, *, json_body=None, timeout=10.0, headers=None):
        return self.http_status, None
