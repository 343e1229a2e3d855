"""Split documents into retrieval chunks of at most ``max_words`` words.

Paragraphs are packed greedily inside a section (never across sections); a paragraph longer than
the limit is split at sentence boundaries, then at word boundaries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .corpus import Document
from .text import split_sentences

CHUNKER_VERSION = "sections-v1"


@dataclass(frozen=True)
class ChunkingParams:
    max_words: int = 110
    min_words: int = 8

    def as_dict(self) -> dict:
        return {"chunker": CHUNKER_VERSION, **asdict(self)}


@dataclass
class Chunk:
    doc_id: str
    title: str
    section: str
    anchor: str
    text: str

    def search_text(self) -> str:
        """What BM25 and the embedder see: the title and section give short chunks context."""
        head = self.title if self.section in ("", self.title) else f"{self.title} — {self.section}"
        return f"{head}\n{self.text}"


def _split_long(paragraph: str, max_words: int) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    for sentence in split_sentences(paragraph) or [paragraph]:
        words = sentence.split()
        while len(words) > max_words:
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_document(doc: Document, params: ChunkingParams) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        buf: list[str] = []
        count = 0

        def emit(buf: list[str] = buf, section=section) -> None:
            text = "\n".join(buf).strip()
            if text:
                chunks.append(Chunk(doc.doc_id, doc.title, section.heading, section.anchor, text))
            buf.clear()

        for para in section.paragraphs:
            n = len(para.split())
            if n > params.max_words:
                if buf:
                    emit()
                    count = 0
                for piece in _split_long(para, params.max_words):
                    buf.append(piece)
                    emit()
                continue
            if count + n > params.max_words and buf:
                emit()
                count = 0
            buf.append(para)
            count += n
        if buf:
            # A short tail joins the previous chunk of the same section when it fits loosely.
            tail = "\n".join(buf)
            if (count < params.min_words and chunks and chunks[-1].doc_id == doc.doc_id
                    and chunks[-1].anchor == section.anchor
                    and len(chunks[-1].text.split()) + count <= params.max_words * 1.25):
                chunks[-1].text += "\n" + tail
                buf.clear()
            else:
                emit()
    return chunks


def chunk_corpus(docs: list[Document], params: ChunkingParams) -> list[Chunk]:
    out: list[Chunk] = []
    for doc in docs:
        out.extend(chunk_document(doc, params))
    return out
