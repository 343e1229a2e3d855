"""Views of the release commands (deploy, split-traffic, rollback, promote, status): target-neutral results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cocusctl.core.release.results import DeployResult, PromoteResult, StatusResult, TrafficResult, TrafficRow


def _short_digest(digest: str | None) -> str:
    """The first 12 hex digits, as `docker images` shows ids; JSON output has the full digest and times."""
    return digest.removeprefix("sha256:")[:12] if digest else ""


def traffic_table(console: Console, title: str, rows: list[TrafficRow], *, empty: str = "none") -> None:
    from rich.table import Table

    if not rows:
        console.print(f"{title}: {empty}")
        return
    table = Table(title=title, title_justify="left")
    table.add_column("revision", no_wrap=True)
    table.add_column("percent", justify="right")
    table.add_column("tag")
    table.add_column("url")
    for r in rows:
        table.add_row(r.revision, f"{r.percent}%", r.tag or "", r.url or "")
    console.print(table)


def deploy_view(console: Console, r: DeployResult) -> None:
    state = "new revision" if r.created else "existing revision"
    headline = {"deployed": "deployed", "unchanged": "already deployed, nothing changed",
                "failed": "FAILED, previous traffic restored"}[r.outcome]
    console.print(f"{r.service} ({r.environment}): {headline}; {state} {r.revision}, digest {r.digest}",
                  markup=False)
    console.print(f"url: {r.url}" + (f"   candidate: {r.candidate_url}" if r.candidate_url else ""))
    if r.infra is not None:
        console.print(f"infra: {r.infra.describe()}", markup=False)
    if r.quality_gate is not None:
        gate = r.quality_gate
        console.print(f"quality gate: {gate.verdict}" + (f" ({gate.compared_with})" if gate.verdict != "skipped"
                                                         else "") + f": {gate.summary()}", markup=False)
    traffic_table(console, "traffic before", r.traffic_before, empty="none (first deploy)")
    traffic_table(console, "traffic after", r.traffic_after)


def traffic_view(console: Console, r: TrafficResult) -> None:
    if not r.changed:
        console.print(f"{r.service} ({r.environment}): traffic unchanged")
    traffic_table(console, "traffic before", r.traffic_before)
    traffic_table(console, "traffic after", r.traffic_after)


def promote_view(console: Console, r: PromoteResult) -> None:
    console.print(f"promoted {r.digest} from {r.source_environment} ({r.source_revision}) "
                  f"to {r.target_environment}: {r.target_image}")
    for d in r.differences:
        console.print(f"  differs: {d}")
    deploy_view(console, r.deploy)


def status_view(console: Console, r: StatusResult) -> None:
    from rich.table import Table

    if not r.exists:
        console.print(f"{r.service} ({r.environment}, {r.target}): not deployed")
        return
    ready = {True: "ready", False: "NOT READY", None: "reconciling"}[r.ready]
    console.print(f"{r.service} ({r.environment}, {r.target}): {ready}  {r.url}")
    for c in r.conditions:
        if c.state != "SUCCEEDED" and c.message:
            console.print(f"  {c.type}: {c.state}: {c.message.splitlines()[0]}")
    table = Table(title="revisions", title_justify="left")
    table.add_column("revision", no_wrap=True, min_width=max((len(rev.name) for rev in r.revisions), default=8))
    for col in ("ready", "traffic", "tags"):
        table.add_column(col, no_wrap=True)
    table.add_column("digest", no_wrap=True)
    table.add_column("reqs", justify="right")
    for rev in r.revisions:
        table.add_row(
            rev.name, {True: "yes", False: "FAILED", None: "..."}[rev.ready], f"{rev.percent}%",
            ",".join(rev.tags), _short_digest(rev.digest) or rev.image,
            "" if rev.requests is None else str(rev.requests),
        )
    console.print(table)
    # Below the table, not a column of it: a model id is ~40 characters, and in 80 columns (a pipe, a log)
    # Rich would squeeze the other columns to nothing to fit it.
    if any(rev.index_version for rev in r.revisions):
        console.print("index / model")
        for rev in r.revisions:
            console.print(f"  {rev.name}  {rev.index_version or '-'} / {rev.embedding_model or '-'}", soft_wrap=True)
    traffic_table(console, "traffic", r.traffic)
    if r.monitoring:
        console.print("monitoring: " + "  ".join(f"{k} {v}" for k, v in r.monitoring.items()))
