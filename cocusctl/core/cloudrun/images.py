"""Image references: `REGISTRY/REPOSITORY@sha256:<64 hex>` only — deploys are pinned to digests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cocusctl.core.errors import UsageError

REF_RE = re.compile(
    r"^(?P<registry>[A-Za-z0-9.-]+(:\d{1,5})?)/(?P<repository>[a-z0-9]+([._/-][a-z0-9]+)*)"
    r"(:(?P<tag>[\w][\w.-]{0,127}))?@(?P<digest>sha256:[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


def parse_image_ref(ref: str) -> ImageRef:
    m = REF_RE.match(ref.strip())
    if not m:
        raise UsageError(
            f"malformed image reference {ref!r}: expected REGISTRY/REPOSITORY@sha256:<64 hex digits>",
            hint="deploys are pinned to digests; `cocusctl build` prints the pushed reference",
        )
    return ImageRef(m["registry"], m["repository"], m["digest"])


def image_from_last_build(path: Path) -> ImageRef:
    if not path.exists():
        raise UsageError(f"no --image given and no last build at {path}", hint="run `cocusctl build` first")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the last build record {path}: {exc}") from None
    ref = data.get("pushed_ref") or ""
    if not ref:
        raise UsageError(f"the last build ({path}) was not pushed", hint="run `cocusctl build --push`")
    return parse_image_ref(ref)
