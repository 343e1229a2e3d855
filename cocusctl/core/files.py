"""Generated files: write them atomically, or only compare them with what is on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

FileStatus = Literal["created", "changed", "unchanged", "missing", "differs"]


def sync_file(path: Path, text: str, *, check: bool) -> FileStatus:
    """Write `text` to `path` unless it is already there; with `check`, write nothing and report."""
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if check:
        return "missing" if old is None else ("unchanged" if old == text else "differs")
    if old == text:
        return "unchanged"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return "created" if old is None else "changed"
