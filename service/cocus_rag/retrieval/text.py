"""Lexical analysis shared by BM25, the extractive generator and chunking."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'`])|\n{2,}")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves use used using get""".split()
)


def _stem(tok: str) -> str:
    # Deliberately light: only plural "s" ("environments" -> "environment").
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")) and tok.isalpha():
        return tok[:-1]
    return tok


def analyze(text: str) -> list[str]:
    """Lower-cased terms for BM25: words, dotted names kept whole and split into their parts."""
    out: list[str] = []
    for m in _TOKEN.findall(text.lower()):
        if "." in m:
            out.append(m)
            parts = m.split(".")
        else:
            parts = [m]
        for p in parts:
            if p and p not in STOPWORDS:
                out.append(_stem(p))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentence split good enough for documentation prose (code blocks stay whole)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]
