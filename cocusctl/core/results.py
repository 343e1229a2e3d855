"""The versioned JSON envelope every command emits with `--output json`, on success and on failure."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

ENVELOPE_VERSION = 1


class ErrorItem(BaseModel):
    code: str
    message: str
    hint: str | None = None


class Envelope(BaseModel):
    version: int = ENVELOPE_VERSION
    command: str
    status: Literal["ok", "error"]
    exit_code: int
    data: Any = None
    errors: list[ErrorItem] = []


def to_data(result: object | None) -> Any:
    if result is None:
        return None
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result
