"""The documents a message's body is painted from: offline QTextDocuments, stacks, streams, pages.

No widget here: the delegate (`message_delegate`) asks for these and paints them.

- `new_document` makes a QTextDocument that never fetches a resource (only inline `data:` images).
- `StackedDocument`: a body made of documents painted one below the other (found by bisection).
- `StreamingDocument`: a reply still streaming. Markdown is converted incrementally (finished
  blocks once, then only the unfinished tail) and each finished chunk is its own small
  document, so a refresh costs the new text, not the whole reply; when the reply ends, those
  documents are its body, with no full re-render on the GUI thread.
- `PagedBody`: a *big* message (longer than `BIG_BODY_CHARS`, e.g. a 5 MB paste or log): its
  first `HEAD_CHARS` as markdown (plain text for a user's message), then one plain-text page of
  `PAGE_CHARS` per "Show more", each its own small document laid out once. Nothing here parses
  or lays out the unseen megabytes.
- `code_blocks_in` finds the fenced code blocks of a laid-out document (for their Copy labels).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QPointF,
    QRectF,
    QUrl,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QPainter,
    QPalette,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextTable,
)

from app.ui.chat.messages.markdown_render import (
    THEMES,
    IncrementalMarkdown,
    render_markdown,
    render_plain,
    stable_boundary,
)

__all__ = [
    "BIG_BODY_CHARS",
    "HEAD_CHARS",
    "PAGE_CHARS",
    "CodeBlock",
    "OfflineDocument",
    "PagedBody",
    "StackedDocument",
    "StreamingDocument",
    "code_blocks_in",
    "human_chars",
    "is_dark",
    "new_document",
]

BIG_BODY_CHARS = 32_000  # longer messages are shown in pages (PagedBody)
HEAD_CHARS = 8_000  # a big message's first page: markdown (assistant) or plain text
PAGE_CHARS = 64_000  # each further page ("Show more"): plain text


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class OfflineDocument(QTextDocument):
    """A QTextDocument that never loads a resource except inline `data:` images."""

    def loadResource(self, type_: int, name: QUrl | str) -> Any:
        if QUrl(name).scheme() == "data":
            return super().loadResource(type_, name)
        return None


def new_document(font: QFont, palette: QPalette) -> QTextDocument:
    doc = OfflineDocument()
    doc.setUndoRedoEnabled(False)
    doc.setDocumentMargin(0)
    doc.setDefaultFont(font)
    link = palette.color(QPalette.ColorRole.Link).name()
    doc.setDefaultStyleSheet(
        f"a {{ color: {link}; }} p {{ margin-top: 0px; margin-bottom: 6px; }} "
        "pre { margin-top: 0px; margin-bottom: 0px; } "
        "h1, h2, h3, h4 { margin-top: 6px; margin-bottom: 4px; } "
        "ul, ol { margin-top: 0px; margin-bottom: 6px; } "
        "th { background-color: rgba(127,127,127,40); } "
        "table { border-color: rgba(127,127,127,90); }"
    )
    return doc


@dataclass
class CodeBlock:
    """A fenced code block of a rendered message: its box (document coordinates) and raw code."""

    rect: QRectF
    code: str


def code_blocks_in(doc: QTextDocument, dark: bool) -> list[CodeBlock]:
    """The code blocks of a laid-out document, in order.

    `markdown_render` draws each block as a one-cell table shaded with the theme's code
    background, so a block is found by that format; its text is the cell's plain text (the
    highlighting is formatting only, so this is the raw code).
    """
    background = QColor(THEMES[dark][1])
    layout = doc.documentLayout()
    blocks: list[CodeBlock] = []

    def walk(frame: QTextFrame) -> None:
        for child in frame.childFrames():
            if (
                isinstance(child, QTextTable)
                and child.rows() == 1
                and child.columns() == 1
                and child.format().background().color() == background
            ):
                cell = child.cellAt(0, 0)
                cursor = cell.firstCursorPosition()
                cursor.setPosition(cell.lastCursorPosition().position(), QTextCursor.MoveMode.KeepAnchor)
                code = cursor.selection().toPlainText().replace("\u2028", "\n").replace("\xa0", " ")
                blocks.append(CodeBlock(layout.frameBoundingRect(child), code))
            else:
                walk(child)

    walk(doc.rootFrame())
    return blocks


class StackedDocument:
    """A message body made of documents painted one below the other.

    A streamed reply is kept as one small document per finished markdown chunk plus one for the
    unfinished tail, so each refresh parses and lays out only the new text; when the reply ends,
    the same documents are kept (no full re-render). A message loaded from the database is a
    stack of one document. Offsets are cumulative heights, so finding what is under a point or
    what is on screen is a bisection.
    """

    def __init__(self, docs: list[QTextDocument] | None = None) -> None:
        self.docs: list[QTextDocument] = []
        self._tops: list[float] = []  # y of each doc, in stack coordinates
        self._height = 0.0
        # Each doc's code blocks (doc coordinates) once found, per theme: a finished reply of
        # hundreds of chunks must not walk them all again when it ends.
        self._code: list[dict[bool, list[CodeBlock]]] = []
        for doc in docs or []:
            self.append(doc)

    def append(self, doc: QTextDocument) -> None:
        self.docs.append(doc)
        self._tops.append(self._height)
        self._code.append({})
        self._height += doc.size().height()

    def pop_last(self) -> None:
        """Drop the last document (a streaming tail about to be rebuilt)."""
        if self.docs:
            self.docs.pop()
            self._code.pop()
            self._height = self._tops.pop()

    def set_width(self, width: int) -> None:
        if self.docs and self.docs[0].textWidth() == width:
            return
        docs, self.docs, self._tops, self._code, self._height = self.docs, [], [], [], 0.0
        for doc in docs:
            doc.setTextWidth(width)
            self.append(doc)

    def height(self) -> float:
        return self._height

    def width(self) -> float:
        return self.docs[0].textWidth() if self.docs else 0.0

    @property
    def first(self) -> QTextDocument | None:
        return self.docs[0] if self.docs else None

    def _visible(self, top: float, bottom: float) -> list[tuple[float, QTextDocument]]:
        first = max(0, bisect.bisect_right(self._tops, top) - 1)
        out = []
        for i in range(first, len(self.docs)):
            y = self._tops[i]
            if y > bottom:
                break
            out.append((y, self.docs[i]))
        return out

    def draw(self, painter: QPainter, x: int, y: int, colour: QColor, visible: QRectF) -> None:
        """Draw the documents that meet `visible` (row coordinates) at (x, y)."""
        top, bottom = visible.top() - y, visible.bottom() - y
        for doc_y, doc in self._visible(top, bottom):
            painter.save()
            painter.translate(x, y + doc_y)
            ctx = QAbstractTextDocumentLayout.PaintContext()
            ctx.palette.setColor(QPalette.ColorRole.Text, colour)
            ctx.clip = QRectF(0, top - doc_y, max(1.0, visible.width()), bottom - top)
            doc.documentLayout().draw(painter, ctx)
            painter.restore()

    def anchor_at(self, point: QPointF) -> str:
        for doc_y, doc in self._visible(point.y(), point.y()):
            anchor = doc.documentLayout().anchorAt(QPointF(point.x(), point.y() - doc_y))
            if anchor:
                return anchor
        return ""

    def doc_code_blocks(self, i: int, dark: bool) -> list[CodeBlock]:
        """The code blocks of the `i`-th document, in its own coordinates (found once)."""
        found = self._code[i].get(dark)
        if found is None:
            found = self._code[i][dark] = code_blocks_in(self.docs[i], dark)
        return found

    def code_blocks(self, dark: bool) -> list[CodeBlock]:
        out: list[CodeBlock] = []
        for i, doc_y in enumerate(self._tops):
            for block in self.doc_code_blocks(i, dark):
                out.append(CodeBlock(block.rect.translated(0, doc_y), block.code))
        return out


class StreamingDocument:
    """The body of a reply that is still streaming, refreshed in time proportional to new text.

    Markdown is converted incrementally (`IncrementalMarkdown`: finished blocks once, then only
    the unfinished tail). Each finished chunk becomes its own small document, laid out once; the
    tail is one more document, rebuilt on each refresh. So a refresh of a 100 KB reply parses and
    lays out only the last paragraph, and when the reply ends the documents are kept as they are.
    `last_cost` (seconds) lets the tab slow its ticks down if a refresh ever gets expensive.
    """

    def __init__(self, font: QFont, palette: QPalette) -> None:
        self._font = QFont(font)
        self._palette = QPalette(palette)  # the delegate's option.palette is short-lived
        self.dark = is_dark(palette)
        self._markdown = IncrementalMarkdown(dark=self.dark)
        self._chunks: list[str] = []
        self._tail_html = ""
        self.text = ""
        self._seen = -1
        self._width = 0
        self.stack = StackedDocument()
        self._tail: QTextDocument | None = None
        self.last_cost = 0.0
        self.finished = False  # the reply ended; its documents are its final body
        self.checked = False  # compared with a full render (see MessageDelegate.confirm_render)

    @property
    def doc(self) -> QTextDocument:
        """One document holding the whole body (built on demand; for tests and tools)."""
        doc = new_document(self._font, self._palette)
        doc.setHtml(self.html())
        doc.setTextWidth(self._width)
        return doc

    def html(self) -> str:
        """The body's HTML: what `render_markdown` gives for the whole text, chunk by chunk."""
        return "\n".join(part for part in [*self._chunks, self._tail_html] if part)

    def _document(self, html: str, width: int) -> QTextDocument:
        doc = new_document(self._font, self._palette)
        doc.setHtml(html)
        doc.setTextWidth(width)
        return doc

    def update(self, text: str, width: int) -> None:
        if len(text) == self._seen:
            if width != self._width:
                self._width = width
                self.stack.set_width(width)
            return
        started = time.perf_counter()
        if width != self._width:
            self._width = width
            self.stack.set_width(width)
        self._seen = len(text)
        self.text = text
        chunk = self._markdown.update(text)
        if self._tail is not None:
            self.stack.pop_last()
            self._tail = None
        if chunk.stable_html:
            self._chunks.append(chunk.stable_html)
            self.stack.append(self._document(chunk.stable_html, width))
            self.stack.doc_code_blocks(len(self.stack.docs) - 1, self.dark)  # now, not at the end
        self._tail_html = chunk.tail_html
        if chunk.tail_html:
            self._tail = self._document(chunk.tail_html, width)
            self.stack.append(self._tail)
        self.last_cost = time.perf_counter() - started


