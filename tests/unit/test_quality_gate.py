"""The quality gate: loading the eval set, the verdict, and where the deployer runs it (in-memory Cloud Run)."""

from __future__ import annotations

import json

import pytest

from cocusctl.core.cloudrun.deploy import Deployer
from cocusctl.core.errors import ConfigError
from cocusctl.core.quality_gate import (
    BASELINE_TAG,
    EvalQuestion,
    QualityGate,
    QualityGateFailed,
    QualityGateSettings,
    QualitySample,
    ServiceQueryClient,
    compare,
    load_questions,
    prepare_gate,
)
from cocusctl.core.reporting import RecordingReporter
from tests.support.memory_cloudrun import GOOD, GOOD2, InMemoryCloudRun
from tests.unit.test_cloudrun_deploy import _deploy, _plan

QUESTIONS = [EvalQuestion(f"q{i}", f"question {i}", (f"doc{i}.html",)) for i in range(10)]


def sample(recall: float, mrr: float, p95: float, revision: str = "r") -> QualitySample:
    return QualitySample(revision=revision, url="http://x", questions=10, failed_requests=0, recall_at_k=recall,
                         mrr=mrr, p95_ms=p95)


def test_compare_with_the_serving_revision() -> None:
    s = QualityGateSettings()
    same = compare(sample(0.9, 0.7, 40), sample(0.9, 0.7, 40), s, 5)
    assert same.verdict == "pass" and same.compared_with == "serving revision"
    worse = compare(sample(0.8, 0.7, 40), sample(0.9, 0.7, 40), s, 5)
    assert worse.verdict == "fail" and "recall@5 0.800 vs serving 0.900 (min 0.880)" in worse.summary()
    assert compare(sample(0.9, 0.6, 40), sample(0.9, 0.7, 40), s, 5).verdict == "fail"
    # p95 must exceed both +50 % and +50 ms to fail: 40 -> 85 ms passes, 40 -> 95 ms fails
    assert compare(sample(0.9, 0.7, 85), sample(0.9, 0.7, 40), s, 5).verdict == "pass"
    slow = compare(sample(0.9, 0.7, 95), sample(0.9, 0.7, 40), s, 5)
    assert slow.verdict == "fail" and [c.metric for c in slow.checks if not c.passed] == ["p95_ms"]
    assert compare(sample(0.88, 0.68, 40), sample(0.9, 0.7, 40), s, 5).verdict == "pass"  # within tolerance


def test_compare_with_thresholds_on_a_first_deploy() -> None:
    s = QualityGateSettings(min_recall=0.85, min_mrr=0.6, max_p95_ms=200)
    assert compare(sample(0.9, 0.7, 40), None, s, 5).compared_with == "thresholds"
    assert compare(sample(0.9, 0.7, 40), None, s, 5).verdict == "pass"
    assert compare(sample(0.8, 0.7, 40), None, s, 5).verdict == "fail"
    assert compare(sample(0.9, 0.7, 250), None, s, 5).verdict == "fail"


def test_eval_files_errors_name_the_file_and_line(tmp_path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text(json.dumps({"id": "a", "question": "x?", "sources": ["d.html"]}) + "\n\n")
    assert load_questions([good]) == [EvalQuestion("a", "x?", ("d.html",))]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "x?"}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:1 is not a question line"):
        load_questions([bad])
    with pytest.raises(ConfigError, match="cannot read"):
        load_questions([tmp_path / "missing.jsonl"])


class ServiceAnswers:
    """The /v1/query and /version answers of each revision, keyed by its tag URL (the in-memory API's)."""

    def __init__(self, api: InMemoryCloudRun, quality: dict[str, float]) -> None:
        self.api = api
        self.quality = quality  # revision -> share of questions answered with the right document first
        self.asked: list[tuple[str, str]] = []

    def __call__(self, method, url, *, json_body=None, timeout=10.0, headers=None):
        tag = url.split("//tag-", 1)[1].split("/", 1)[0]
        revision = next(t.revision for t in self.api.traffic if t.tag == tag)
        if url.endswith("/version"):
            return 200, {"index_version": f"idx-{revision[-4:]}", "embedding_model": "m@abc"}
        self.asked.append((revision, json_body["question"]))
        n = int(json_body["question"].split()[-1])
        right = n < self.quality[revision] * len(QUESTIONS)
        return 200, {"sources": [{"id": f"doc{n}.html" if right else "other.html"}]}


