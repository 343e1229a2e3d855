"""Retrieval quality gate, target-neutral: before any traffic moves, run the service's eval set against the
candidate's no-traffic URL and compare recall@k, MRR and p95 latency with the revision serving now (or, on a
first deploy, with the thresholds in cocus.yaml).

The eval set is the service's own (`service/eval/*.jsonl`: question + source documents). A question counts at
rank r when the r-th source of the answer comes from one of its documents (the service's own metric). The
target's deployer calls `QualityGate.run`; a failed verdict raises `QualityGateFailed` (exit 11) and the
deployer leaves traffic as it was.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from cocusctl.core.errors import ConfigError, DeployError
from cocusctl.core.reporting import Reporter

BASELINE_TAG = "gate-baseline"


class QualityGateSettings(BaseModel):
    """`quality_gate:` of an environment in cocus.yaml."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(True, description="run the eval set against the candidate before traffic moves")
    eval_files: list[str] = Field(
        default_factory=lambda: ["service/eval/questions.jsonl", "service/eval/paraphrased_heldout.jsonl"],
        description="question files (JSON lines: question, sources), relative to cocus.yaml")
    top_k: int = Field(5, ge=1, le=20, description="sources asked for; recall is counted within them")
    max_recall_drop: float = Field(0.02, ge=0, le=1, description="fail when recall@k falls more than this")
    max_mrr_drop: float = Field(0.02, ge=0, le=1, description="fail when MRR falls more than this")
    max_p95_increase_ratio: float = Field(
        0.5, ge=0, description="fail when p95 latency exceeds the serving revision's by more than this share...")
    min_p95_delta_ms: float = Field(50.0, ge=0, description="...and by at least this many milliseconds")
    # First-deploy floors for the bundled service on its default eval set: its hybrid scores 0.96 / 0.85 there,
    # BM25 alone (dense retrieval off) 0.81 / 0.65 — a first deploy with a degraded index must not pass.
    min_recall: float = Field(0.9, ge=0, le=1, description="first deploy (nothing serving): minimum recall@k")
    min_mrr: float = Field(0.75, ge=0, le=1, description="first deploy: minimum MRR")
    max_p95_ms: float = Field(1000.0, gt=0, description="first deploy: maximum p95 latency")
    request_timeout_s: float = Field(30.0, gt=0, description="per question")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    sources: tuple[str, ...]


class QualitySample(BaseModel):
    """One revision's answers to the eval set."""

    revision: str
    url: str
    questions: int
    failed_requests: int = Field(description="answers other than HTTP 200 (counted as misses)")
    recall_at_k: float
    mrr: float
    p95_ms: float
    index_version: str | None = None
    embedding_model: str | None = None


class QualityCheck(BaseModel):
    metric: Literal["recall_at_k", "mrr", "p95_ms"]
    candidate: float
    baseline: float | None
    limit: float
    passed: bool
    detail: str


class QualityGateResult(BaseModel):
    verdict: Literal["pass", "fail", "skipped"]
    compared_with: Literal["serving revision", "thresholds", "nothing"]
    top_k: int
    candidate: QualitySample | None = None
    baseline: QualitySample | None = None
    checks: list[QualityCheck] = Field(default_factory=list)
    reason: str | None = Field(None, description="why the gate was skipped")

    def summary(self) -> str:
        if self.verdict == "skipped":
            return f"skipped: {self.reason}"
        shown = [c for c in self.checks if not c.passed] if self.verdict == "fail" else self.checks
        return "; ".join(c.detail for c in shown)


class QualityGateFailed(DeployError):
    """The candidate retrieves worse (or slower) than the serving revision; traffic stays where it was (exit 11)."""

    code = "quality_gate_failed"


class RagQueryClient(Protocol):
    """Asks a running service one question (the target supplies the transport: Cloud Run auth, port-forward…)."""

    def query(self, base_url: str, question: str, top_k: int, timeout: float) -> tuple[int, list[str]]:
        """HTTP status and the answer's source document ids, best first (empty unless 200)."""
        ...

    def version(self, base_url: str) -> dict:
        """GET /version (empty when it cannot be read)."""
        ...


class HttpJson(Protocol):
    def __call__(self, method: str, url: str, *, json_body: object | None = None, timeout: float = 10.0,
                 headers: dict[str, str] | None = None) -> tuple[int, object | None]: ...


class ServiceQueryClient:
    """`RagQueryClient` over a target's authenticated HTTP call (Cloud Run: the adapter's `http_json`)."""

    def __init__(self, http_json: HttpJson, api_key: str | None) -> None:
        self.http_json = http_json
        self.headers = {"X-API-Key": api_key} if api_key else {}

    def query(self, base_url: str, question: str, top_k: int, timeout: float) -> tuple[int, list[str]]:
        status, body = self.http_json("POST", base_url.rstrip("/") + "/v1/query",
                                      json_body={"question": question, "top_k": top_k}, timeout=timeout,
                                      headers=self.headers)
        if status != 200 or not isinstance(body, dict):
            return status, []
        return status, [str(s.get("id")) for s in body.get("sources", []) if isinstance(s, dict)]

    def version(self, base_url: str) -> dict:
        status, body = self.http_json("GET", base_url.rstrip("/") + "/version", timeout=10.0)
        return body if status == 200 and isinstance(body, dict) else {}


