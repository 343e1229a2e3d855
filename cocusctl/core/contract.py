"""The contract between `cocus.yaml` and the service: what a revision is given is what the service reads.

The service publishes its settings schema (`python -m cocus_rag settings-schema`: name, type, required,
secret, who sets it). Before `render` and `deploy` — and on demand with `cocusctl config check` — every
environment's `revision.env` and `revision.secrets` are checked against it:

- a variable the service does not read is an error (the service would ignore it, or refuse to start);
- a variable the platform or the image sets (PORT, K_REVISION, COCUS_VERSION…) must not be set;
- a secret setting must come from Secret Manager (`revision.secrets`), never as a plain value;
- a plain value must have the setting's type (integer, boolean, one of its values);
- a required setting must be given, unless its condition holds (API keys, unless auth is disabled).

Problems are `ConfigError` (exit 2) naming the environment and the field.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cocusctl.core.assets import asset
from cocusctl.core.config import BUNDLED_CONTRACTS, Environment, LoadedConfig
from cocusctl.core.errors import ConfigError

_BOOLEANS = {"1", "0", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n"}
_TRUE = {"1", "true", "yes", "on", "t", "y"}


class Setting(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a newer service may publish more about a setting

    name: str
    type: Literal["string", "integer", "number", "boolean"]
    secret: bool = False
    required: bool = False
    required_unless: dict[str, str] = {}
    set_by: str = "deployment"
    aliases: list[str] = []
    enum: list[str] | None = None
    default: Any = None
    description: str | None = None

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


class SettingsSchema(BaseModel):
    model_config = ConfigDict(extra="ignore")

    service: str
    schema_version: int
    settings: list[Setting]

    def lookup(self, name: str) -> Setting | None:
        return next((s for s in self.settings if name in s.names), None)


class Problem(BaseModel):
    environment: str
    field: str  # e.g. revision.env.LOG_LEVEL
    message: str

    def __str__(self) -> str:
        return f"environment {self.environment!r}: {self.field}: {self.message}"


class ContractReport(BaseModel):
    """What `cocusctl config check` returns: the schema checked against, and every problem found."""

    service: str | None
    schema_source: str | None
    environments: list[str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def schema_source(loaded: LoadedConfig) -> Path | None:
    """Where the service's settings schema is read from; None when the service publishes none."""
    contract = loaded.config.service.settings_contract
    if contract == "none":
        return None
    if contract in BUNDLED_CONTRACTS:
        return asset(BUNDLED_CONTRACTS[contract])
    return loaded.resolve_path(Path(contract))


def load_schema(loaded: LoadedConfig) -> SettingsSchema | None:
    path = schema_source(loaded)
    if path is None:
        return None
    try:
        return SettingsSchema.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"service.settings_contract: {path} does not exist",
                          hint="point it at the JSON the service publishes, or set it to none") from None
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(f"service.settings_contract: {path} is not a settings schema ({type(exc).__name__})") \
            from None


def _type_problem(setting: Setting, value: str) -> str | None:
    text = value.strip()
    if setting.enum is not None and value not in setting.enum:
        return f"{value!r} is not one of {', '.join(setting.enum)}"
    if setting.type == "integer":
        ok = text.lstrip("+-").isdigit()
    elif setting.type == "number":
        try:
            float(text)
            ok = True
        except ValueError:
            ok = False
    elif setting.type == "boolean":
        ok = text.lower() in _BOOLEANS
    else:
        ok = True
    return None if ok else f"{value!r} is not a valid {setting.type}"


def _condition_holds(condition: dict[str, str], env: dict[str, str]) -> bool:
    for name, wanted in condition.items():
        given = env.get(name)
        if given is None:
            return False
        if wanted.lower() in ("true", "false"):
            if (given.strip().lower() in _TRUE) != (wanted.lower() == "true"):
                return False
        elif given != wanted:
            return False
    return True


def _suggestion(name: str, schema: SettingsSchema) -> str:
    known = [n for s in schema.settings if s.set_by == "deployment" for n in s.names]
    prefixed = f"COCUS_{name}"
    if prefixed in known:
        return f" (did you mean {prefixed}?)"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def check_environment(schema: SettingsSchema, environment: Environment) -> list[Problem]:
    """Every way the environment's revision disagrees with the service's settings schema."""
    revision = environment.settings.revision
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(environment=environment.name, field=field, message=message))

    given = {**{k: ("env", v) for k, v in revision.env.items()},
             **{k: ("secrets", None) for k in revision.secrets}}
    for name, (where, value) in sorted(given.items()):
        field = f"revision.{where}.{name}"
        setting = schema.lookup(name)
        if setting is None:
            problem(field, f"the service does not read {name}{_suggestion(name, schema)}")
        elif setting.set_by != "deployment":
            problem(field, f"{name} is set by the {setting.set_by}, not by a deployment; remove it")
        elif where == "env" and setting.secret:
            problem(field, f"{name} is a secret: deliver it from Secret Manager (revision.secrets), "
                           "never as a plain value")
        elif value is not None and (bad := _type_problem(setting, value)):
            problem(field, bad)
    plain = dict(revision.env)
    for setting in schema.settings:
        if not setting.required or any(n in given for n in setting.names):
            continue
        if setting.required_unless and _condition_holds(setting.required_unless, plain):
            continue
        where = "revision.secrets" if setting.secret else "revision.env"
        unless = " unless " + ", ".join(f"{k}={v}" for k, v in setting.required_unless.items()) \
            if setting.required_unless else ""
        problem(where, f"{setting.name} is required (the service refuses to start without it){unless}")
    return problems


def check_contract(loaded: LoadedConfig, environments: list[Environment]) -> ContractReport:
    schema = load_schema(loaded)
    source = schema_source(loaded)
    problems = [p for env in environments for p in check_environment(schema, env)] if schema else []
    return ContractReport(service=schema.service if schema else None, schema_source=str(source) if source else None,
                          environments=[e.name for e in environments], problems=problems)


def require_contract(loaded: LoadedConfig, environment: Environment) -> None:
    """Raise ConfigError (exit 2) naming the environment and field of the first problem, if any."""
    report = check_contract(loaded, [environment])
    if report.problems:
        more = len(report.problems) - 1
        raise ConfigError(
            str(report.problems[0]) + (f" (+{more} more)" if more else ""),
            hint=f"`cocusctl config check --env {environment.name}` lists every problem; the service's settings "
                 f"are in {report.schema_source}",
        )
