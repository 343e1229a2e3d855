"""Are we running in CI? One answer for prompts, spinners and the test fixtures."""

from __future__ import annotations

import os
from collections.abc import Mapping

_FALSE = ("", "0", "false", "no", "off")


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """`CI` set to anything but an empty or false value (`CI=false` and `CI=0` mean not in CI)."""
    environ = os.environ if environ is None else environ
    return environ.get("CI", "").strip().lower() not in _FALSE
