"""`config show`: every resolved value with where it came from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cocusctl.core.config import LoadedConfig, redacted_dump


class ConfigValue(BaseModel):
    path: str
    value: Any
    source: str


class ConfigReport(BaseModel):
    config_file: str | None
    environment: str
    values: list[ConfigValue]


def describe_config(loaded: LoadedConfig, env_name: str | None = None) -> ConfigReport:
    environment = loaded.environment(env_name)
    values = [
        ConfigValue(path=path, value=value, source=loaded.source_of(path))
        for path, value in _flatten(redacted_dump(loaded.config))
    ]
    return ConfigReport(
        config_file=str(loaded.path) if loaded.path else None, environment=environment.name, values=values
    )


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict) and data:
        items: list[tuple[str, Any]] = []
        for key, value in data.items():
            items.extend(_flatten(value, f"{prefix}.{key}" if prefix else key))
        return items
    return [(prefix, data)]