def load_questions(paths: Sequence[Path]) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    for path in paths:
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"quality_gate.eval_files: cannot read {path}: {exc.strerror}",
                              hint="point quality_gate.eval_files at the service's eval set, or set "
                                   "quality_gate.enabled: false for a service without one") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                questions.append(EvalQuestion(str(raw["id"]), str(raw["question"]), tuple(raw["sources"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"quality_gate.eval_files: {path}:{n} is not a question line "
                                  f"(id, question, sources): {exc}") from None
    if not questions:
        raise ConfigError("quality_gate.eval_files: no questions")
    return questions


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else 0.0


def measure(client: RagQueryClient, revision: str, base_url: str, questions: Sequence[EvalQuestion], top_k: int,
            timeout: float) -> QualitySample:
    hits = 0
    rr = 0.0
    failed = 0
    latencies: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        status, docs = client.query(base_url, q.question, top_k, timeout)
        latencies.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            failed += 1
            continue
        rank = next((i + 1 for i, d in enumerate(docs[:top_k]) if d in q.sources), None)
        if rank is not None:
            hits += 1
            rr += 1.0 / rank
    version = client.version(base_url)
    n = len(questions)
    return QualitySample(revision=revision, url=base_url, questions=n, failed_requests=failed,
                         recall_at_k=round(hits / n, 4), mrr=round(rr / n, 4),
                         p95_ms=round(percentile(latencies, 0.95), 1),
                         index_version=version.get("index_version"), embedding_model=version.get("embedding_model"))


def compare(candidate: QualitySample, baseline: QualitySample | None, settings: QualityGateSettings,
            top_k: int) -> QualityGateResult:
    """Pure: the verdict from the two samples (or the candidate and the thresholds)."""
    checks: list[QualityCheck] = []
    k = f"recall@{top_k}"
    if baseline is not None:
        recall_limit = round(baseline.recall_at_k - settings.max_recall_drop, 4)
        mrr_limit = round(baseline.mrr - settings.max_mrr_drop, 4)
        p95_limit = round(max(baseline.p95_ms * (1 + settings.max_p95_increase_ratio),
                              baseline.p95_ms + settings.min_p95_delta_ms), 1)
        against = "serving"
    else:
        recall_limit, mrr_limit, p95_limit = settings.min_recall, settings.min_mrr, settings.max_p95_ms
        against = "threshold"
    base = baseline
    checks.append(QualityCheck(
        metric="recall_at_k", candidate=candidate.recall_at_k, baseline=base.recall_at_k if base else None,
        limit=recall_limit, passed=candidate.recall_at_k >= recall_limit,
        detail=f"{k} {candidate.recall_at_k:.3f}" + (f" vs {against} {base.recall_at_k:.3f}" if base else "")
        + f" (min {recall_limit:.3f})"))
    checks.append(QualityCheck(
        metric="mrr", candidate=candidate.mrr, baseline=base.mrr if base else None, limit=mrr_limit,
        passed=candidate.mrr >= mrr_limit,
        detail=f"MRR {candidate.mrr:.3f}" + (f" vs {against} {base.mrr:.3f}" if base else "")
        + f" (min {mrr_limit:.3f})"))
    checks.append(QualityCheck(
        metric="p95_ms", candidate=candidate.p95_ms, baseline=base.p95_ms if base else None, limit=p95_limit,
        passed=candidate.p95_ms <= p95_limit,
        detail=f"p95 {candidate.p95_ms:.0f} ms" + (f" vs {against} {base.p95_ms:.0f} ms" if base else "")
        + f" (max {p95_limit:.0f} ms)"))
    return QualityGateResult(verdict="pass" if all(c.passed for c in checks) else "fail",
                             compared_with="serving revision" if base else "thresholds", top_k=top_k,
                             candidate=candidate, baseline=baseline, checks=checks)


def skipped(reason: str, top_k: int = 5) -> QualityGateResult:
    return QualityGateResult(verdict="skipped", compared_with="nothing", top_k=top_k, reason=reason)


@dataclass(frozen=True)
class GateRequest:
    """The gate as the deploy flow prepares it (settings checked, questions loaded) before any target is
    contacted; the target adds only its transport (`gate_for`). `skipped` says why it will not run."""

    settings: QualityGateSettings
    questions: tuple[EvalQuestion, ...] = ()
    skipped: QualityGateResult | None = None

    def gate_for(self, client: RagQueryClient) -> QualityGate | None:
        return None if self.skipped is not None else QualityGate(client, self.settings, self.questions)


def prepare_gate(settings: QualityGateSettings, resolve: Callable[[Path], Path], *, skip: bool,
                 reporter: Reporter) -> GateRequest:
    """The environment's gate for any target; bad eval files fail here (exit 2), before anything changes."""
    if skip:
        reporter.warn("quality gate skipped (--skip-quality-gate): traffic moves without the eval set")
        return GateRequest(settings, skipped=skipped("--skip-quality-gate", settings.top_k))
    if not settings.enabled:
        return GateRequest(settings, skipped=skipped("quality_gate.enabled is false", settings.top_k))
    return GateRequest(settings, tuple(load_questions([resolve(Path(f)) for f in settings.eval_files])))


class QualityGate:
    """Measures candidate and baseline with the same questions, one after the other, and decides."""

    def __init__(self, client: RagQueryClient, settings: QualityGateSettings, questions: Sequence[EvalQuestion]) -> None:
        self.client = client
        self.settings = settings
        self.questions = list(questions)

    def run(self, candidate: tuple[str, str], baseline: tuple[str, str] | None) -> QualityGateResult:
        """`candidate`/`baseline` are (revision, base URL); raises QualityGateFailed (with the result) on a fail."""
        s = self.settings
        cand = measure(self.client, *candidate, self.questions, s.top_k, s.request_timeout_s)
        base = measure(self.client, *baseline, self.questions, s.top_k, s.request_timeout_s) if baseline else None
        result = compare(cand, base, s, s.top_k)
        if result.verdict == "fail":
            raise QualityGateFailed(f"quality gate failed for {candidate[0]}: {result.summary()}", result=result)
        return result
