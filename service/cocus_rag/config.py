"""Settings from the environment (pydantic-settings), cached by ``get_settings()``.

Most variables carry the ``COCUS_`` prefix; platform-provided ones keep their own names
(``PORT``, ``REDIS_URL``, ``K_SERVICE``, ``K_REVISION``, ``GOOGLE_CLOUD_PROJECT``).

The service publishes what it reads as a settings schema (``settings_schema()``, written to
``service/settings-schema.json`` by ``python -m cocus_rag settings-schema``): name, type, required,
secret, who sets it. cocusctl checks every environment's variables against it before it renders or
deploys, and ``serve`` refuses a ``COCUS_*`` variable that is not in it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = SERVICE_ROOT / "data"


class ConfigError(ValueError):
    """The settings do not allow the service to start (message is one line, no secrets)."""


ENV_PREFIX = "COCUS_"
SERVICE_NAME = "cocus-rag"
SCHEMA_VERSION = 1


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name)


def _set_by(who: str) -> dict[str, Any]:
    """`platform`: Cloud Run / Kubernetes set it; `image`: the image build sets it. Never a deployment."""
    return {"set_by": who}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COCUS_", extra="ignore", case_sensitive=False,
                                      populate_by_name=True)

    # -- serving ---------------------------------------------------------------
    port: int = Field(8080, ge=1, le=65535, validation_alias=_alias("PORT"), json_schema_extra=_set_by("platform"))
    host: str = "0.0.0.0"
    graceful_timeout: float = Field(8.0, ge=0, description="Seconds to drain in-flight requests on SIGTERM.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_questions: bool = False
    preload: bool = Field(True, description="Load the index while the web framework imports (false: after).")
    metrics_port: int = Field(0, ge=0, le=65535, description="Serve /metrics on this port only, never on the "
                              "serving port (public environments); 0: /metrics on the serving port.")

    # -- data --------------------------------------------------------------------
    index_dir: Path = DEFAULT_DATA_DIR / "index"
    model_dir: Path = DEFAULT_DATA_DIR / "model"
    doc_base_url: str = "https://docs.python.org/3.11/"
    retrieval_mode: Literal["hybrid", "bm25", "dense"] = Field(
        "hybrid", description="hybrid = BM25 + dense fused by RRF; bm25 or dense alone (for comparison).")

    # -- security ------------------------------------------------------------------
    api_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated API keys for /v1/*.",
        json_schema_extra={"required_unless": {"COCUS_AUTH_DISABLED": "true"}},
    )
    auth_disabled: bool = Field(False, description="Start without API keys: a deliberately open service.")
    cors_origins: str = ""
    max_body_bytes: int = Field(16_384, ge=256)
    max_question_chars: int = Field(1_000, ge=1, le=20_000)
    max_top_k: int = Field(20, ge=1, le=100)
    default_top_k: int = Field(5, ge=1, le=100)
    rate_limit_per_minute: int = Field(600, ge=0, description="Requests per API key and minute; 0 = off.")

    # -- redis -----------------------------------------------------------------------
    redis_url: SecretStr | None = Field(None, validation_alias=_alias("REDIS_URL"))
    cache_enabled: bool = True
    cache_ttl_seconds: int = Field(3_600, ge=1)
    redis_timeout_ms: int = Field(100, ge=1)
    redis_backoff_seconds: float = Field(5.0, ge=0)

    # -- generation --------------------------------------------------------------------
    generator: Literal["extractive", "openai", "vertex"] = "extractive"
    extractive_sentences: int = Field(3, ge=1, le=10)
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = Field(30.0, gt=0)
    vertex_project: str = ""
    vertex_location: str = "europe-west1"
    vertex_model: str = "gemini-2.0-flash"
    vertex_endpoint: str = ""
    vertex_timeout: float = Field(30.0, gt=0)
    generation_max_tokens: int = Field(512, ge=16)

    # -- build / platform info ---------------------------------------------------------
    version: str = Field("0.0.0-dev", json_schema_extra=_set_by("image"))
    git_revision: str = Field("unknown", json_schema_extra=_set_by("image"))
    k_service: str = Field("", validation_alias=_alias("K_SERVICE"), json_schema_extra=_set_by("platform"))
    k_revision: str = Field("", validation_alias=_alias("K_REVISION"), json_schema_extra=_set_by("platform"))
    google_cloud_project: str = Field("", validation_alias=AliasChoices("GOOGLE_CLOUD_PROJECT", "COCUS_GCP_PROJECT"))

    @field_validator("doc_base_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def check(self) -> None:
        """Refuse configurations that must not serve traffic."""
        if not self.api_key_list and not self.auth_disabled:
            raise ConfigError("no API key configured: set COCUS_API_KEYS (comma-separated) "
                              "or COCUS_AUTH_DISABLED=true for a deliberately open service")
        if self.metrics_port and self.metrics_port == self.port:
            raise ConfigError("COCUS_METRICS_PORT must differ from PORT (metrics stay off the serving port)")
        if self.default_top_k > self.max_top_k:
            raise ConfigError("COCUS_DEFAULT_TOP_K must not exceed COCUS_MAX_TOP_K")
        if self.generator == "vertex" and not self.vertex_project and not self.google_cloud_project:
            raise ConfigError("COCUS_GENERATOR=vertex needs COCUS_VERTEX_PROJECT or GOOGLE_CLOUD_PROJECT")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def _names(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"{ENV_PREFIX}{name.upper()}"]


def _type(annotation: Any) -> tuple[str, list[str] | None, bool]:
    """(JSON type, allowed values, secret) of a settings annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is Literal:
        return "string", [str(v) for v in typing.get_args(annotation)], False
    if annotation is SecretStr:
        return "string", None, True
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string"}
    return kinds[annotation], None, False


def settings_schema() -> dict[str, Any]:
    """What the service reads from its environment: the contract a deployment is checked against."""
    settings: list[dict[str, Any]] = []
    for name, field in Settings.model_fields.items():
        kind, allowed, secret = _type(field.annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        names = _names(name, field)
        entry: dict[str, Any] = {"name": names[0], "type": kind, "secret": secret,
                                 "required": field.is_required() or "required_unless" in extra,
                                 "set_by": extra.get("set_by", "deployment")}
        if len(names) > 1:
            entry["aliases"] = names[1:]
        if allowed is not None:
            entry["enum"] = allowed
        if "required_unless" in extra:
            entry["required_unless"] = extra["required_unless"]
        if not secret and isinstance(field.default, str | int | float | bool) and field.annotation is not Path:
            entry["default"] = field.default
        if field.description:
            entry["description"] = field.description
        settings.append(entry)
    return {"service": SERVICE_NAME, "schema_version": SCHEMA_VERSION, "settings": settings}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`COCUS_*` variables this service does not read (a typo would otherwise be silently ignored)."""
    known = {n for entry in settings_schema()["settings"] for n in [entry["name"], *entry.get("aliases", [])]}
    return sorted(k for k in environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
