"""A Kubernetes API server, through the official `kubernetes` client (imported here only, lazily).

Objects travel as plain JSON dicts (camelCase, exactly what the server sends): the same code then works
against the local 1.20 control plane and a current GKE cluster, whose schemas differ (EndpointSlice is
discovery.k8s.io/v1beta1 on 1.20, v1 later). Requests go through the client's configuration, TLS and
authentication (`param_serialize` + `call_api`); watches stream the response line by line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from cocusctl.core.errors import CloudApiError, NotAvailableError

Json = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


class KubeApiError(CloudApiError):
    """The API server answered with an error status (404, 409 conflict, 422 invalid...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API: {status} {message}")
        self.status = status


class KubeApi(Protocol):
    def request(self, method: str, path: str, body: Any = None, *, query: Mapping[str, Any] | None = None,
                content_type: str | None = None, timeout: float = 30.0) -> Json: ...

    def watch(self, path: str, *, query: Mapping[str, Any] | None = None,
              timeout_seconds: int = 300) -> Iterator[Json]: ...

    def text(self, path: str, *, query: Mapping[str, Any] | None = None, timeout: float = 30.0) -> str: ...


class KubernetesClient:
    """`KubeApi` over `kubernetes.client.ApiClient` built from a kubeconfig file and context."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    @classmethod
    def from_kubeconfig(cls, path: Path | str, context: str | None = None) -> KubernetesClient:
        try:
            from kubernetes import config
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise NotAvailableError("the kubernetes client is not installed", hint="pip install 'cocusctl[gke]'") from exc
        try:
            api_client = config.new_client_from_config(config_file=str(path), context=context)
        except Exception as exc:  # noqa: BLE001 - any kubeconfig problem is a usage-level failure
            raise NotAvailableError(f"cannot use kubeconfig {path}: {exc}") from exc
        return cls(api_client)

    def _call(self, method: str, path: str, body: Any, query: Mapping[str, Any] | None,
              content_type: str | None, accept: str, timeout: float | tuple[float, float] | None) -> Any:
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        params = [(k, _query_value(v)) for k, v in (query or {}).items() if v is not None]
        request = self.api_client.param_serialize(
            method.upper(), path, query_params=params, header_params=headers, body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api_client.call_api(*request, _request_timeout=timeout)
        except ApiException as exc:
            raise KubeApiError(exc.status or 0, _reason(exc.body, exc.reason)) from None
        except Exception as exc:  # noqa: BLE001 - urllib3 connection errors
            raise KubeApiError(0, f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status <= 299:
            data = response.response.read()
            raise KubeApiError(response.status, _reason(data, str(response.status)))
        return response.response

    def request(self, method: str, path: str, body: Any = None, *, query: Mapping[str, Any] | None = None,
                content_type: str | None = None, timeout: float = 30.0) -> Json:
        raw = self._call(method, path, body, query, content_type, "application/json", timeout)
        data = raw.read()
        return json.loads(data) if data else {}

    def text(self, path: str, *, query: Mapping[str, Any] | None = None, timeout: float = 30.0) -> str:
        raw = self._call("GET", path, None, query, None, "*/*", timeout)
        return str(raw.read().decode("utf-8", "replace"))

    def watch(self, path: str, *, query: Mapping[str, Any] | None = None,
              timeout_seconds: int = 300) -> Iterator[Json]:
        """Watch events ({type, object}) until the server closes the stream; ERROR events raise."""
        params = {**(query or {}), "watch": "true", "timeoutSeconds": timeout_seconds,
                  "allowWatchBookmarks": "true"}
        raw = self._call("GET", path, None, params, None, "application/json", (10.0, timeout_seconds + 30.0))
        try:
            buffer = b""
            for chunk in raw.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        raise KubeApiError(int(status.get("code") or 0), str(status.get("message") or "watch error"))
                    yield event
        finally:
            raw.release_conn()

    def close(self) -> None:
        self.api_client.close()


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _reason(body: Any, fallback: str | None) -> str:
    try:
        data = json.loads(body)
        return str(data.get("message") or fallback)
    except (TypeError, ValueError):
        return str(fallback or body)
