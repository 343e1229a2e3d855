"""cocusctl's configuration: one pydantic model, loaded from `cocus.yaml`, env vars and flags.

Precedence: flag > `COCUSCTL_*` environment variable > `cocus.yaml` > defaults. Nested fields are reached
from the environment with double underscores: `COCUSCTL_SERVICE__SIZE_BUDGET_MB=300`,
`COCUSCTL_ENVIRONMENTS__LOCAL__REGISTRY__URL=127.0.0.1:5001/cocus`. Values are parsed as YAML scalars, so
lists can be given as `[CRITICAL, HIGH]`. Unknown keys are errors wherever they come from.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from cocusctl.core.errors import ConfigError, UsageError

CONFIG_FILE_NAME = "cocus.yaml"
ENV_PREFIX = "COCUSCTL_"
# Environment variables that set CLI options rather than config fields.
RESERVED_ENV = {"CONFIG", "ENV", "OUTPUT", "DEBUG", "NO_COLOR", "VERBOSE", "YES", "STATE_DIR"}

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
Target = Literal["cloudrun", "gke"]

_NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_REGISTRY_URL = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:(?P<port>\d{1,5}))?(?P<path>(/[a-z0-9._-]+)+)$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RegistryConfig(StrictModel):
    """Where images are pushed: an Artifact Registry Docker repository or any OCI registry."""

    url: str = Field(
        "127.0.0.1:5000/cocus",
        description="HOST[:PORT]/PATH, e.g. europe-west1-docker.pkg.dev/my-project/my-repo",
    )
    insecure: bool = Field(False, description="plain HTTP; only allowed for loopback registries")
    username: str | None = Field(None, description="for plain registries; Artifact Registry uses ADC")
    password: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _REGISTRY_URL.match(value):
            raise ValueError(f"expected HOST[:PORT]/REPOSITORY (lower-case path), got {value!r}")
        return value

    @model_validator(mode="after")
    def _insecure_only_on_loopback(self) -> RegistryConfig:
        if self.insecure and not is_loopback_host(self.host):
            raise ValueError(f"insecure (plain HTTP) registries are only allowed on loopback, not {self.host!r}")
        return self

    @property
    def host(self) -> str:
        match = _REGISTRY_URL.match(self.url)
        assert match is not None
        return match["host"]

    @property
    def netloc(self) -> str:
        return self.url.split("/", 1)[0]

    @property
    def repository(self) -> str:
        return self.url.split("/", 1)[1]

    @property
    def is_artifact_registry(self) -> bool:
        return self.host.endswith("-docker.pkg.dev")


class ServiceConfig(StrictModel):
    """The service image: what to build and how big it may be."""

    name: str = Field("cocus-rag", pattern=_NAME, description="service name (Cloud Run service, Helm release)")
    context: Path = Field(Path("."), description="build context, relative to the config file")
    dockerfile: Path = Field(Path("service/Dockerfile"), description="relative to the build context")
    image: str = Field("cocus-rag", pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$", description="image name")
    size_budget_mb: int = Field(400, gt=0, description="fail the build when the image is larger")
    build_args: dict[str, str] = Field(default_factory=dict)


class AcceptedFinding(StrictModel):
    """A finding accepted on purpose: it needs a reason and lapses at its expiry date."""

    id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date


class ScanPolicy(StrictModel):
    """The Trivy gate. Defaults: fixable CRITICAL/HIGH vulnerabilities, any secret, CRITICAL/HIGH misconfig."""

    fail_on: list[Severity] = Field(default_factory=lambda: ["CRITICAL", "HIGH"])
    ignore_unfixed: bool = Field(True, description="list vulnerabilities without a fixed version, don't fail")
    fail_on_secrets: bool = True
    misconfig_fail_on: list[Severity] = Field(default_factory=lambda: ["CRITICAL", "HIGH"])
    accepted: list[AcceptedFinding] = Field(default_factory=list)
    ignore_file: Path | None = Field(None, description="YAML list of {id, reason, expires}")
    allow_missing_vuln_db: bool = Field(
        False, description="pass the gate when Trivy's vulnerability DB is unavailable (reported loudly)"
    )
    timeout_s: int = Field(900, gt=0)


class CloudRunSettings(StrictModel):
    """Cloud Run target settings."""

    service: str | None = Field(None, pattern=_NAME, description="defaults to service.name")
    api_endpoint: str | None = Field(
        None, description="Admin API endpoint; unset = real Cloud Run, http://127.0.0.1:N = local emulator"
    )


class GkeSettings(StrictModel):
    """GKE target settings."""

    cluster: str | None = None
    namespace: str = Field("default", pattern=_NAME)


class EnvironmentConfig(StrictModel):
    target: Target = "cloudrun"
    project: str = Field("local", description="GCP project id")
    region: str = Field("local", description="GCP region")
    registry: RegistryConfig | None = Field(None, description="defaults to the top-level registry")
    scan: ScanPolicy | None = Field(None, description="defaults to the top-level scan policy")
    infrastructure: bool = Field(True, description="run the Terraform phase on deploy")
    build_args: dict[str, str] = Field(
        default_factory=dict, description="image build arguments for this environment, over service.build_args"
    )
    cloudrun: CloudRunSettings = Field(default_factory=CloudRunSettings)
    gke: GkeSettings = Field(default_factory=GkeSettings)


def _default_environments() -> dict[str, EnvironmentConfig]:
    return {
        "local": EnvironmentConfig(
            registry=RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True), infrastructure=False
        )
    }


class CocusConfig(StrictModel):
    """cocus.yaml"""

    version: Literal[1] = 1
    project: str = Field("cocus-rag", pattern=_NAME, description="project name")
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig(url="127.0.0.1:5000/cocus", insecure=True))
    scan: ScanPolicy = Field(default_factory=ScanPolicy)
    output_dir: Path = Field(Path("build/cocus"), description="reports, SBOMs, rendered files")
    default_environment: str = "local"
    environments: dict[str, EnvironmentConfig] = Field(default_factory=_default_environments)

    @model_validator(mode="after")
    def _default_env_exists(self) -> CocusConfig:
        if self.default_environment not in self.environments:
            raise ValueError(
                f"default_environment {self.default_environment!r} is not one of: {', '.join(self.environments)}"
            )
        return self


@dataclass(frozen=True)
class Environment:
    """An environment with the top-level defaults (registry, scan policy) filled in."""

    name: str
    settings: EnvironmentConfig
    registry: RegistryConfig
    scan: ScanPolicy
    build_args: dict[str, str]

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
        parts = [p.lower() for p in key[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        _set_path(raw, parts, _parse_scalar(value))
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


def _parse_scalar(value: str) -> Any:
    try:
        return yaml.safe_load(value) if value != "" else ""
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


SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)
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
