"""How Cloud Logging sees the service's JSON lines: the LogEntry it stores, and its filters evaluated on it.

`ingest` applies Cloud Logging's rules for structured logs written to stdout: the special JSON fields
(`severity`, `httpRequest`, `time`, `logging.googleapis.com/trace|spanId|trace_sampled`) become LogEntry
fields, everything else (with `message`) stays in `jsonPayload`. `matches` evaluates the subset of the
logging query language the monitoring module's filters use — comparisons joined by AND — and refuses
anything else, so a filter it cannot read fails the test instead of passing silently.
"""

from __future__ import annotations

import json
import re
from typing import Any

SPECIAL = {"severity": "severity", "httpRequest": "httpRequest", "time": "timestamp",
           "logging.googleapis.com/trace": "trace", "logging.googleapis.com/spanId": "spanId",
           "logging.googleapis.com/trace_sampled": "traceSampled"}
_TERM = re.compile(r"^(?P<field>[A-Za-z_][\w.]*)\s*(?P<op>=~|!=|>=|<=|=|>|<|:)\s*(?P<value>.+)$")
_EXTRACTOR = re.compile(r'^REGEXP_EXTRACT\((?P<field>[\w.]+),\s*(?P<regex>"(?:[^"\\]|\\.)*")\)$')


def ingest(line: dict[str, Any], *, project: str, service: str, revision: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "logName": f"projects/{project}/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision",
                     "labels": {"service_name": service, "revision_name": revision, "project_id": project}},
        "jsonPayload": {},
    }
    for key, value in line.items():
        if key in SPECIAL:
            entry[SPECIAL[key]] = value
        else:
            entry["jsonPayload"][key] = value
    return entry


def _split_and(text: str) -> list[str]:
    terms, current, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            current += text[i:i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if not quoted and text.startswith(" AND ", i):
            terms.append(current.strip())
            current, i = "", i + 5
            continue
        current += ch
        i += 1
    if quoted:
        raise ValueError(f"unbalanced quotes in filter: {text}")
    return [*terms, current.strip()]


def field(entry: dict[str, Any], path: str) -> Any:
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _value(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith('"'):
        return json.loads(raw)
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    if re.fullmatch(r"[A-Z]+", raw):  # a bare word: severity names
        return raw
    raise ValueError(f"unsupported value in filter: {raw}")


def matches(filter_text: str, entry: dict[str, Any]) -> bool:
    for term in _split_and(filter_text):
        m = _TERM.match(term)
        if m is None:
            raise ValueError(f"unsupported filter term: {term}")
        got, op, want = field(entry, m["field"]), m["op"], _value(m["value"])
        if got is None:
            return False
        if op == "=~":
            ok = re.search(want, str(got)) is not None
        elif op == ":":
            ok = str(want) in str(got)
        elif op in ("=", "!="):
            ok = (float(got) == want) if isinstance(want, float) else (str(got) == want)
            ok = ok if op == "=" else not ok
        else:
            a, b = float(got), float(want)
            ok = {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True


def extract(extractor: str, entry: dict[str, Any]) -> float | None:
    """A distribution metric's `REGEXP_EXTRACT(field, "regex")` on the entry: the value it would record."""
    m = _EXTRACTOR.match(extractor)
    if m is None:
        raise ValueError(f"unsupported value extractor: {extractor}")
    found = re.search(json.loads(m["regex"]), str(field(entry, m["field"])))
    return float(found.group(1)) if found else None
