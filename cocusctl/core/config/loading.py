"""Loading cocus.yaml: file, `COCUSCTL_*` variables and flags layered into one validated `CocusConfig`.

Precedence: flag > `COCUSCTL_*` environment variable > `cocus.yaml` > defaults. Nested fields are reached
from the environment with double underscores: `COCUSCTL_SERVICE__SIZE_BUDGET_MB=300`,
`COCUSCTL_ENVIRONMENTS__LOCAL__REGISTRY__URL=127.0.0.1:5001/cocus`. Values are parsed as YAML scalars, so
lists can be given as `[CRITICAL, HIGH]`. Unknown keys are errors wherever they come from.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from cocusctl.core.config.base import Target
from cocusctl.core.config.models import (
    CocusConfig,
    EnvironmentConfig,
    RegistryConfig,
    ScanPolicy,
    default_environments,
)
from cocusctl.core.errors import ConfigError, UsageError

CONFIG_FILE_NAME = "cocus.yaml"
ENV_PREFIX = "COCUSCTL_"
# Environment variables that set CLI options rather than config fields.
RESERVED_ENV = {"CONFIG", "ENV", "OUTPUT", "DEBUG", "NO_COLOR", "VERBOSE", "YES", "STATE_DIR"}



@dataclass(frozen=True)
class Environment:
    """An environment with the top-level defaults (registry, scan policy, service name) filled in."""

    name: str
    settings: EnvironmentConfig
    registry: RegistryConfig
    scan: ScanPolicy
    build_args: dict[str, str]
    service_name: str  # the Cloud Run service / Helm release

    @property
    def target(self) -> Target:
        return self.settings.target


@dataclass
class LoadedConfig:
    config: CocusConfig
    path: Path | None
    root: Path
    sources: dict[str, str] = field(default_factory=dict)

    def environment(self, name: str | None = None) -> Environment:
        name = name or self.config.default_environment
        env = self.config.environments.get(name)
        if env is None:
            known = ", ".join(sorted(self.config.environments)) or "none"
            raise UsageError(f"unknown environment {name!r} (configured: {known})")
        return Environment(
            name=name,
            settings=env,
            registry=env.registry or self.config.registry,
            scan=env.scan or self.config.scan,
            build_args={**self.config.service.build_args, **env.build_args},
            service_name=(env.gke.release if env.target == "gke" else env.cloudrun.service) or self.config.service.name,
        )

    def resolve_path(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path)

    def source_of(self, dotted: str) -> str:
        parts = dotted.split(".")
        while parts:
            key = ".".join(parts)
            if key in self.sources:
                return self.sources[key]
            parts.pop()
        return "default"


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Load and validate the layered configuration. Raises ConfigError naming the source and field."""
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    explicit = path is not None
    config_path = path if path is not None else cwd / CONFIG_FILE_NAME
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_path.exists():
        raw = _read_yaml(config_path)
        for dotted in _leaf_paths(raw):
            sources[dotted] = str(config_path.name if not explicit else config_path)
        file_label = str(config_path)
    elif explicit:
        raise ConfigError(f"config file {config_path} does not exist")
    else:
        config_path = None  # type: ignore[assignment]
        file_label = "defaults"

    for key, value in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX):] in RESERVED_ENV:
            continue
        parts, field_type = _env_path(key, [p for p in key[len(ENV_PREFIX):].split("__") if p], raw)
        if not parts:
            continue
        _set_path(raw, parts, _parse_scalar(value, field_type))
        sources[".".join(parts)] = f"env {key}"

    for dotted, value in (flags or {}).items():
        if value is None:
            continue
        _set_path(raw, dotted.split("."), value)
        sources[dotted] = "flag"

    _inherit_scan_policy(raw, sources)
    try:
        config = CocusConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, sources, file_label)) from exc
    root = config_path.parent.resolve() if config_path else cwd.resolve()
    return LoadedConfig(config=config, path=config_path, root=root, sources=sources)


def _env_path(variable: str, parts: list[str], raw: dict[str, Any]) -> tuple[list[str], Any]:
    """Map COCUSCTL_A__B__C onto field names, walking the model so that map keys keep their meaning.

    Field names are matched case-insensitively. Keys of a map of models (environments) must name an
    existing entry, with `_` standing for `-` (`LOCAL_STAGING` reaches `local-staging`); keys of a map of
    strings (env vars, build args, labels) keep the case they were given in. Returns the path and the
    type the value must have (None when unknown), so a string field keeps `11609` as the text it is.
    """
    resolved: list[str] = []
    model: Any = CocusConfig
    node: Any = raw
    for part in parts:
        if model is None or not (typing.get_origin(model) is dict or _is_model(model)):
            resolved.append(part if model is None else part.lower())  # below a plain value: keep the key
            model = None
        elif typing.get_origin(model) is dict:
            value_type = _unwrap_optional(typing.get_args(model)[1])
            existing = list(node) if isinstance(node, dict) else []
            if not existing and model == dict[str, EnvironmentConfig]:
                existing = list(default_environments())
            if _is_model(value_type):
                wanted = part.lower().replace("_", "-")
                match = next((k for k in existing if k.lower().replace("_", "-") == wanted), None)
                if match is None:
                    where = ".".join(resolved)
                    raise ConfigError(
                        f"env {variable}: {where}: no entry {part.lower()!r} (configured: {', '.join(existing) or 'none'})"
                    )
                resolved.append(match)
            else:
                resolved.append(part)
            model = value_type
        else:
            name = part.lower()
            resolved.append(name)
            field = model.model_fields.get(name)
            model = _unwrap_optional(field.annotation) if field is not None else None
        node = node.get(resolved[-1]) if isinstance(node, dict) else None
    return resolved, model


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _inherit_scan_policy(raw: dict[str, Any], sources: dict[str, str]) -> None:
    """An environment's `scan:` block overrides single fields of the top-level policy, not the whole policy."""
    top = raw.get("scan")
    environments = raw.get("environments")
    if not isinstance(top, dict) or not isinstance(environments, dict):
        return
    for name, env in environments.items():
        if not isinstance(env, dict) or not isinstance(env.get("scan"), dict):
            continue
        for key, value in top.items():
            if key not in env["scan"]:
                env["scan"][key] = value
                if f"scan.{key}" in sources:
                    sources[f"environments.{name}.scan.{key}"] = sources[f"scan.{key}"] + " (scan)"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _parse_scalar(value: str, field_type: Any) -> Any:
    """A variable's text as the field wants it: strings (and paths) as given, anything else as YAML."""
    if field_type in (str, Path, SecretStr) or value == "":
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _set_path(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _leaf_paths(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, dict) and data:
        paths: list[str] = []
        for key, value in data.items():
            paths.extend(_leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
        return paths
    return [prefix] if prefix else []


def _format_validation_error(exc: ValidationError, sources: dict[str, str], file_label: str) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    dotted = ".".join(loc)
    source = next(
        (sources[".".join(loc[:i])] for i in range(len(loc), 0, -1) if ".".join(loc[:i]) in sources),
        None,
    )
    if source is None:  # a model-level check: name every source that set a field below it
        below = sorted({src for key, src in sources.items() if key.startswith(f"{dotted}.")})
        source = ", ".join(below) or file_label
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; `cocusctl config schema` lists the keys)"
    elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
        message = f"{message} (got {first['input']!r})"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {dotted or '<root>'}: {message}{more}"
