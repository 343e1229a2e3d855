"""The smoke test every target runs on a new revision before it counts: GETs that must answer 2xx, then one
real query (with the smoke API key, never printed). Each check is tried three times with a short back-off."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from cocusctl.core.errors import DeployError
from cocusctl.core.reporting import Reporter


class HttpStatus(Protocol):
    def __call__(self, method: str, url: str, *, json_body: object | None, headers: dict[str, str] | None,
                 timeout: float) -> int:
        """The response's status code; 0 when nothing answered."""
        ...


def smoke_test(http: HttpStatus, base_url: str, *, paths: Sequence[str], query: str | None, api_key: str | None,
               what: str, reporter: Reporter, sleep: Callable[[float], None], where: str | None = None) -> None:
    """DeployError naming the check, `what` was tested and the answer, at the first check that fails."""
    checks: list[tuple[str, str, object | None]] = [("GET", p, None) for p in paths]
    if query:
        checks.append(("POST", "/v1/query", {"question": query}))
    for method, path, body in checks:
        reporter.step(f"Smoke test: {method} {path} on {where or what}")
        status = 0
        for attempt in range(3):
            headers = {"X-API-Key": api_key} if api_key and body is not None else None
            status = http(method, base_url.rstrip("/") + path, json_body=body, headers=headers, timeout=30.0)
            if 200 <= status < 300:
                break
            sleep(0.5 * (attempt + 1))
        if not 200 <= status < 300:
            got = f"HTTP {status}" if status else "no answer"
            raise DeployError(f"smoke test failed: {method} {path} on {what} gave {got}")
