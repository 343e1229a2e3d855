"""Traffic math and validation of the Cloud Run lifecycle (pure functions, no I/O)."""

from __future__ import annotations

import pytest

from cocusctl.core.cloudrun import traffic as tr
from cocusctl.core.cloudrun.deploy import revision_name
from cocusctl.core.cloudrun.model import RevisionInfo, RevisionSpec, ServiceState, TrafficEntry, TrafficStatus
from cocusctl.core.config import RevisionSettings
from cocusctl.core.errors import UsageError
from cocusctl.core.images import ImageRef

T = TrafficEntry
DIGEST = "sha256:" + "ab" * 32


def _state(*statuses: TrafficStatus) -> ServiceState:
    return ServiceState(name="s", uri="http://x", traffic=(), statuses=statuses, latest_ready="s-b",
                        latest_created="s-b", ready=True)


def _rev(name: str, ready: bool | None = True) -> RevisionInfo:
    return RevisionInfo(name=name, image=f"r/x@{DIGEST}", created="", ready=ready)


@pytest.mark.parametrize("percent,expected", [
    (10, [T("a", 63), T("b", 27, "blue"), T("n", 10, "candidate")]),
    (50, [T("a", 35), T("b", 15, "blue"), T("n", 50, "candidate")]),
    (100, [T("n", 100, "candidate"), T("b", 0, "blue")]),
])
def test_shift_scales_the_previous_split_and_keeps_tags(percent, expected):
    before = [T("a", 70), T("b", 30, "blue"), T("c", 0, "candidate")]
    got = tr.shift(tr.without_tag(before, "candidate"), "n", percent, "candidate")
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert sum(e.percent for e in got) == 100


def test_shift_with_largest_remainder_always_sums_to_100():
    before = [T("a", 33), T("b", 33), T("c", 34)]
    for p in range(0, 101):
        assert sum(e.percent for e in tr.shift(before, "n", p, "")) == 100


@pytest.mark.parametrize("args,message", [
    ([], "no traffic given"),
    (["a=90", "b=5"], "must sum to 100, got 95"),
    (["a=90.5", "b=9.5"], "whole number"),
    (["a=-10", "b=110"], "whole number"),
    (["a=150"], "from 0 to 100"),
    (["a:50", "b=50"], "malformed traffic assignment"),
    (["a=50", "a=50"], "more than once"),
])
def test_parse_assignments_rejects_bad_input(args, message):
    with pytest.raises(UsageError, match=message):
        tr.parse_assignments(args)


def test_resolve_by_name_tag_and_latest():
    state = _state(TrafficStatus("s-a", 100), TrafficStatus("s-b", 0, "candidate", "http://t"))
    revs = {"s-a": _rev("s-a"), "s-b": _rev("s-b"), "s-c": _rev("s-c", ready=False)}
    got = tr.resolve_assignments([("s-a", 90), ("candidate", 10)], state, revs)
    assert got == [T("s-a", 90), T("s-b", 10, "candidate")]
    assert tr.resolve_assignments([("LATEST", 100)], state, revs) == [T("s-b", 100, "candidate")]
    with pytest.raises(UsageError, match="not ready"):
        tr.resolve_assignments([("s-c", 100)], state, revs)
    with pytest.raises(UsageError, match="unknown revision or tag 'zz'"):
        tr.resolve_assignments([("zz", 100)], state, revs)


def test_validate_mirrors_cloud_run_rules():
    revs = {"a": _rev("a"), "b": _rev("b"), "bad": _rev("bad", ready=False)}
    tr.validate([T("a", 90), T("b", 10, "blue")], revs)
    with pytest.raises(UsageError, match="unique"):
        tr.validate([T("a", 50, "x"), T("b", 50, "x")], revs)
    with pytest.raises(UsageError, match="sum to 100"):
        tr.validate([T("a", 50)], revs)
    with pytest.raises(UsageError, match="does not exist"):
        tr.validate([T("zz", 100)], revs)
    with pytest.raises(UsageError, match="not ready"):
        tr.validate([T("bad", 100)], revs)
    with pytest.raises(UsageError, match="invalid"):
        tr.validate([T("a", 100, "Bad_Tag")], revs)
    tr.validate([T("a", 100), T("new", 0, "candidate")], revs, creating="new")


def test_revision_name_is_deterministic_from_digest_and_config():
    spec = RevisionSpec.of("", f"127.0.0.1:5000/x@{DIGEST}", RevisionSettings())
    name = revision_name("cocus-rag", spec)
    assert name == revision_name("cocus-rag", spec)
    assert name.startswith("cocus-rag-abababa-") and len(name) <= 63
    assert revision_name("cocus-rag", RevisionSpec.of("", spec.image, RevisionSettings(memory="2Gi"))) != name
    other = RevisionSpec.of("", "127.0.0.1:5000/x@sha256:" + "cd" * 32, RevisionSettings())
    assert revision_name("cocus-rag", other) != name
    assert len(revision_name("s" * 49, spec)) <= 63


@pytest.mark.parametrize("ref", [
    "cocus-rag:latest", "127.0.0.1:5000/x@sha256:1234", "127.0.0.1:5000/X@" + DIGEST, "x@" + DIGEST, "",
])
def test_image_refs_must_be_pinned_by_digest(ref):
    with pytest.raises(UsageError, match="malformed image reference"):
        ImageRef.pinned(ref)


def test_image_ref_with_tag_and_digest():
    ref = ImageRef.pinned(f"europe-west1-docker.pkg.dev/p/repo/cocus-rag:v1@{DIGEST}")
    assert (ref.registry, ref.repository, ref.digest) == ("europe-west1-docker.pkg.dev", "p/repo/cocus-rag", DIGEST)
    assert ref.ref == f"europe-west1-docker.pkg.dev/p/repo/cocus-rag@{DIGEST}"