def _cut(text: str, start: int, size: int) -> int:
    """The end of a page of about `size` characters from `start`: after a line break when there
    is one in the second half of the page, else exactly `start + size`."""
    end = start + size
    if end >= len(text):
        return len(text)
    newline = text.rfind("\n", start + size // 2, end)
    return newline + 1 if newline >= 0 else end


def _head_end(text: str, markdown: bool) -> int:
    """Where a big message's first page ends: at a markdown block boundary when there is one
    in the second half of the first HEAD_CHARS (so the head renders as in the whole text)."""
    if markdown:
        boundary, _fence, _scanned = stable_boundary(text[: HEAD_CHARS + 1])
        if boundary >= HEAD_CHARS // 2:
            return boundary
    return _cut(text, 0, HEAD_CHARS)


def human_chars(n: int) -> str:
    """A size in characters as the note says it (`16 KB`, `5.0 MB`)."""
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} KB"
    return f"{n / (1024 * 1024):.1f} MB"


class PagedBody:
    """The body of a big message: its head, then the pages shown so far, as stacked documents.

    The head of an assistant's message is markdown (its code blocks shaded but not highlighted); a user's message and every later page are plain text, so
    each "Show more" costs one page's layout. `shown` is how many characters are on screen.
    """

    def __init__(self, content: str, markdown: bool, font: QFont, palette: QPalette, width: int) -> None:
        self.content = content
        self._font = QFont(font)
        self._palette = QPalette(palette)
        self.dark = is_dark(palette)
        self.shown = _head_end(content, markdown)
        head = new_document(self._font, self._palette)
        head_text = content[: self.shown]
        # No Pygments on the first page: highlighting 8 KB of code would stall the open.
        html = render_markdown(head_text, dark=self.dark, highlight_limit=0) if markdown else render_plain(head_text)
        head.setHtml(html)
        head.setTextWidth(width)
        self.stack = StackedDocument([head])

    @property
    def remaining(self) -> int:
        return len(self.content) - self.shown

    def show_more(self, width: int) -> None:
        """Add the next page (plain text), laid out at `width`."""
        if self.remaining <= 0:
            return
        end = _cut(self.content, self.shown, PAGE_CHARS)
        doc = new_document(self._font, self._palette)
        doc.setPlainText(self.content[self.shown : end])
        doc.setTextWidth(width)
        self.stack.set_width(width)
        self.stack.append(doc)
        self.shown = end

    def note(self) -> str:
        return (
            f"Long message: showing {human_chars(self.shown)} of {human_chars(len(self.content))}. "
            "Copy copies all of it."
        )
