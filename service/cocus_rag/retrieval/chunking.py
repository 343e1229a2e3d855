"""Split documents into retrieval chunks of at most ``max_words`` words.

Paragraphs are packed greedily inside a section (never across sections); a paragraph longer than
the limit is split at sentence boundaries, then at word boundaries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .corpus import Document
from .text import split_sentences

CHUNKER_VERSION = "sections-v2"  # v2: chunks carry the page summary and heading path (search text changed)
# Lines at the top of a page that are metadata, not a description of it.
_NOT_SUMMARY = ("source code", "author", "release", "new in version", "deprecated", "note", "warning")


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
    context: str = ""  # "title (summary) — heading — subheading": what the page is, where the chunk sits

    def search_text(self) -> str:
        """What BM25 and the embedder see: the chunk with its context (contextual embeddings) — a
        passage under "Sleeping" in "Coroutines and Tasks" names neither, nor what the page is for."""
        return f"{self.context or self.title}\n{self.text}"


def page_summary(doc: Document) -> str:
    """The page's first prose sentence ("This module provides ..."): the first of its opening
    paragraphs with six words or more that is neither code nor metadata ("Source code: ...")."""
    opening = [p for section in doc.sections[:3] for p in section.paragraphs][:8]
    for paragraph in opening:
        if len(paragraph.split()) >= 6 and "\n" not in paragraph and not paragraph.lower().startswith(_NOT_SUMMARY):
            return split_sentences(paragraph)[0]
    return ""


def chunk_context(title: str, summary: str, path: tuple[str, ...], text: str) -> str:
    """``title (summary) — heading — subheading``; the summary is left out of the chunk that holds it."""
    parts = [h for h in path if h]
    if not parts or parts[0] != title:
        parts.insert(0, title)
    if summary and summary not in text:
        parts[0] = f"{parts[0]} ({summary})"
    return " — ".join(parts)


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
    paths: list[tuple[str, ...]] = []  # each chunk's heading path (its context is set once its text is final)
    for section in doc.sections:
        buf: list[str] = []
        count = 0

        def emit(buf: list[str] = buf, section=section) -> None:
            text = "\n".join(buf).strip()
            if text:
                chunks.append(Chunk(doc.doc_id, doc.title, section.heading, section.anchor, text))
                paths.append(section.path or (section.heading,))
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
    summary = page_summary(doc)
    for chunk, path in zip(chunks, paths, strict=True):
        chunk.context = chunk_context(doc.title, summary, path, chunk.text)
    return chunks


def chunk_corpus(docs: list[Document], params: ChunkingParams) -> list[Chunk]:
    out: list[Chunk] = []
    for doc in docs:
        out.extend(chunk_document(doc, params))
    return out
