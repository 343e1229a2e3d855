"""The release views print what changed in words a user expects."""

from __future__ import annotations

import io

from rich.console import Console

from cocusctl.cli.views.release import deploy_view
from cocusctl.core.release.results import DeployResult, TrafficRow


def rendered(result: DeployResult) -> str:
    out = io.StringIO()
    deploy_view(Console(file=out, width=100, no_color=True), result)
    return out.getvalue()


def deploy(before: list[TrafficRow]) -> DeployResult:
    after = [TrafficRow(revision="cocus-rag-00002-abc", percent=100)]
    return DeployResult(
        environment="local-staging", service="cocus-rag", revision="cocus-rag-00002-abc",
        image="127.0.0.1:5000/x/cocus-rag", digest="sha256:" + "a" * 64, created=True, changed=True,
        strategy="all", url="http://127.0.0.1:1", traffic_before=before, traffic_after=after,
    )


def test_first_deploy_says_there_was_no_traffic_before() -> None:
    text = rendered(deploy([]))
    assert "traffic before: none (first deploy)" in text
    assert "cocus-rag-00002-abc" in text.split("traffic before: none (first deploy)")[1]


def test_later_deploy_shows_the_traffic_before_as_a_table() -> None:
    text = rendered(deploy([TrafficRow(revision="cocus-rag-00001-xyz", percent=100)]))
    assert "first deploy" not in text
    assert "traffic before" in text and "cocus-rag-00001-xyz" in text
