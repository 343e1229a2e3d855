"""The service's published settings contract: generated from its pydantic settings, kept current, enforced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cocus_rag.config import settings_schema, unknown_variables

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "service" / "settings-schema.json"


def test_published_schema_is_current() -> None:
    """CI fails when a setting changes and `python -m cocus_rag settings-schema` was not run again."""
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == settings_schema(), (
        "service/settings-schema.json is stale: cd service && python -m cocus_rag settings-schema > settings-schema.json"
    )


def test_schema_names_type_required_and_secret() -> None:
    entries = {e["name"]: e for e in settings_schema()["settings"]}
    keys = entries["COCUS_API_KEYS"]
    assert (keys["type"], keys["secret"], keys["required"]) == ("string", True, True)
    assert keys["required_unless"] == {"COCUS_AUTH_DISABLED": "true"}
    assert entries["REDIS_URL"]["secret"] is True and entries["REDIS_URL"]["required"] is False
    assert entries["COCUS_LOG_LEVEL"]["enum"] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert (entries["COCUS_DEFAULT_TOP_K"]["type"], entries["COCUS_DEFAULT_TOP_K"]["default"]) == ("integer", 5)
    assert {entries[n]["set_by"] for n in ("PORT", "K_SERVICE", "K_REVISION")} == {"platform"}
    assert entries["COCUS_GIT_REVISION"]["set_by"] == "image"
    assert entries["GOOGLE_CLOUD_PROJECT"]["aliases"] == ["COCUS_GCP_PROJECT"]
    assert "default" not in entries["COCUS_INDEX_DIR"]  # a machine's path is no contract


def test_unknown_cocus_variables_are_named() -> None:
    environ = {"COCUS_API_KEYS": "k", "COCUS_LOG_LEVL": "DEBUG", "cocus_rag_top_k": "5", "PATH": "/bin",
               "COCUS_GCP_PROJECT": "p", "LOG_LEVEL": "debug"}
    assert unknown_variables(environ) == ["COCUS_LOG_LEVL", "cocus_rag_top_k"]


def test_serve_refuses_an_unknown_cocus_variable_before_anything_starts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cocus_rag", "serve"], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "COCUS_API_KEYS": "k",
             "COCUS_RAG_TOP_K": "5"},
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "cocus-rag: error: unknown setting COCUS_RAG_TOP_K: this service does not read it "
        "(`python -m cocus_rag settings-schema` lists what it reads)\n"
    )
