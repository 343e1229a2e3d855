"""Settings from the environment (pydantic-settings), cached by ``get_settings()``.

Most variables carry the ``COCUS_`` prefix; platform-provided ones keep their own names
(``PORT``, ``REDIS_URL``, ``K_SERVICE``, ``K_REVISION``, ``GOOGLE_CLOUD_PROJECT``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = SERVICE_ROOT / "data"


class ConfigError(ValueError):
    """The settings do not allow the service to start (message is one line, no secrets)."""


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COCUS_", extra="ignore", case_sensitive=False,
                                      populate_by_name=True)

    # -- serving ---------------------------------------------------------------
    port: int = Field(8080, ge=1, le=65535, validation_alias=_alias("PORT"))
    host: str = "0.0.0.0"
    graceful_timeout: float = Field(8.0, ge=0, description="Seconds to drain in-flight requests on SIGTERM.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_questions: bool = False
    metrics_port: int = Field(0, ge=0, le=65535, description="Serve /metrics on this port only, never on the "
                              "serving port (public environments); 0: /metrics on the serving port.")

    # -- data --------------------------------------------------------------------
    index_dir: Path = DEFAULT_DATA_DIR / "index"
    model_dir: Path = DEFAULT_DATA_DIR / "model"
    doc_base_url: str = "https://docs.python.org/3.11/"

    # -- security ------------------------------------------------------------------
    api_keys: SecretStr = SecretStr("")
    auth_disabled: bool = False
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
    version: str = "0.0.0-dev"
    git_revision: str = "unknown"
    k_service: str = Field("", validation_alias=_alias("K_SERVICE"))
    k_revision: str = Field("", validation_alias=_alias("K_REVISION"))
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
