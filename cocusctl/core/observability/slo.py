"""The SLO file (`observability/slo.yaml`): one source for the rules, the dashboards and Terraform."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from cocusctl.core.assets import ASSETS
from cocusctl.core.errors import ConfigError

# Shipped with cocusctl, as templates/ and terraform/ are (core.assets).
OBSERVABILITY_DIR = ASSETS / "observability"
SLO_FILE = OBSERVABILITY_DIR / "slo.yaml"

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: str) -> int:
    """A Prometheus duration of one unit (`5m`, `1h`, `3d`) in seconds."""
    m = _DURATION.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m, 1h or 3d")
    return int(m[1]) * _UNIT_SECONDS[m[2]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_duration(value: str) -> str:
    duration_seconds(value)
    return value


PromDuration = Annotated[str, AfterValidator(_check_duration)]


class Slo(_Strict):
    objective: float = Field(gt=0, lt=1)
    window: PromDuration
    threshold_seconds: float | None = Field(None, gt=0)

    @property
    def budget(self) -> float:
        """The error budget as a ratio (1 - objective), rounded to drop float noise (0.005, not 0.0050000001)."""
        return round(1 - self.objective, 10)


class BurnWindow(_Strict):
    long: PromDuration
    short: PromDuration
    factor: float = Field(gt=0)


class BurnRateAlert(_Strict):
    for_: PromDuration = Field(alias="for")
    windows: list[BurnWindow] = Field(min_length=1)


class RatioAlert(_Strict):
    threshold: float = Field(gt=0, le=1)
    window: PromDuration
    for_: PromDuration = Field(alias="for")
    min_requests_per_second: float = Field(0, ge=0)


class FlappingAlert(_Strict):
    changes: int = Field(ge=1)
    window: PromDuration


class AtMaxAlert(_Strict):
    for_: PromDuration = Field(alias="for")


class Alerts(_Strict):
    error_ratio: RatioAlert
    generator_errors: RatioAlert
    redis_unavailable: RatioAlert
    readiness_flapping: FlappingAlert
    autoscaler_at_max: AtMaxAlert


class SloSpec(_Strict):
    version: Literal[1]
    service: str
    scrape_job: str
    slos: dict[Literal["availability", "latency"], Slo]
    burn_rate_alerts: dict[Literal["page", "ticket"], BurnRateAlert]
    alerts: Alerts

    @field_validator("slos")
    @classmethod
    def _latency_has_threshold(cls, slos: dict[str, Slo]) -> dict[str, Slo]:
        if set(slos) != {"availability", "latency"}:
            raise ValueError("both the availability and the latency SLO are required")
        if slos["latency"].threshold_seconds is None:
            raise ValueError("the latency SLO needs threshold_seconds")
        return slos

    def windows(self) -> list[str]:
        """Every burn-rate window, shortest first."""
        names = {w for a in self.burn_rate_alerts.values() for b in a.windows for w in (b.long, b.short)}
        return sorted(names, key=duration_seconds)


def load_slo(path: Path = SLO_FILE) -> SloSpec:
    """Read and validate the SLO file; errors name the file and the field path."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: SLO file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return SloSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