def gated_deploy(api: InMemoryCloudRun, answers: ServiceAnswers, image: str):
    gate = QualityGate(ServiceQueryClient(answers, "key"), QualityGateSettings(min_recall=0.5, min_mrr=0.5),
                       QUESTIONS)
    return Deployer(api, RecordingReporter(), sleep=lambda s: None, gate=gate).deploy(_plan(image))


def test_a_worse_candidate_is_blocked_and_traffic_stays() -> None:
    api = InMemoryCloudRun()
    first = _deploy(api, GOOD)
    before = list(api.traffic)
    candidate = _plan(GOOD2).spec.revision
    answers = ServiceAnswers(api, {first.revision: 1.0, candidate: 0.6})
    with pytest.raises(QualityGateFailed) as err:
        gated_deploy(api, answers, GOOD2)
    assert err.value.exit_code == 11 and "quality gate failed" in err.value.message
    assert "previous traffic restored" in err.value.message
    assert api.traffic == before  # restored exactly: no candidate, no baseline tag
    result = err.value.result
    assert result.outcome == "failed" and result.steps == ["candidate", "smoke"]
    gate = result.quality_gate
    assert gate.verdict == "fail" and gate.compared_with == "serving revision"
    assert (gate.candidate.recall_at_k, gate.baseline.recall_at_k) == (0.6, 1.0)
    assert gate.candidate.revision == candidate and gate.baseline.revision == first.revision
    assert gate.candidate.index_version == f"idx-{candidate[-4:]}"
    # both sides were asked every question; the baseline through its own tag, with no traffic change
    assert sorted({r for r, _ in answers.asked}) == sorted({first.revision, candidate})
    assert api.updates[0][-1].tag == BASELINE_TAG and api.updates[0][-1].percent == 0


def test_an_equal_candidate_passes_and_the_baseline_tag_goes_away() -> None:
    api = InMemoryCloudRun()
    first = _deploy(api, GOOD)
    candidate = _plan(GOOD2).spec.revision
    result = gated_deploy(api, ServiceAnswers(api, {first.revision: 0.8, candidate: 0.8}), GOOD2)
    assert result.outcome == "deployed" and result.steps == ["candidate", "smoke", "quality-gate", "100"]
    assert result.quality_gate.verdict == "pass"
    assert BASELINE_TAG not in {t.tag for t in api.traffic}


def test_first_deploy_uses_thresholds_and_removes_a_failing_service() -> None:
    api = InMemoryCloudRun()
    revision = _plan(GOOD).spec.revision
    with pytest.raises(QualityGateFailed) as err:
        gated_deploy(api, ServiceAnswers(api, {revision: 0.3}), GOOD)
    assert not api.exists
    result = err.value.result
    assert result.quality_gate.compared_with == "thresholds" and result.traffic_after == [] and result.url == ""
    ok = gated_deploy(api, ServiceAnswers(api, {revision: 0.9}), GOOD)
    assert ok.quality_gate.verdict == "pass" and ok.steps == ["create", "smoke", "quality-gate", "100"]


def test_skipping_is_recorded(tmp_path) -> None:
    reporter = RecordingReporter()
    request = prepare_gate(QualityGateSettings(), lambda p: tmp_path / p, skip=True, reporter=reporter)
    client = ServiceQueryClient(lambda *a, **k: (0, None), None)
    assert request.gate_for(client) is None and request.skipped.reason == "--skip-quality-gate"
    deployed = Deployer(InMemoryCloudRun(), reporter, gate=None, gate_result=request.skipped).deploy(_plan(GOOD))
    assert deployed.quality_gate.verdict == "skipped"
    off = prepare_gate(QualityGateSettings(enabled=False), lambda p: p, skip=False, reporter=reporter)
    assert off.gate_for(client) is None and off.skipped.reason == "quality_gate.enabled is false"
    with pytest.raises(ConfigError, match="cannot read"):  # a gate that will run needs its questions now
        prepare_gate(QualityGateSettings(), lambda p: tmp_path / p, skip=False, reporter=reporter)
    (tmp_path / "service/eval").mkdir(parents=True)
    for name in ("questions", "paraphrased_heldout"):
        (tmp_path / f"service/eval/{name}.jsonl").write_text(json.dumps({"id": name, "question": "q?",
                                                                          "sources": ["d"]}) + "\n")
    ready = prepare_gate(QualityGateSettings(), lambda p: tmp_path / p, skip=False, reporter=reporter)
    assert ready.skipped is None and len(ready.questions) == 2 and ready.gate_for(client) is not None
