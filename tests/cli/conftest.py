"""CliRunner with a fixed terminal: no colour, fixed width, so output can be compared exactly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    for name in ("COCUSCTL_ENV", "COCUSCTL_OUTPUT", "COCUSCTL_CONFIG", "COCUSCTL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()
