"""The one implementation each of image references, "is this endpoint local" and "are we in CI"."""

from __future__ import annotations

import pytest

from cocusctl.core.ci import in_ci
from cocusctl.core.errors import UsageError
from cocusctl.core.images import ImageRef
from cocusctl.core.net import is_loopback

DIGEST = "sha256:" + "a" * 64


def test_parse_splits_registry_repository_tag_and_digest() -> None:
    ref = ImageRef.parse(f"127.0.0.1:5000/cocus/app@{DIGEST}")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("127.0.0.1:5000", "cocus/app", None, DIGEST)
    tagged = ImageRef.parse("europe-west1-docker.pkg.dev/p/r/app:v1")
    assert (tagged.tag, tagged.reference, tagged.ref) == ("v1", "v1", "europe-west1-docker.pkg.dev/p/r/app:v1")
    both = ImageRef.parse(f"h:1/a/b:t@{DIGEST}")
    assert both.ref == f"h:1/a/b@{DIGEST}" and both.reference == DIGEST
    assert ImageRef.parse("[::1]:5000/x").registry == "[::1]:5000"


@pytest.mark.parametrize("bad", ["app", "h/App", f"h/a@sha256:{'z' * 64}", "h/a@sha256:1234", ""])
def test_malformed_references_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="malformed image reference"):
        ImageRef.parse(bad)
    with pytest.raises(UsageError, match="malformed image reference"):
        ImageRef.pinned(bad)


def test_pinned_requires_a_digest() -> None:
    assert ImageRef.pinned(f"127.0.0.1:5000/x@{DIGEST}").digest == DIGEST
    with pytest.raises(UsageError, match="is not pinned by digest") as info:
        ImageRef.pinned("127.0.0.1:5000/x:v1")
    assert info.value.hint is not None and "cocusctl build" in info.value.hint


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("http://127.0.0.1:9280", True), ("127.0.0.1:5000", True), ("localhost", True), ("http://localhost:1/x", True),
        ("[::1]:5000", True), ("http://[::1]:80", True), ("127.8.9.10", True),
        ("https://run.googleapis.com", False), ("europe-west1-docker.pkg.dev", False), ("10.0.0.1:5000", False),
        ("emulator", False), ("", False), (None, False),
    ],
)
def test_is_loopback(address: str | None, local: bool) -> None:
    assert is_loopback(address) is local


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("0", False), ("false", False), ("False", False), ("no", False),
     ("true", True), ("1", True), ("yes", True), ("woodpecker", True)],
)
def test_in_ci_treats_false_values_as_not_ci(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {"CI": value}
    assert in_ci(environ) is expected
