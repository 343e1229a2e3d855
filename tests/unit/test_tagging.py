"""Tags and OCI label values from a real git repository made in a temp folder."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cocusctl.core.errors import UsageError
from cocusctl.core.tagging import (
    SourceInfo,
    build_date,
    image_tags,
    oci_build_args,
    source_info,
    strip_credentials,
    validate_tag,
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": "2026-03-04T05:06:07+02:00",
    "GIT_COMMITTER_DATE": "2026-03-04T05:06:07+02:00",
}


def git(repo: Path, *args: str) -> str:
    import os

    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "app.py").write_text("print('hi')\n")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_clean_tree_tags_with_the_short_sha(repo: Path) -> None:
    info = source_info(repo)
    assert info.revision == git(repo, "rev-parse", "HEAD")
    assert info.short_sha == git(repo, "rev-parse", "--short", "HEAD")
    assert info.dirty is False
    assert info.primary_tag == info.short_sha
    assert info.version == info.short_sha  # no git tags yet: describe --always gives the SHA
    assert image_tags(info, ["v1", info.short_sha]) == [info.short_sha, "v1"]


def test_modified_tracked_file_marks_the_tree_dirty(repo: Path) -> None:
    (repo / "app.py").write_text("print('changed')\n")
    info = source_info(repo)
    assert info.dirty is True
    assert info.primary_tag == f"{info.short_sha}-dirty"
    assert info.version == f"{info.short_sha}-dirty"


def test_untracked_files_do_not_mark_it_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    assert source_info(repo).dirty is False


def test_git_tag_becomes_the_version_and_remote_loses_credentials(repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    git(repo, "remote", "add", "origin", "https://bot:s3cr3t@git.example.invalid/acme/cocus.git")
    info = source_info(repo)
    assert info.version == "v1.2.3"
    assert info.source_url == "https://git.example.invalid/acme/cocus.git"
    assert "s3cr3t" not in str(oci_build_args(info, ["x"]))


def test_build_date_is_the_commit_time_for_a_clean_tree(repo: Path) -> None:
    info = source_info(repo)
    assert build_date(info) == "2026-03-04T03:06:07Z"
    dirty = SourceInfo(**{**info.__dict__, "dirty": True})
    now = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert build_date(dirty, now) == "2026-05-06T07:08:09Z"
    args = oci_build_args(info, [info.short_sha])
    assert args == {"VCS_REF": info.revision, "BUILD_DATE": "2026-03-04T03:06:07Z", "VERSION": info.short_sha}


def test_outside_git_only_explicit_tags_work(tmp_path: Path) -> None:
    info = source_info(tmp_path)
    assert info == SourceInfo()
    assert image_tags(info, ["manual"]) == ["manual"]
    with pytest.raises(UsageError, match="no commit tag"):
        image_tags(info, [])
    assert oci_build_args(info, ["manual"])["VCS_REF"] == "unknown"


@pytest.mark.parametrize("bad", ["-x", ".x", "a b", "a:b", "x" * 129, "", "é"])
def test_bad_tags_are_rejected(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid tag"):
        validate_tag(bad)


def test_good_tags_pass() -> None:
    for tag in ["v1.2.3", "release_2026-01", "A" * 128, "_x"]:
        assert validate_tag(tag) == tag


def test_strip_credentials_keeps_other_urls() -> None:
    assert strip_credentials("git@github.com:acme/x.git") == "git@github.com:acme/x.git"
    assert strip_credentials("https://git.example.invalid/x.git") == "https://git.example.invalid/x.git"
    assert strip_credentials("https://tok@h.example.invalid:8443/x") == "https://h.example.invalid:8443/x"
