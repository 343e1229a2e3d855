"""Structured JSON logs in Google Cloud Logging's format (one JSON object per line on stdout)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?$")

_SEVERITY = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL"}


def parse_trace(headers: dict[str, str], project: str) -> dict[str, Any]:
    """Cloud Logging trace fields from ``traceparent`` (W3C) or ``X-Cloud-Trace-Context``."""
    trace = span = None
    sampled = None
    tp = headers.get("traceparent", "").strip().lower()
    m = _TRACEPARENT.match(tp)
    if m and m.group(1) != "0" * 32:
        trace, span, sampled = m.group(1), m.group(2), bool(int(m.group(3), 16) & 1)
    else:
        m2 = _CLOUD_TRACE.match(headers.get("x-cloud-trace-context", "").strip())
        if m2:
            trace = m2.group(1).lower()
            span = format(int(m2.group(2)), "016x") if m2.group(2) else None
            sampled = m2.group(3) == "1" if m2.group(3) else None
    if not trace:
        return {}
    out: dict[str, Any] = {"logging.googleapis.com/trace": f"projects/{project}/traces/{trace}" if project else trace}
    if span:
        out["logging.googleapis.com/spanId"] = span
    if sampled is not None:
        out["logging.googleapis.com/trace_sampled"] = sampled
    return out


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
        }
        extra = getattr(record, "cloud", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info and record.levelno >= logging.ERROR:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Route every logger (ours and uvicorn's) through one JSON handler on stdout."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
