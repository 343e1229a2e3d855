"""What every config model shares: strict models (unknown keys are errors) and the common patterns."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
Target = Literal["cloudrun", "gke"]

NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
SA_ID = r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$"  # a service account id
TRAFFIC_TAG = r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$"  # a Cloud Run traffic tag (it becomes part of a URL)
# Keys whose values are secrets: refused as plain env vars, redacted in `config show`.
SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
