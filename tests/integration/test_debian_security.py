"""The Debian security suite adapter: a local HTTP server laid out like a Debian mirror, then the real one."""

from __future__ import annotations

import hashlib
import http.server
import lzma
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cocusctl.adapters.debian_security import DEBIAN_KEYRING, DebianSecuritySuite
from cocusctl.core.errors import CloudApiError, NotAvailableError
from tests.conftest import need

PACKAGES = """\
Package: zlib1g
Source: zlib
Version: 1:1.2.13.dfsg-1+deb12u1
Architecture: amd64

Package: libssl3
Source: openssl
Version: 3.0.17-1~deb12u2
Architecture: amd64

Package: libssl3
Source: openssl
Version: 3.0.22-1~deb12u2
Architecture: amd64
"""


def in_release(packages_xz: bytes) -> str:
    digest = hashlib.sha256(packages_xz).hexdigest()
    return (
        "Origin: Debian\nSuite: stable-security\nCodename: bookworm-security\n"
        "Date: Mon, 30 Nov 2026 00:22:33 UTC\nSHA256:\n"
        f" {'0' * 64} 123 main/binary-arm64/Packages.xz\n"
        f" {digest} {len(packages_xz)} main/binary-amd64/Packages.xz\n"
    )


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A mirror folder served on 127.0.0.1; yields (url, folder, request paths)."""
    root = tmp_path / "mirror"
    dists = root / "dists" / "bookworm-security"
    (dists / "main" / "binary-amd64").mkdir(parents=True)
    packages_xz = lzma.compress(PACKAGES.encode())
    (dists / "main" / "binary-amd64" / "Packages.xz").write_bytes(packages_xz)
    (dists / "InRelease").write_text(in_release(packages_xz))
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, requests
    finally:
        server.shutdown()


def test_reads_the_newest_version_of_each_package_and_caches_by_digest(mirror, tmp_path: Path) -> None:
    url, _, requests = mirror
    suite = DebianSecuritySuite(url, cache_dir=tmp_path / "cache", keyring=tmp_path / "no-keyring.gpg")
    index = suite.index("bookworm", "amd64")
    assert index.suite == "bookworm-security" and index.date == "Mon, 30 Nov 2026 00:22:33 UTC"
    assert index.versions == {"zlib1g": "1:1.2.13.dfsg-1+deb12u1", "libssl3": "3.0.22-1~deb12u2"}
    assert index.signature_verified is False, "no keyring: never claimed as verified"
    assert suite.index("bookworm", "amd64") == index
    packages_fetches = [p for p in requests if p.endswith("Packages.xz")]
    assert len(packages_fetches) == 1, requests


def test_a_packages_file_that_does_not_match_its_release_is_refused(mirror, tmp_path: Path) -> None:
    url, root, _ = mirror
    target = root / "dists" / "bookworm-security" / "main" / "binary-amd64" / "Packages.xz"
    target.write_bytes(lzma.compress(b"Package: zlib1g\nVersion: 9:9\n"))
    suite = DebianSecuritySuite(url, cache_dir=tmp_path / "cache", keyring=tmp_path / "no-keyring.gpg")
    with pytest.raises(CloudApiError, match="does not match the SHA256 in its InRelease"):
        suite.index("bookworm", "amd64")


def test_a_bad_signature_is_an_error_not_an_unverified_pass(mirror, tmp_path: Path) -> None:
    need(shutil.which("gpgv") is not None and DEBIAN_KEYRING.is_file(), "gpgv and Debian's archive keyring")
    url, root, _ = mirror
    release = root / "dists" / "bookworm-security" / "InRelease"
    release.write_text(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + release.read_text()
        + "-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n"
    )
    with pytest.raises(CloudApiError, match="signature is not valid"):
        DebianSecuritySuite(url, cache_dir=tmp_path / "cache").index("bookworm", "amd64")


def test_an_unreachable_mirror_is_not_available(tmp_path: Path) -> None:
    suite = DebianSecuritySuite("http://127.0.0.1:9", cache_dir=tmp_path / "cache", timeout=5)
    with pytest.raises(NotAvailableError, match="127.0.0.1:9"):
        suite.index("bookworm", "amd64")


def test_debians_real_security_suite_is_signed_and_current(tmp_path: Path) -> None:
    """The suite the gate reads on every build, from Debian's own mirror (apt's, reachable here)."""
    need(shutil.which("gpgv") is not None and DEBIAN_KEYRING.is_file(), "gpgv and Debian's archive keyring")
    index = DebianSecuritySuite(cache_dir=tmp_path / "cache").index("bookworm", "amd64")
    assert index.signature_verified is True
    assert len(index.versions) > 1000 and "libssl3" in index.versions
