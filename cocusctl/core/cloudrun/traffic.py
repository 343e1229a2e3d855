"""Traffic math and validation, done before anything is touched (Cloud Run's rules, client side)."""

from __future__ import annotations

import re

from cocusctl.core.cloudrun.model import RevisionInfo, ServiceState, TrafficEntry
from cocusctl.core.config.base import TRAFFIC_TAG
from cocusctl.core.errors import UsageError
from cocusctl.core.release.results import TrafficRow

TAG_RE = re.compile(TRAFFIC_TAG)
ASSIGNMENT_RE = re.compile(r"^(?P<key>[^=\s]+)=(?P<percent>[^=\s]*)$")


def parse_assignments(args: list[str]) -> list[tuple[str, int]]:
    """`REV=90 TAG=10 LATEST=0` -> [(key, percent)], with one clear error for anything malformed."""
    if not args:
        raise UsageError("no traffic given: pass REVISION=PERCENT pairs (or --to-latest)")
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for arg in args:
        m = ASSIGNMENT_RE.match(arg)
        if not m:
            raise UsageError(f"malformed traffic assignment {arg!r}: expected REVISION=PERCENT (or TAG=PERCENT)")
        key, raw = m["key"], m["percent"]
        if not raw.isdigit():
            raise UsageError(f"traffic percent for {key!r} must be a whole number from 0 to 100, got {raw!r}")
        percent = int(raw)
        if percent > 100:
            raise UsageError(f"traffic percent for {key!r} must be a whole number from 0 to 100, got {percent}")
        if key in seen:
            raise UsageError(f"{key!r} is given more than once")
        seen.add(key)
        out.append((key, percent))
    total = sum(p for _, p in out)
    if total != 100:
        raise UsageError(f"traffic percentages must sum to 100, got {total}")
    return out


def resolve_assignments(
    assignments: list[tuple[str, int]], state: ServiceState, revisions: dict[str, RevisionInfo]
) -> list[TrafficEntry]:
    """Turn keys into revisions (a revision name, a tag, or LATEST); keep the existing tags."""
    tags = {s.tag: s.revision for s in state.statuses if s.tag}
    percents: dict[str, int] = {}
    for key, percent in assignments:
        if key in revisions:
            rev = key
        elif key in tags:
            rev = tags[key]
        elif key.upper() == "LATEST":
            rev = state.latest_ready
            if not rev:
                raise UsageError("LATEST has no ready revision to resolve to")
        else:
            raise UsageError(f"unknown revision or tag {key!r} (revisions: {', '.join(sorted(revisions))})")
        info = revisions.get(rev)
        if info is None:
            raise UsageError(f"revision {rev!r} does not exist")
        if info.ready is not True:
            raise UsageError(f"revision {rev!r} is not ready and cannot receive traffic")
        percents[rev] = percents.get(rev, 0) + percent
    return with_tags(percents, state)


def with_tags(percents: dict[str, int], state: ServiceState) -> list[TrafficEntry]:
    """Entries for `percents`, carrying over every existing tag (tagged revisions stay addressable)."""
    entries: list[TrafficEntry] = []
    tagged: dict[str, list[str]] = {}
    for s in state.statuses:
        if s.tag:
            tagged.setdefault(s.revision, []).append(s.tag)
    for rev, percent in percents.items():
        rev_tags = tagged.pop(rev, [])
        entries.append(TrafficEntry(rev, percent, rev_tags[0] if rev_tags else ""))
        entries.extend(TrafficEntry(rev, 0, t) for t in rev_tags[1:])
    for rev, rev_tags in tagged.items():
        entries.extend(TrafficEntry(rev, 0, t) for t in rev_tags)
    return [e for e in entries if e.percent or e.tag]


def validate(traffic: list[TrafficEntry], revisions: dict[str, RevisionInfo], *, creating: str = "") -> None:
    """Cloud Run's rules: whole percents 0..100 summing to 100, revisions exist and are ready, unique tags."""
    tags: set[str] = set()
    for t in traffic:
        if not 0 <= t.percent <= 100:
            raise UsageError(f"traffic percent for {t.label()} must be between 0 and 100, got {t.percent}")
        if t.revision is not None and t.revision != creating:
            info = revisions.get(t.revision)
            if info is None:
                raise UsageError(f"revision {t.revision!r} does not exist")
            if info.ready is False:
                raise UsageError(f"revision {t.revision!r} is not ready and cannot receive traffic")
        if t.tag:
            if not TAG_RE.match(t.tag):
                raise UsageError(f"tag {t.tag!r} is invalid (lowercase letters, digits, '-'; starts with a letter)")
            if t.tag in tags:
                raise UsageError(f"tag {t.tag!r} is used more than once; tags must be unique")
            tags.add(t.tag)
    total = sum(t.percent for t in traffic)
    if total != 100:
        raise UsageError(f"traffic percentages must sum to 100, got {total}")


def shift(before: list[TrafficEntry], revision: str, percent: int, tag: str) -> list[TrafficEntry]:
    """`percent` to `revision`; the rest of the previous split scaled down proportionally (largest remainder).

    Tags of the previous entries are kept (at 0 % when their share scales to nothing); `tag` moves to
    `revision` (and is removed from wherever it was).
    """
    rest = 100 - percent
    prev = [TrafficEntry(t.revision, t.percent, "" if t.tag == tag else t.tag) for t in before
            if t.revision != revision]
    weights = [t.percent for t in prev]
    total = sum(weights)
    shares = [0] * len(prev)
    if total and rest:
        exact = [w * rest / total for w in weights]
        shares = [int(x) for x in exact]
        order = sorted(range(len(prev)), key=lambda i: exact[i] - shares[i], reverse=True)
        for i in order[: rest - sum(shares)]:
            shares[i] += 1
    elif rest:
        raise UsageError("no previous traffic to keep the remaining share")
    out = [TrafficEntry(t.revision, s, t.tag) for t, s in zip(prev, shares, strict=True) if s or t.tag]
    old_tags = [t.tag for t in before if t.revision == revision and t.tag and t.tag != tag]
    out.append(TrafficEntry(revision, percent, tag))
    out.extend(TrafficEntry(revision, 0, t) for t in old_tags)
    return _merge(out)


def _merge(entries: list[TrafficEntry]) -> list[TrafficEntry]:
    """Merge untagged entries of one revision (Cloud Run rejects duplicates without tags)."""
    merged: list[TrafficEntry] = []
    untagged: dict[str | None, int] = {}
    for e in entries:
        if e.tag:
            merged.append(e)
        else:
            untagged[e.revision] = untagged.get(e.revision, 0) + e.percent
    head = [TrafficEntry(rev, p) for rev, p in untagged.items() if p]
    return head + merged


def without_tag(entries: list[TrafficEntry], tag: str) -> list[TrafficEntry]:
    out = []
    for e in entries:
        if e.tag == tag:
            if e.percent:
                out.append(TrafficEntry(e.revision, e.percent))
        else:
            out.append(e)
    return out


def rows(entries: list[TrafficEntry] | tuple[TrafficEntry, ...], state: ServiceState | None = None) -> list[TrafficRow]:
    urls = {s.tag: s.url for s in state.statuses if s.tag} if state else {}
    return [TrafficRow(revision=e.label(), percent=e.percent, tag=e.tag or None, url=urls.get(e.tag) or None)
            for e in entries]


def status_rows(state: ServiceState) -> list[TrafficRow]:
    return [TrafficRow(revision=s.revision, percent=s.percent, tag=s.tag or None, url=s.url or None)
            for s in state.statuses]
