"""The generated Grafana dashboards: schema round-trip, identifiers, data source, and the metrics they use."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from cocusctl.core.observability.assets import DASHBOARDS_DIR, RULES_PATH
from cocusctl.core.observability.dashboards import dashboards
from cocusctl.core.observability.slo import OBSERVABILITY_DIR, load_slo

FILES = sorted((OBSERVABILITY_DIR / DASHBOARDS_DIR).glob("*.json"))
# Exported by programs other than the service and the emulator: node-exporter, kube-state-metrics.
OTHER_EXPORTERS = ("node_", "kube_")
NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
               "offset"}


def _load(path):
    return json.loads(path.read_text())


def _panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_there_is_an_infrastructure_and_a_rag_dashboard():
    assert [p.name for p in FILES] == ["cocus-infra.json", "cocus-rag.json"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_json_round_trips_through_the_grafana_11_schema(path):
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    board = _load(path)
    model = Dashboard.from_json(board)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == board
    assert board["schemaVersion"] >= 39  # Grafana 11


def test_uids_and_panel_ids_are_unique():
    boards = [_load(p) for p in FILES]
    uids = [b["uid"] for b in boards]
    assert len(set(uids)) == len(uids)
    for board in boards:
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids) and 0 not in ids, board["uid"]
        for panel in _panels(board):
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs) and all(refs), panel["title"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_query_goes_through_the_datasource_variable(path):
    board = _load(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ref = {"type": "prometheus", "uid": "${datasource}"}
    assert all(v["datasource"] == ref for v in variables.values() if v["type"] == "query")
    for panel in _panels(board):
        assert panel["datasource"] == ref, panel["title"]
        assert panel["targets"], panel["title"]
    assert {"namespace", "service", "revision"} <= set(variables)


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: strings, selectors, ranges and grouping clauses removed."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        if not text[m.end():].lstrip().startswith("(") and m[0] not in NOT_METRICS:  # not a function call
            names.add(m[0])
    return names


def _exported() -> set[str]:
    """Every series name the service's registry can export (labelled metrics have no sample until used)."""
    from cocus_rag.metrics import Metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "info": ("_info",),
                "gauge": ("",)}
    return {f.name + s for f in Metrics().registry.collect() for s in suffixes[f.type]}


def test_every_metric_exists():
    """Each name is exported by the service, recorded by the rules, or by a named exporter (no typos)."""
    from cocusctl.emulator.monitoring import METRICS as EMULATOR_METRICS

    exported = _exported() | set(EMULATOR_METRICS) | {"up"}
    rules = yaml.safe_load((OBSERVABILITY_DIR / RULES_PATH).read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    used = {name for d in dashboards(load_slo()) for _, expr in d.expressions() for name in _metric_names(expr)}
    used |= {name for g in rules["groups"] for r in g["rules"] for name in _metric_names(r["expr"])}
    unknown = {n for n in used - exported - recorded if not n.startswith(OTHER_EXPORTERS)}
    assert not unknown
    assert {"cocus_http_request_duration_seconds_bucket", "process_cpu_seconds_total",
            "cocus:slo_errors:ratio_rate1h"} <= used


def test_the_metric_name_parser():
    assert _metric_names('sum by (le) (rate(a_b{x="y"}[5m])) / ignoring(revision) group_left c:d:e') == {
        "a_b", "c:d:e"}
