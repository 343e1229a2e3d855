"""Debian's security suite over plain HTTP from its mirror, the way apt reads it.

`InRelease` (signed; checked with `gpgv` against Debian's archive keyring when both are on the machine) lists
the SHA256 of `main/binary-<arch>/Packages.xz`, which is downloaded, checked against it and parsed for each
package's version. The parsed index is cached per suite and architecture, keyed by the InRelease digest, so
an unchanged suite costs one small request.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cocusctl.core.errors import CloudApiError, NotAvailableError
from cocusctl.core.os_updates import SuiteIndex

DEFAULT_MIRROR = "http://deb.debian.org/debian-security"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cocusctl" / "debian-security"


class DebianSecuritySuite:
    def __init__(
        self,
        mirror: str = DEFAULT_MIRROR,
        *,
        cache_dir: Path | None = None,
        keyring: Path = DEBIAN_KEYRING,
        timeout: float = 60.0,
    ) -> None:
        self.mirror = mirror.rstrip("/")
        self.cache_dir = cache_dir or default_cache_dir()
        self.keyring = keyring
        self.timeout = timeout

    def index(self, codename: str, arch: str) -> SuiteIndex:
        suite = f"{codename}-security"
        release = self._get(f"{self.mirror}/dists/{suite}/InRelease")
        verified = self._verify(release)
        text = release.decode("utf-8", errors="replace")
        member = f"main/binary-{arch}/Packages.xz"
        digest = _sha256_of(text, member)
        if digest is None:
            raise CloudApiError(f"{suite}/InRelease lists no SHA256 for {member}")
        cached = self.cache_dir / f"{suite}-{arch}.json"
        if cached.is_file():
            data = json.loads(cached.read_text(encoding="utf-8"))
            if data.get("packages_sha256") == digest and data.get("signature_verified") == verified:
                return SuiteIndex.model_validate(data["index"])
        packages_xz = self._get(f"{self.mirror}/dists/{suite}/{member}")
        if hashlib.sha256(packages_xz).hexdigest() != digest:
            raise CloudApiError(f"{suite}/{member} does not match the SHA256 in its InRelease")
        index = SuiteIndex(
            suite=suite,
            date=_field(text, "Date"),
            signature_verified=verified,
            versions=parse_packages(lzma.decompress(packages_xz).decode("utf-8", errors="replace")),
        )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"packages_sha256": digest, "signature_verified": verified, "index": index.model_dump()}),
            encoding="utf-8",
        )
        tmp.replace(cached)
        return index

    def _get(self, url: str) -> bytes:
        import httpx

        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise NotAvailableError(f"{url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise NotAvailableError(f"{url} answered HTTP {response.status_code}")
        return response.content

    def _verify(self, signed: bytes) -> bool:
        """True when gpgv accepts the InRelease signature; False when gpgv or the keyring is missing.
        A signature that is present but wrong is an error, never a silent False."""
        gpgv = shutil.which("gpgv")
        if gpgv is None or not self.keyring.is_file():
            return False
        with tempfile.NamedTemporaryFile(suffix=".InRelease") as tmp:
            tmp.write(signed)
            tmp.flush()
            proc = subprocess.run(
                [gpgv, "--keyring", str(self.keyring), tmp.name], capture_output=True, text=True, timeout=60
            )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise CloudApiError(f"the security suite's InRelease signature is not valid: {last}")
        return True


def parse_packages(text: str) -> dict[str, str]:
    """Package → Version from a Debian `Packages` file (the highest version where a package repeats)."""
    from debian.debian_support import Version

    versions: dict[str, str] = {}
    for stanza in text.split("\n\n"):
        name = _field(stanza, "Package")
        version = _field(stanza, "Version")
        if name and version and (name not in versions or Version(versions[name]) < Version(version)):
            versions[name] = version
    return versions


def _field(text: str, name: str) -> str:
    match = re.search(rf"^{name}: *(.+)$", text, re.M)
    return match.group(1).strip() if match else ""


def _sha256_of(release: str, member: str) -> str | None:
    """The SHA256 that an InRelease's `SHA256:` section gives for one of its files."""
    section = re.search(r"^SHA256:\n((?: .*\n?)+)", release, re.M)
    if section is None:
        return None
    for line in section.group(1).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == member:
            return parts[0]
    return None
