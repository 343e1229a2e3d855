"""The local secret store: what `secrets set --env local-…` writes and local runtimes resolve from."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cocusctl.core.errors import UsageError
from cocusctl.core.local_secrets import LocalSecretStore, ProjectSecrets, SecretNotFound, default_path


def test_versions_count_up_and_an_unchanged_value_adds_none(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path / "s" / "secrets.json")
    first = store.add_version("p", "keys", b"one")
    assert (first.name, first.version, first.created) == ("projects/p/secrets/keys/versions/1", "1", True)
    assert store.add_version("p", "keys", b"one").created is False
    assert store.add_version("p", "keys", b"two").version == "2"
    assert store.add_version("other", "keys", b"x").version == "1"  # projects are apart, as in GCP
    assert store.access("p", "keys", "1") == b"one" and store.access("p", "keys", "latest") == b"two"
    assert store.access("x", "projects/p/secrets/keys", "2") == b"two"  # a full name reaches another project


def test_missing_versions_are_named_as_cloud_run_names_them(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path / "secrets.json")
    store.add_version("p", "keys", b"v")
    with pytest.raises(SecretNotFound, match=r"^Secret projects/p/secrets/keys/versions/2 was not found$"):
        store.access("p", "keys", "2")
    with pytest.raises(SecretNotFound, match="projects/p/secrets/nope/versions/latest"):
        store.access("p", "nope", "latest")


def test_file_is_private_and_holds_no_plain_value(tmp_path: Path) -> None:
    path = tmp_path / "new" / "secrets.json"
    ProjectSecrets(LocalSecretStore(path), "p").add_version("keys", b"plain-text-value")
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert b"plain-text-value" not in path.read_bytes()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_writers_lose_no_version(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path / "secrets.json")
    threads = [threading.Thread(target=store.add_version, args=("p", "keys", f"v{i}".encode())) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.access("p", "keys", str(n)) for n in range(1, 9)) == sorted(f"v{i}".encode() for i in range(8))


def test_a_damaged_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{not json")
    with pytest.raises(UsageError, match="cannot be read: JSONDecodeError"):
        LocalSecretStore(path).access("p", "s", "1")


def test_default_path(tmp_path: Path) -> None:
    assert default_path({"COCUS_SECRETS_FILE": str(tmp_path / "f.json")}) == tmp_path / "f.json"
    assert default_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "cocusctl" / "local-secrets.json"
