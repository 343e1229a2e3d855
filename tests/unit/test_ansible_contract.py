"""The cocus_service role knows exactly the settings the service reads, and which of them are secrets."""

from __future__ import annotations

from pathlib import Path

import yaml
from cocus_rag.config import Settings
from pydantic import AliasChoices, SecretStr

ROLE_VARS = Path(__file__).resolve().parents[2] / "ansible" / "roles" / "cocus_service" / "vars" / "main.yml"


def service_settings() -> tuple[set[str], set[str]]:
    """(every variable name the service's settings read, the names of secret ones)."""
    names: set[str] = set()
    secret: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env_names = set(alias.choices) if isinstance(alias, AliasChoices) else {f"COCUS_{field_name.upper()}"}
        names |= {str(n) for n in env_names}
        if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ())):
            secret |= {str(n) for n in env_names}
    return names, secret


def test_role_contract_matches_the_service_settings() -> None:
    contract = yaml.safe_load(ROLE_VARS.read_text())
    names, secret = service_settings()
    assert sorted(contract["cocus_service_known_settings"]) == sorted(names)
    assert sorted(contract["cocus_service_secret_settings"]) == sorted(secret)
    assert set(contract["cocus_service_role_settings"]) <= names
