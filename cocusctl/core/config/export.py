"""The config for people and editors: a redacted dump (`config show`) and the JSON Schema (`config schema`)."""

from __future__ import annotations

from typing import Any

from cocusctl.core.config.base import SECRET_KEY
from cocusctl.core.config.models import CocusConfig

REDACTED = "***"


def redacted_dump(config: CocusConfig) -> dict[str, Any]:
    """The config as plain data with every secret value replaced (SecretStr fields and secret-named keys)."""
    return _redact(config.model_dump(mode="json"))


def _redact(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _redact(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact(v, key) for v in data]
    if isinstance(data, str) and SECRET_KEY.search(key):
        return REDACTED
    return data


def config_json_schema() -> dict[str, Any]:
    schema = CocusConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cocus.yaml"
    return schema
