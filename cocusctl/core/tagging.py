"""Image tags and OCI label values from the git checkout.

The primary tag is the short commit SHA, with `-dirty` when tracked files differ from HEAD (the
`git describe --dirty` convention: untracked files do not count). `--tag` values are added after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cocusctl.core.errors import NotAvailableError, ToolError, UsageError
from cocusctl.core.images import TAG
from cocusctl.core.runner import run, which

# Docker's tag grammar: up to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'.
TAG_PATTERN = re.compile(rf"^{TAG}$")


@dataclass(frozen=True)
class SourceInfo:
    """What the build knows about its source tree."""

    revision: str | None = None  # full commit SHA
    short_sha: str | None = None
    dirty: bool = False
    committed_at: datetime | None = None
    version: str | None = None  # `git describe --tags --always --dirty`
    source_url: str | None = None  # remote.origin.url without credentials
    tags: list[str] = field(default_factory=list)

    @property
    def primary_tag(self) -> str | None:
        if self.short_sha is None:
            return None
        return f"{self.short_sha}-dirty" if self.dirty else self.short_sha


def validate_tag(tag: str) -> str:
    if not TAG_PATTERN.match(tag):
        raise UsageError(
            f"invalid tag {tag!r}: use up to 128 letters, digits, '_', '.', '-' (not starting with '.' or '-')"
        )
    return tag


def _git(root: Path, *args: str) -> str:
    return run(["git", "-C", str(root), *args], tool="git").stdout.strip()


def source_info(root: Path) -> SourceInfo:
    """Read revision, dirtiness, commit date, version and remote URL; empty info outside a git work tree."""
    if which("git") is None:
        return SourceInfo()
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree") == "true"
        revision = _git(root, "rev-parse", "--verify", "HEAD")
    except (ToolError, NotAvailableError):
        return SourceInfo()  # not a repository, or no commit yet
    if not inside:
        return SourceInfo()
    short_sha = _git(root, "rev-parse", "--short", "HEAD")
    # --untracked-files=no: the `git describe --dirty` convention; refresh the index stat info first.
    run(["git", "-C", str(root), "update-index", "-q", "--refresh"], tool="git", check=False)
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    committed_at = datetime.fromisoformat(_git(root, "log", "-1", "--format=%cI"))
    version = _git(root, "describe", "--tags", "--always", "--dirty")
    remote = run(["git", "-C", str(root), "config", "--get", "remote.origin.url"], tool="git", check=False)
    return SourceInfo(
        revision=revision,
        short_sha=short_sha,
        dirty=dirty,
        committed_at=committed_at,
        version=version,
        source_url=strip_credentials(remote.stdout.strip()) or None,
    )


def strip_credentials(url: str) -> str:
    """Drop `user:token@` from an https remote so no credential lands in an image label."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def image_tags(source: SourceInfo, extra: list[str]) -> list[str]:
    """The tags to apply: the commit tag first, then each `--tag`, without duplicates."""
    tags: list[str] = []
    for tag in ([source.primary_tag] if source.primary_tag else []) + list(extra):
        validate_tag(tag)
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise UsageError("not a git checkout with a commit, so there is no commit tag", hint="pass --tag TAG")
    return tags


def build_date(source: SourceInfo, now: datetime | None = None) -> str:
    """RFC 3339 UTC. A clean tree uses the commit time, so rebuilding a commit yields the same image."""
    when = source.committed_at if (source.committed_at and not source.dirty) else (now or datetime.now(UTC))
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def oci_build_args(source: SourceInfo, tags: list[str], now: datetime | None = None) -> dict[str, str]:
    """Build arguments the Dockerfile turns into OCI labels (revision, created, version, source)."""
    args = {
        "VCS_REF": source.revision or "unknown",
        "BUILD_DATE": build_date(source, now),
        "VERSION": source.version or tags[0],
    }
    if source.source_url:
        args["SOURCE_URL"] = source.source_url
    return args
