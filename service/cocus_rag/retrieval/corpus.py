"""Turn a folder of documents (Sphinx HTML, Markdown or plain text) into titled sections.

The source id of a document is its path relative to the corpus root (``library/venv.html``).
Only the main content of Sphinx pages is kept (``<div class="body" role="main">``); navigation,
sidebars, footers, scripts and the "¶" permalinks are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

TEXT_SUFFIXES = {".html", ".htm", ".md", ".txt", ".rst"}
SKIP_NAMES = re.compile(r"^(genindex.*|search|py-modindex|contents)\.html$")
_BLOCK = {"p", "li", "dt", "dd", "pre", "tr", "div", "section", "table", "ul", "ol", "dl",
          "blockquote", "br", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "caption"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_WS = re.compile(r"[ \t\r\f\v]+")
_ANYWS = re.compile(r"\s+")


@dataclass
class Section:
    heading: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    # the headings of the enclosing sections, outermost first, this one last (h2 under h1: [h1, h2])
    path: tuple[str, ...] = ()


@dataclass
class Document:
    doc_id: str
    title: str
    sections: list[Section]

    @property
    def text(self) -> str:
        return "\n".join(p for s in self.sections for p in ([s.heading] + s.paragraphs))


class _SphinxParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[Section] = [Section(heading="", anchor="")]
        self._in_title = False
        self._main_depth = 0  # >0 while inside the main body div
        self._div_depth = 0
        self._skip_depth = 0  # inside script/style/headerlink
        self._heading: list[str] | None = None
        self._open_headings: list[tuple[int, str]] = []  # (level, text) of the enclosing headings
        self._anchor_stack: list[tuple[int, str]] = []
        self._depth = 0
        self._buf: list[str] = []
        self._pre = 0
        self.saw_main = False

    # -- helpers --------------------------------------------------------------
    def _flush(self) -> None:
        if not self._buf:
            return
        raw = "".join(self._buf)
        self._buf.clear()
        text = raw.strip("\n") if self._pre else _ANYWS.sub(" ", raw).strip()
        if self._pre:
            text = "\n".join(line.rstrip() for line in text.splitlines()).strip()
        if text:
            self.sections[-1].paragraphs.append(text)

    def _current_anchor(self) -> str:
        return self._anchor_stack[-1][1] if self._anchor_stack else ""

    # -- parser callbacks -----------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "title":
            self._in_title = True
        if tag == "div":
            self._div_depth += 1
            if not self._main_depth and a.get("role") == "main":
                self._main_depth = self._div_depth
                self.saw_main = True
        if tag in ("script", "style") or (tag == "a" and "headerlink" in (a.get("class") or "")):
            self._skip_depth += 1
            return
        if not self._main_depth or tag in ("br", "img", "hr", "meta", "link", "input", "wbr"):
            if tag == "br" and self._main_depth:
                self._buf.append("\n" if self._pre else " ")
            return
        self._depth += 1
        if tag == "section" and a.get("id"):
            self._anchor_stack.append((self._depth, a["id"] or ""))
        if tag in _BLOCK:
            self._flush()
        if tag == "pre":
            self._pre += 1
        if tag in _HEADINGS:
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in ("script", "style") or (tag == "a" and self._skip_depth and not self._main_depth):
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag == "a" and self._skip_depth:
            self._skip_depth -= 1
            return
        if tag == "div":
            if self._main_depth and self._div_depth == self._main_depth:
                self._flush()
                self._main_depth = 0
            self._div_depth -= 1
        if not self._main_depth:
            return
        if tag in _HEADINGS and self._heading is not None:
            heading = _ANYWS.sub(" ", "".join(self._heading)).strip()
            self._heading = None
            self._buf.clear()
            path = _nest(self._open_headings, int(tag[1]), heading)
            self.sections.append(Section(heading=heading, anchor=self._current_anchor(), path=path))
            if tag == "h1" and not self.title:
                self.title = heading
            self._depth -= 1
            return
        if tag in _BLOCK:
            self._flush()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag == "section" and self._anchor_stack and self._anchor_stack[-1][0] == self._depth:
            self._anchor_stack.pop()
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title and not self._main_depth:
            self._html_title = getattr(self, "_html_title", "") + data
        if self._skip_depth or not self._main_depth:
            return
        if self._heading is not None:
            self._heading.append(data)
        else:
            self._buf.append(data)


def _nest(open_headings: list[tuple[int, str]], level: int, heading: str) -> tuple[str, ...]:
    """Close the headings at ``level`` or deeper, open ``heading``; return the path down to it."""
    while open_headings and open_headings[-1][0] >= level:
        open_headings.pop()
    open_headings.append((level, heading))
    return tuple(text for _, text in open_headings)


def parse_html(doc_id: str, html: str) -> Document:
    parser = _SphinxParser()
    parser.feed(html)
    parser.close()
    html_title = getattr(parser, "_html_title", "").strip()
    title = parser.title or re.sub(r"\s+—\s+Python .*$", "", html_title) or doc_id
    if not parser.saw_main:
        # Not a Sphinx page: fall back to the whole visible text as one section.
        text = re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style).*?</\1>", " ", html))
        paras = [_WS.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text)]
        return Document(doc_id, title, [Section(title, "", [p for p in paras if p])])
    sections = [s for s in parser.sections if s.paragraphs or s.heading]
    return Document(doc_id, title, sections)


def parse_text(doc_id: str, text: str) -> Document:
    """Markdown / reStructuredText / plain text: sections split at Markdown ``#`` headings."""
    sections = [Section(heading="", anchor="")]
    open_headings: list[tuple[int, str]] = []
    title = ""
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        m = re.match(r"^(#{1,6})\s+(.+)$", block.splitlines()[0])
        if m:
            heading = m.group(2).strip()
            title = title or heading
            anchor = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
            sections.append(Section(heading, anchor, path=_nest(open_headings, len(m.group(1)), heading)))
            rest = "\n".join(block.splitlines()[1:]).strip()
            if rest:
                sections[-1].paragraphs.append(rest)
        else:
            sections[-1].paragraphs.append(block)
    return Document(doc_id, title or doc_id, [s for s in sections if s.paragraphs or s.heading])


def iter_source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        if SKIP_NAMES.match(path.name):
            continue
        yield path


def load_corpus(root: str | Path) -> list[Document]:
    """Parse every document under ``root`` (sorted, deterministic)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    docs: list[Document] = []
    for path in iter_source_files(root):
        doc_id = path.relative_to(root).as_posix()
        raw = path.read_text(encoding="utf-8", errors="replace")
        doc = parse_html(doc_id, raw) if path.suffix.lower() in (".html", ".htm") else parse_text(doc_id, raw)
        if any(s.paragraphs for s in doc.sections):
            docs.append(doc)
    return docs
