"""Cloud Run Admin API v2 resources as proto-JSON dicts (camelCase keys, integer enums).

Everything here is pure: parsing and normalising what the official client sends, validation with
Cloud Run's rules, and building the output-only parts (conditions, revisions, traffic statuses). The
emulator stores resources exactly in the JSON shape the REST transport reads back, so a round trip through
`google.cloud.run_v2` is lossless.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.cloud import run_v2
from google.protobuf import json_format

Json = dict[str, Any]

TRAFFIC_LATEST = int(run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST)
TRAFFIC_REVISION = int(run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION)

STATE_PENDING = int(run_v2.Condition.State.CONDITION_PENDING)
STATE_RECONCILING = int(run_v2.Condition.State.CONDITION_RECONCILING)
STATE_FAILED = int(run_v2.Condition.State.CONDITION_FAILED)
STATE_SUCCEEDED = int(run_v2.Condition.State.CONDITION_SUCCEEDED)
SEVERITY_ERROR = int(run_v2.Condition.Severity.ERROR)
REASON_REVISION_FAILED = int(run_v2.Condition.CommonReason.REVISION_FAILED)
REASON_CONTAINER_MISSING = int(run_v2.Condition.CommonReason.CONTAINER_MISSING)
REASON_DEADLINE = int(run_v2.Condition.CommonReason.PROGRESS_DEADLINE_EXCEEDED)
REASON_HEALTH_CHECK = int(run_v2.Condition.RevisionReason.HEALTH_CHECK_CONTAINER_ERROR)

SERVICE_ID_RE = re.compile(r"^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$")
REVISION_ID_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
TAG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")
PARENT_RE = re.compile(r"^projects/([^/]+)/locations/([^/]+)$")

SERVICE_OUTPUT_ONLY = (
    "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator", "lastModifier",
    "observedGeneration", "terminalCondition", "conditions", "latestReadyRevision", "latestCreatedRevision",
    "trafficStatuses", "uri", "urls", "reconciling", "etag", "satisfiesPzs",
)

# google.rpc.Code values used in error bodies and failed operations.
GRPC_STATUS = {
    400: (3, "INVALID_ARGUMENT"),
    404: (5, "NOT_FOUND"),
    409: (6, "ALREADY_EXISTS"),
    412: (9, "FAILED_PRECONDITION"),
    500: (13, "INTERNAL"),
}


class ApiError(Exception):
    """An API error with the HTTP status the real API would return."""

    def __init__(self, http_status: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.status = status or GRPC_STATUS.get(http_status, (2, "UNKNOWN"))[1]

    def body(self) -> Json:
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalise(message_cls: Any, data: Json, what: str) -> Json:
    """Parse `data` strictly as the given proto message and print it back as canonical proto-JSON."""
    try:
        msg = json_format.ParseDict(data, message_cls.pb()(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise ApiError(400, f"Invalid {what}: {exc}") from None
    return json_format.MessageToDict(msg, use_integers_for_enums=True)


def normalise_service(data: Json) -> Json:
    """A Service as sent by a client, canonicalised, with every output-only field dropped."""
    svc = _normalise(run_v2.Service, data, "Service")
    for key in SERVICE_OUTPUT_ONLY:
        svc.pop(key, None)
    return svc


def to_proto_json(message_cls: Any, data: Json) -> Json:
    return _normalise(message_cls, data, message_cls.__name__)


def parse_parent(parent: str) -> tuple[str, str]:
    m = PARENT_RE.match(parent)
    if not m:
        raise ApiError(400, f"Invalid parent '{parent}': expected projects/PROJECT/locations/LOCATION.")
    return m.group(1), m.group(2)


def canonical_template(template: Json) -> str:
    """The template as a canonical string; a revision is created only when this changes."""
    return json.dumps(template, sort_keys=True, separators=(",", ":"))


def revision_id_for(service_id: str, generation: int) -> str:
    return f"{service_id}-{generation:05d}-{uuid.uuid4().hex[:3]}"


def set_at_path(target: Json, source: Json, path: str) -> None:
    """Copy the field at dotted camelCase `path` from source to target (absent in source: cleared)."""
    parts = path.split(".")
    src: Any = source
    dst = target
    for part in parts[:-1]:
        src = src.get(part, {}) if isinstance(src, dict) else {}
        dst = dst.setdefault(part, {})
    leaf = parts[-1]
    if isinstance(src, dict) and leaf in src:
        dst[leaf] = copy.deepcopy(src[leaf])
    else:
        dst.pop(leaf, None)


def snake_to_camel(path: str) -> str:
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p) for p in path.split("."))


def condition(
    type_: str,
    state: int,
    message: str = "",
    *,
    reason: int | None = None,
    revision_reason: int | None = None,
    severity: int | None = None,
) -> Json:
    c: Json = {"type": type_, "state": state, "lastTransitionTime": now_rfc3339()}
    if message:
        c["message"] = message
    if severity is not None:
        c["severity"] = severity
    if reason is not None:
        c["reason"] = reason
    if revision_reason is not None:
        c["revisionReason"] = revision_reason
    return c


def condition_state(resource: Json, type_: str = "Ready") -> int:
    if type_ == "Ready" and "terminalCondition" in resource:
        return int(resource["terminalCondition"].get("state", 0))
    for c in resource.get("conditions", []):
        if c.get("type") == type_:
            return int(c.get("state", 0))
    return 0


def revision_ready_state(revision: Json) -> int:
    return condition_state(revision, "Ready")


@dataclass(frozen=True)
class ResolvedTarget:
    revision: str  # short revision id
    percent: int
    tag: str
    latest: bool


def validate_traffic(
    traffic: list[Json],
    *,
    known_revisions: dict[str, Json],
    new_revision: str | None,
    latest_revision: str | None,
) -> list[ResolvedTarget]:
    """Validate a traffic spec as Cloud Run does and resolve it to concrete revisions.

    `known_revisions` maps short revision ids to Revision resources; `new_revision` is the id the same
    request is creating (it may be referenced before it exists); `latest_revision` is what LATEST resolves to.
    """
    resolved: list[ResolvedTarget] = []
    tags: set[str] = set()
    total = 0
    for i, t in enumerate(traffic):
        ttype = int(t.get("type", 0))
        percent = t.get("percent", 0)
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise ApiError(400, f"spec.traffic[{i}].percent: must be an integer between 0 and 100.")
        tag = t.get("tag", "")
        if tag:
            if not TAG_RE.match(tag):
                raise ApiError(400, f"spec.traffic[{i}].tag: '{tag}' is not a valid tag (lowercase letters, "
                               "digits and '-', starting with a letter).")
            if tag in tags:
                raise ApiError(400, f"spec.traffic: tag '{tag}' is used more than once; tags must be unique.")
            tags.add(tag)
        if ttype == TRAFFIC_LATEST:
            if t.get("revision"):
                raise ApiError(400, f"spec.traffic[{i}]: a LATEST target must not name a revision.")
            if latest_revision is None:
                raise ApiError(400, f"spec.traffic[{i}]: LATEST has no revision to resolve to.")
            rev = latest_revision
        elif ttype == TRAFFIC_REVISION:
            rev = t.get("revision", "")
            if not rev:
                raise ApiError(400, f"spec.traffic[{i}].revision: required for a REVISION target.")
            if rev != new_revision and rev not in known_revisions:
                raise ApiError(400, f"spec.traffic[{i}].revision: Revision '{rev}' does not exist.")
            if rev != new_revision and revision_ready_state(known_revisions[rev]) == STATE_FAILED:
                raise ApiError(400, f"spec.traffic[{i}].revision: Revision '{rev}' is not ready and cannot "
                               "serve traffic.")
        else:
            raise ApiError(400, f"spec.traffic[{i}].type: must be TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST or "
                           "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION.")
        total += percent
        resolved.append(ResolvedTarget(rev, percent, tag, ttype == TRAFFIC_LATEST))
    if traffic and total != 100:
        raise ApiError(400, f"spec.traffic: percentages must sum to 100, got {total}.")
    return resolved


def memory_bytes(value: str) -> int | None:
    """Kubernetes quantity ('512Mi', '1Gi', '1G', '256M') to bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?)?", value.strip())
    if not m:
        return None
    num = float(m.group(1))
    unit = m.group(2) or ""
    factors = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
               "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return int(num * factors[unit])


def nano_cpus(value: str) -> int | None:
    v = value.strip()
    try:
        if v.endswith("m"):
            return int(float(v[:-1]) * 1_000_000)
        return int(float(v) * 1_000_000_000)
    except ValueError:
        return None


def any_of(message_cls: Any, data: Json) -> Json:
    """A google.protobuf.Any in proto-JSON form."""
    return {"@type": f"type.googleapis.com/{message_cls.pb().DESCRIPTOR.full_name}", **data}
