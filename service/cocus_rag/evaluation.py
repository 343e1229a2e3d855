"""Retrieval quality: recall@k and MRR over the hand-written question sets in ``service/eval/``.

A question is answered at rank r when the r-th retrieved chunk comes from one of its source
documents; recall@k counts questions answered within k, MRR averages 1/r (0 when not retrieved).

Splits: ``questions.jsonl`` (q01–q100, keyword-rich: q01–q70 chose the BM25/static settings,
q71–q100 were held out then; all 100 are dev since the page fusion was learned),
``paraphrased_dev.jsonl`` (plain wording: d01–d30 chose the contextual model and the first fusion,
d31–d99 were added before the learned fusion was fit on them) and ``paraphrased_heldout.jsonl``
(p01–p80, plain wording that avoids module names, written before any tuning and only ever evaluated).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
DEFAULT_QUESTIONS = EVAL_DIR / "questions.jsonl"
SPLIT_FILES = {"keyword": "questions.jsonl", "paraphrased_dev": "paraphrased_dev.jsonl",
               "paraphrased_heldout": "paraphrased_heldout.jsonl"}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    sources: tuple[str, ...]


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[Question]:
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            out.append(Question(raw["id"], raw["question"], tuple(raw["sources"])))
    return out


def load_splits(eval_dir: str | Path = EVAL_DIR) -> dict[str, list[Question]]:
    return {name: load_questions(Path(eval_dir) / file) for name, file in SPLIT_FILES.items()}


def evaluate(questions: list[Question], retrieve: Callable[[str], list[str]], k: int = 5) -> dict:
    """``retrieve`` maps a question to the doc ids of its ranked chunks (best first)."""
    hits_at_k = 0
    rr_total = 0.0
    per_question = {}
    for q in questions:
        ranked = retrieve(q.question)
        rank = next((i + 1 for i, d in enumerate(ranked) if d in q.sources), None)
        if rank is not None and rank <= k:
            hits_at_k += 1
        rr_total += 1.0 / rank if rank else 0.0
        per_question[q.id] = rank
    n = max(1, len(questions))
    return {f"recall@{k}": round(hits_at_k / n, 4), "mrr": round(rr_total / n, 4), "questions": len(questions),
            "ranks": per_question}
