"""The message list: a QListView whose delegate paints each message from a cached QTextDocument.

Why a delegate and not a widget per message: a thread of thousands of messages must cost what is
on screen. The delegate therefore works in two tiers:

- `sizeHint` answers from a cheap *estimate* (characters per line x line height) until a row has
  been painted once; the view lays out thousands of rows with no markdown and no QTextDocument;
- `paint` builds the row's real layout (markdown -> HTML -> QTextDocument, cached by
  `(message id, version, width)`), and when the real height differs from what the view used, it
  reports `sizeHintChanged` for that row (batched) so the view corrects it.

A row whose reply is streaming keeps one `StreamingDocument`: markdown is converted
incrementally (finished blocks once, then only the unfinished tail) and each finished chunk is its
own small document, so a refresh costs the new text, not the whole reply; when the reply ends,
those documents are its body (`StackedDocument`), with no full re-render on this thread.

A long thread opens with placeholder rows (`ChatRow.loaded` False) above its newest messages;
`sizeHint` sizes every row from cached estimates, and a placeholder painted on screen asks
(`loadRequested`) to be read next.

Every clickable thing is painted and hit-tested from the cached `RowLayout` (no child widgets):

- the header's action strip (Copy, Edit, Regenerate, Continue, Delete), shown on hover or
  selection; the same actions are in the context menu and on keys of the selected row;
- the sibling navigator `‹ 2/3 ›` on any message with other versions (Alt+Left / Alt+Right);
- a "Copy" label on each fenced code block, which copies the block's raw code;
- the reasoning toggle ("▸ Reasoning · N words", Space), collapsed by default;
- Retry / Continue / Regenerate buttons under failed, interrupted or cut-short replies.

A message's image attachments are a row of thumbnails under its text (at most `THUMB_MAX` px on
the long side). Each is decoded and scaled once, when its row is first laid out for painting, and
kept by `(message id, part index)`; an image given by URL is a "[image: url]" label, never fetched.
Until then the row's estimate reserves one thumbnail row.

A *big* message (longer than `BIG_BODY_CHARS`, e.g. a 5 MB paste or log) is shown in pages
(`PagedBody`): its first `HEAD_CHARS` as markdown (plain text for a user's message), then a note
("Showing 8 KB of 5.0 MB") and a "Show more" button that adds one plain-text page of
`PAGE_CHARS` at a time, each its own small document laid out once. Nothing on this thread
parses or lays out the unseen megabytes, and its estimate is that of what is shown. Copy
(Ctrl+C, the strip's Copy) still copies the whole message.

Hover only repaints the two rows it moves between; nothing here relayouts the list per tick.
Errors are painted as a distinct red box with the error sentence — never as model output.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QContextMenuEvent,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextTable,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from app.ui.chat.markdown_render import (
    THEMES,
    IncrementalMarkdown,
    has_reference_links,
    render_markdown,
    render_plain,
    stable_boundary,
)
from app.ui.chat.message_model import ROW_ROLE, ChatRow, MessageModel
from app.ui.chat.message_rules import ACTION_LABELS, ACTION_SHORTCUTS, actions_for, can_continue
from app.ui.style import READING_CHARS
from app.ui.theme import accents

__all__ = [
    "EMPTY_HINT",
    "CodeBlock",
    "MessageDelegate",
    "MessageView",
    "PagedBody",
    "StreamingDocument",
    "code_blocks_in",
    "dropped_note",
    "finish_sentence",
    "footer_text",
    "status_note",
]

EMPTY_HINT = "Ask anything. Enter sends, Shift+Enter adds a line."

PAD_X = 16
PAD_Y = 10
GAP = 6
RETRY_W = 84
RETRY_H = 26
BUTTON_GAP = 8
PILL_PAD = 7
LAYOUT_CACHE = 300
HTML_CACHE = 600
FINISHED_STREAMS = 4  # streamed replies whose chunk documents are kept after they finish
COPIED_MS = 1500
THUMB_MAX = 160  # px, the long side of an image thumbnail (logical pixels)
THUMB_GAP = 8
THUMB_CACHE = 200  # decoded thumbnails kept, keyed by (message id, part index)
BIG_BODY_CHARS = 32_000  # longer messages are shown in pages (PagedBody)
HEAD_CHARS = 8_000  # a big message's first page: markdown (assistant) or plain text
PAGE_CHARS = 64_000  # each further page ("Show more"): plain text
PAGED_BODIES = 8  # big messages whose page documents are kept
CODE_COPY_LABEL = "Copy"
CODE_COPIED_LABEL = "Copied ✓"

# Inline buttons under a reply (action -> label).
BUTTON_LABELS = {
    "retry": "↻ Retry",
    "continue": "▸ Continue",
    "regenerate": "↻ Regenerate",
    # Under a reply whose text could not be saved (ChatRow.unsaved).
    "copy_text": "Copy text",
    "save_text": "Save as…",
    "more": "▾ Show more",
}
# Sentences for finish reasons other than "stop" (shown in the footer).
FINISH_SENTENCES = {
    "length": "stopped at the length limit",
    "max_tokens": "stopped at the length limit",
    "content_filter": "The provider's content filter stopped this reply; the text above may be incomplete.",
    "safety": "The model's safety filter stopped this reply; the text above may be incomplete.",
    "recitation": "Stopped because the reply was repeating published text; the text above may be incomplete.",
    "tool_calls": "The model asked to call a tool, which this chat does not run.",
}


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class OfflineDocument(QTextDocument):
    """A QTextDocument that never loads a resource except inline `data:` images."""

    def loadResource(self, type_: int, name: QUrl | str) -> Any:
        if QUrl(name).scheme() == "data":
            return super().loadResource(type_, name)
        return None


def _new_document(font: QFont, palette: QPalette) -> QTextDocument:
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
        self.dark = _is_dark(palette)
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
        doc = _new_document(self._font, self._palette)
        doc.setHtml(self.html())
        doc.setTextWidth(self._width)
        return doc

    def html(self) -> str:
        """The body's HTML: what `render_markdown` gives for the whole text, chunk by chunk."""
        return "\n".join(part for part in [*self._chunks, self._tail_html] if part)

    def _document(self, html: str, width: int) -> QTextDocument:
        doc = _new_document(self._font, self._palette)
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
        self.dark = _is_dark(palette)
        self.shown = _head_end(content, markdown)
        head = _new_document(self._font, self._palette)
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
        doc = _new_document(self._font, self._palette)
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


@dataclass
class RowLayout:
    """Geometry of one painted message, relative to its row's top-left corner."""

    height: int
    header_y: int
    header_text: str
    model_text: str
    header_h: int = 0
    nav_text: str = ""
    nav_rect: QRect | None = None
    nav_prev: QRect | None = None
    nav_next: QRect | None = None
    strip: list[tuple[str, QRect]] = field(default_factory=list)  # (action, rect)
    reasoning_toggle: QRect | None = None
    reasoning_label: str = ""
    reasoning_doc: QTextDocument | None = None
    reasoning_y: int = 0
    body_doc: QTextDocument | None = None  # the body's first document (None: no body)
    body: StackedDocument | None = None
    body_y: int = 0
    placeholder: str = ""
    code_blocks: list[CodeBlock] = field(default_factory=list)
    code_copy_rects: list[QRect] = field(default_factory=list)
    thumbs: list[tuple[QRect, QImage]] = field(default_factory=list)  # image attachments
    image_labels: list[tuple[QRect, str]] = field(default_factory=list)  # "[image: url]"
    error_rect: QRect | None = None
    error_text_rect: QRect | None = None
    retry_rect: QRect | None = None
    buttons: list[tuple[str, QRect]] = field(default_factory=list)  # (action, rect) inline buttons
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (y, text, kind)
    # kinds: "dropped" (above the answer), "refusal", "status"
    footer_y: int = 0
    footer_text: str = ""
    paged_note: str = ""  # a big message shown in part: how much of it is shown


def finish_sentence(reason: str | None) -> str:
    """What an unusual finish reason means, for the footer ("" for a normal stop)."""
    if not reason or reason == "stop":
        return ""
    return FINISH_SENTENCES.get(reason.lower(), f"finished early ({reason})")


def footer_text(row: ChatRow) -> str:
    """The per-reply statistics line: time to first token, speed, usage, unusual finish.

    While a reply with n > 1 choices streams it says how many alternatives are streaming.
    """
    if row.role != "assistant":
        return ""
    if row.is_streaming:
        if row.alternatives_streaming:
            return f"{row.alternatives_streaming + 1} alternatives streaming"
        return ""
    parts: list[str] = []
    if row.ttft_ms is not None:
        parts.append(f"first token {row.ttft_ms:,.0f} ms")
    if row.tokens_per_s:
        parts.append(f"{row.tokens_per_s:,.1f} tok/s")
    usage = row.usage
    if usage is not None:
        if usage.prompt_tokens is not None or usage.completion_tokens is not None:
            parts.append(
                f"{usage.prompt_tokens or 0:,} in · {usage.completion_tokens or 0:,} out tokens"
            )
        elif usage.total_tokens is not None:
            parts.append(f"{usage.total_tokens:,} tokens")
    if row.status == "complete":
        sentence = finish_sentence(row.finish_reason)
        if sentence:
            parts.append(sentence)
    return " · ".join(parts)


def status_note(row: ChatRow) -> str:
    if row.unsaved and row.content:
        return "⚠ Not saved — this text is shown here in full only; copy it or save it to a file."
    if row.status == "cancelled":
        return "■ Stopped — you cancelled this reply; the text above is partial."
    if row.status == "interrupted":
        if row.error:  # cut off by the provider or the network, not by a crash of the app
            return "⚠ Incomplete — the connection ended before the reply finished."
        return "⚠ Interrupted — the app closed while this reply was streaming."
    return ""


def dropped_note(row: ChatRow) -> str:
    """The muted note above a reply whose request left older turns out ("" when none were)."""
    n = row.dropped_turns
    if row.role != "assistant" or n <= 0:
        return ""
    if n == 1:
        return "1 older turn was left out to fit the model's context window"
    return f"{n:,} older turns were left out to fit the model's context window"


def inline_buttons(row: ChatRow) -> list[str]:
    """Buttons painted under a reply that did not finish normally (besides an error's Retry)."""
    if row.role != "assistant" or row.is_streaming:
        return []
    if row.status == "error":
        saving = ["copy_text", "save_text"] if row.unsaved and row.content else []
        return saving + ["retry"] + (["continue"] if can_continue(row) else [])
    if row.status == "interrupted":
        return (["continue"] if can_continue(row) else []) + ["regenerate"]
    if can_continue(row):
        return ["continue", "regenerate"] if row.status == "cancelled" else ["continue"]
    return []


class MessageDelegate(QStyledItemDelegate):
    """Paints ChatRows; caches HTML by (id, content) and layouts by (id, version, width)."""

    retryRequested = Signal(int)  # message id of the error row
    reasoningToggled = Signal(int)  # row number
    actionRequested = Signal(str, int)  # (action, message id): edit, regenerate, prev, next...
    codeCopyRequested = Signal(int, int)  # (row number, code block index)
    loadRequested = Signal(int)  # message id of a placeholder row that came on screen

    def __init__(self, view: MessageView) -> None:
        super().__init__(view)
        self._view = view
        self._html: OrderedDict[tuple[int, bool], tuple[str, str]] = OrderedDict()
        self._layouts: OrderedDict[tuple[Any, ...], RowLayout] = OrderedDict()
        self._exact: dict[int, tuple[int, int, bool, int]] = {}  # id -> (version, width, exp, h)
        self._estimates: dict[int, tuple[int, int, int]] = {}  # id -> (version, width, h)
        self._streaming: dict[int, StreamingDocument] = {}
        # (message id, dark) -> the pages of a big message shown so far (see PagedBody)
        self._paged: OrderedDict[tuple[int, bool], PagedBody] = OrderedDict()
        self._pending_resize: set[QPersistentModelIndex] = set()
        self._metrics_key: int | None = None
        # (message id, part index) -> scaled thumbnail (None: the data is not a readable image)
        self._thumbs: OrderedDict[tuple[int, int], QImage | None] = OrderedDict()
        self.model: MessageModel | None = None  # set by MessageView.setModel
        self._metrics = (0, 0, 1, 0)
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._flush_size_changes)
        # (message id, code block index) whose label says "Copied ✓" for a moment
        self.copied: tuple[int, int] | None = None
        # Counters read by tests and benchmarks: work done is what was on screen.
        self.paint_calls = 0
        self.painted_ids: set[int] = set()
        self.layouts_built = 0
        self.markdown_renders = 0
        self.images_decoded = 0

    # --- fonts and colours -----------------------------------------------------------------

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        base = QFont(self._view.font())
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * 0.88))
        return base, bold, small

    def _dark_view(self) -> bool:
        return _is_dark(self._view.palette())

    def content_width(self) -> int:
        return max(120, self._view.viewport().width() - 2 * PAD_X)

    # --- size ------------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        # The view asks this of every row on each layout pass (thousands in a long thread), so
        # it reads the row straight from the model's list and answers from caches.
        model = self.model
        number = index.row()
        if model is not None and 0 <= number < len(model.rows):
            row: ChatRow | None = model.rows[number]
        else:
            row = index.data(ROW_ROLE)
        vw = self._view.viewport().width()
        if row is None:
            return QSize(vw, 0)
        width = max(120, vw - 2 * PAD_X)
        exact = self._exact.get(row.id)
        if exact is not None and exact[0] == row.version and exact[1] == width and exact[2] == row.reasoning_expanded:
            return QSize(vw, exact[3])
        est = self._estimates.get(row.id)
        if est is None or est[0] != row.version or est[1] != width:
            est = (row.version, width, self._estimate_height(row, width))
            self._estimates[row.id] = est
        return QSize(vw, est[2])

    def _estimate_metrics(self, width: int) -> tuple[int, int, int, int]:
        """(line height, header height, characters per line, small line) for `width`."""
        if self._metrics_key != width:  # reset by `forget` and on a font change
            key = width
            base, bold, small = self._fonts()
            fm = QFontMetrics(base)
            self._metrics = (
                fm.lineSpacing(),
                max(QFontMetrics(bold).height(), QFontMetrics(small).height() + 6),
                max(8, int(width / max(1.0, fm.averageCharWidth() * 1.05))),
                QFontMetrics(small).height() + GAP,
            )
            self._metrics_key = key
        return self._metrics

    def forget_metrics(self) -> None:
        """The font changed: estimates are measured again."""
        self._metrics_key = None
        self._estimates.clear()

    def _estimate_height(self, row: ChatRow, width: int) -> int:
        """A row's height before it is painted, from its size alone (no markdown, no layout)."""
        line, header, per_line, small_line = self._estimate_metrics(width)
        if row.size_basis is not None:
            chars, breaks = row.size_basis
            if chars > BIG_BODY_CHARS:  # shown in pages: the head's share of the line breaks
                breaks, chars = breaks * HEAD_CHARS // chars, HEAD_CHARS
        elif len(row.content) > BIG_BODY_CHARS and not row.is_streaming:
            # Only what a PagedBody shows is counted (never a whole 5 MB string per estimate).
            paged = self._paged.get((row.id, self._dark_view()))
            chars = paged.shown if paged is not None and paged.content is row.content else HEAD_CHARS
            breaks = row.content.count("\n", 0, chars)
        else:
            chars, breaks = len(row.content), row.content.count("\n")
        big = chars != len(row.content) and row.loaded and not row.is_streaming
        body = (breaks + 1 + chars // per_line) * line
        if big:
            body += small_line + RETRY_H + GAP
        h = PAD_Y + header + GAP + max(body, line) + PAD_Y
        if row.reasoning:
            h += small_line
        if row.dropped_turns:
            h += small_line
        if row.status == "error":
            h += 3 * line + RETRY_H + 24
        elif inline_buttons(row):
            h += RETRY_H + GAP
        if row.role == "assistant" and row.status != "streaming":
            h += small_line
        if row.images:
            # One thumbnail row (sizes are known only once decoded, at the first paint).
            if any(part.get("data_b64") for part in row.images):
                h += THUMB_MAX + GAP
            h += sum(1 for part in row.images if not part.get("data_b64")) * small_line
        return h

    def _header_height(self) -> int:
        _base, bold, small = self._fonts()
        return max(QFontMetrics(bold).height(), QFontMetrics(small).height() + 6)

    # --- layout ----------------------------------------------------------------------------

    def _html_for(self, row: ChatRow, dark: bool) -> str:
        # Keyed by content, not version: a row whose navigator or status changed keeps its HTML.
        key = (row.id, dark)
        cached = self._html.get(key)
        if cached is not None and cached[0] == row.content:
            self._html.move_to_end(key)
            return cached[1]
        if row.role == "assistant":
            html = render_markdown(row.content, dark=dark)
            self.markdown_renders += 1
        else:
            html = render_plain(row.content)
        self._cache_html(key, row.content, html)
        return html

    def layout_for(self, row: ChatRow, palette: QPalette) -> RowLayout:
        width = self.content_width()
        dark = _is_dark(palette)
        key = (row.id, row.version, width, row.reasoning_expanded, dark)
        cached = self._layouts.get(key)
        # A finished streamed reply's documents are shared by its layouts at every width:
        # after a resize and back, the cached layout's body may have been re-flowed to the
        # other width (a narrower code box, the footer drawn over the last line), so it is
        # only reused when its body still has this width.
        if cached is not None and (cached.body is None or cached.body.width() in (width, 0)):
            self._layouts.move_to_end(key)
            self._exact[row.id] = (row.version, width, row.reasoning_expanded, cached.height)
            return cached
        layout = self._build_layout(row, width, palette, dark)
        self.layouts_built += 1
        self._layouts[key] = layout
        while len(self._layouts) > LAYOUT_CACHE:
            self._layouts.popitem(last=False)
        self._exact[row.id] = (row.version, width, row.reasoning_expanded, layout.height)
        return layout

    def _finish_streamed(self, row: ChatRow, sdoc: StreamingDocument, width: int, dark: bool) -> StackedDocument | None:
        """The body of a reply that has just finished streaming: the streamed documents, kept.

        Re-rendering a long reply as a whole would cost hundreds of milliseconds on this thread;
        the streamed chunks already are that render, block by block. The tab then checks them
        against a full render made off this thread (`streamed_render` / `confirm_render`).
        """
        if row.role != "assistant" or sdoc.dark != dark or not row.content.startswith(sdoc.text):
            self._streaming.pop(row.id, None)
            return None
        sdoc.update(row.content, width)  # the tokens that arrived after the last refresh
        self._cache_html((row.id, dark), row.content, sdoc.html())
        sdoc.finished = True
        finished = [key for key, kept in self._streaming.items() if kept.finished]
        for key in finished[:-FINISHED_STREAMS]:  # a few finished bodies are kept, oldest go
            del self._streaming[key]
        return sdoc.stack

    def streamed_render(self, message_id: int) -> tuple[str, bool] | None:
        """(content, dark) of a finished streamed reply that needs a full render, else None.

        Chunks are cut only where markdown cannot join two blocks (`stable_boundary`), so they
        are the full render, except when the reply defines reference links (`[id]: url`), which
        apply to the whole text. Rendering every long reply again on a worker thread would make
        the GUI thread wait for the GIL at each of its own Python steps meanwhile.
        """
        sdoc = self._streaming.get(message_id)
        if sdoc is None or not sdoc.finished or sdoc.checked:
            return None
        if not has_reference_links(sdoc.text):
            sdoc.checked = True
            return None
        return sdoc.text, sdoc.dark

    def confirm_render(self, message_id: int, content: str, html: str) -> bool:
        """Compare a full render with the streamed chunks; on a difference, show the full render.

        Returns True when the streamed body was kept.
        """
        sdoc = self._streaming.get(message_id)
        if sdoc is None or sdoc.text != content:
            return False
        sdoc.checked = True
        if sdoc.html() == html:
            return True
        # Markdown that spans a block boundary (rare: a loose list, a late link reference).
        del self._streaming[message_id]
        self._cache_html((message_id, sdoc.dark), content, html)
        model = self._view.model()
        if isinstance(model, MessageModel):
            i = model.find_row(message_id)
            if i >= 0:
                model.update_row(i)  # a new version: laid out again from the full render
        return False

    def _paged_body(self, row: ChatRow, font: QFont, palette: QPalette, dark: bool, width: int) -> PagedBody:
        """The pages of a big message (kept across versions while its content is the same)."""
        key = (row.id, dark)
        paged = self._paged.get(key)
        if paged is None or (paged.content is not row.content and paged.content != row.content):
            paged = PagedBody(row.content, row.role == "assistant", font, palette, width)
            self.markdown_renders += row.role == "assistant"
            self._paged[key] = paged
            while len(self._paged) > PAGED_BODIES:
                self._paged.popitem(last=False)
        else:
            self._paged.move_to_end(key)
            paged.stack.set_width(width)
        return paged

    def show_more(self, message_id: int) -> bool:
        """Show the next page of a big message (its "Show more" button); False when none is left."""
        model = self.model
        if model is None:
            return False
        i = model.find_row(message_id)
        paged = self._paged.get((message_id, self._dark_view()))
        if i < 0 or paged is None or paged.remaining <= 0:
            return False
        paged.show_more(self.content_width())
        model.update_row(i)  # a new version: laid out again, reusing the pages already built
        self.sizeHintChanged.emit(model.index(i, 0))
        return True

    def _cache_html(self, key: tuple[int, bool], content: str, html: str) -> None:
        self._html[key] = (content, html)
        self._html.move_to_end(key)
        while len(self._html) > HTML_CACHE:
            self._html.popitem(last=False)

    def _pill(self, fm: QFontMetrics, label: str, right: int, y: int, h: int) -> QRect:
        w = fm.horizontalAdvance(label) + 2 * PILL_PAD
        return QRect(right - w, y, w, h)

    def _layout_header(self, row: ChatRow, layout: RowLayout, width: int) -> None:
        _base, bold, small = self._fonts()
        fm_bold, fm_small = QFontMetrics(bold), QFontMetrics(small)
        y = layout.header_y
        h = layout.header_h
        pill_h = fm_small.height() + 4
        pill_y = y + (h - pill_h) // 2
        x = PAD_X + fm_bold.horizontalAdvance(layout.header_text) + 8
        if layout.model_text:
            x += fm_small.horizontalAdvance(layout.model_text) + 10
        if row.has_siblings:
            arrow_w = fm_small.horizontalAdvance("‹") + 2 * PILL_PAD
            text = f"{row.sibling_index + 1}/{row.sibling_count}"
            text_w = fm_small.horizontalAdvance(f"{row.sibling_count}/{row.sibling_count}") + 4
            layout.nav_text = text
            layout.nav_prev = QRect(x, pill_y, arrow_w, pill_h)
            layout.nav_rect = QRect(x + arrow_w, pill_y, text_w, pill_h)
            layout.nav_next = QRect(x + arrow_w + text_w, pill_y, arrow_w, pill_h)
        right = PAD_X + width
        strip: list[tuple[str, QRect]] = []
        for action in reversed(actions_for(row) if row.loaded else []):
            rect = self._pill(fm_small, ACTION_LABELS[action], right, pill_y, pill_h)
            strip.append((action, rect))
            right = rect.left() - 4
        layout.strip = list(reversed(strip))

    def _build_layout(self, row: ChatRow, width: int, palette: QPalette, dark: bool) -> RowLayout:
        base, bold, small = self._fonts()
        fm_base, fm_bold, fm_small = QFontMetrics(base), QFontMetrics(bold), QFontMetrics(small)
        y = PAD_Y
        model_text = row.model or "" if row.role == "assistant" else ""
        layout = RowLayout(
            height=0, header_y=y, header_text=row.role_label, model_text=model_text,
            header_h=self._header_height(),
        )
        self._layout_header(row, layout, width)
        y += layout.header_h + GAP // 2

        dropped = dropped_note(row)
        if dropped:
            layout.notes.append((y, dropped, "dropped"))
            y += self._wrapped_height(fm_small, dropped, width) + GAP // 2

        if row.reasoning:
            words = len(row.reasoning.split())
            arrow = "▾" if row.reasoning_expanded else "▸"
            label = f"{arrow} Reasoning · {words:,} words"
            layout.reasoning_label = label
            layout.reasoning_toggle = QRect(
                PAD_X, y, fm_small.horizontalAdvance(label) + 8, fm_small.height()
            )
            y += fm_small.height() + GAP // 2
            if row.reasoning_expanded:
                doc = _new_document(small, palette)
                doc.setPlainText(row.reasoning)
                doc.setTextWidth(width - 12)
                layout.reasoning_doc = doc
                layout.reasoning_y = y
                y += math.ceil(doc.size().height()) + GAP

        sdoc = self._streaming.get(row.id)
        if row.is_streaming:
            if sdoc is None:
                sdoc = StreamingDocument(base, palette)
                self._streaming[row.id] = sdoc
            sdoc.finished = sdoc.checked = False  # (a continued reply streams on)
            sdoc.update(row.content, width)
            if row.content:
                layout.body = sdoc.stack
            else:
                layout.placeholder = row.waiting or "Waiting for the first token…"
        elif not row.loaded:
            layout.placeholder = "Loading…"
        else:
            if sdoc is not None:
                layout.body = self._finish_streamed(row, sdoc, width, dark)
            if layout.body is None and len(row.content) > BIG_BODY_CHARS:
                paged = self._paged_body(row, base, palette, dark, width)
                layout.body = paged.stack
                if paged.remaining > 0:
                    layout.paged_note = paged.note()
            if layout.body is None and row.content:
                doc = _new_document(base, palette)
                doc.setHtml(self._html_for(row, dark))
                doc.setTextWidth(width)
                layout.body = StackedDocument([doc])
        if layout.body is not None:
            layout.body_doc = layout.body.first
            layout.body_y = y
            if not row.is_streaming and row.role == "assistant":
                self._layout_code_blocks(layout, fm_small, dark)
            y += math.ceil(layout.body.height()) + GAP // 2
            if layout.paged_note:
                layout.notes.append((y, layout.paged_note, "paged"))
                y += self._wrapped_height(fm_small, layout.paged_note, width) + GAP // 2
                layout.buttons = self._button_row(["more"], PAD_X, y + 2, fm_base)
                y += RETRY_H + GAP + 2
        elif layout.placeholder:
            layout.body_y = y
            y += fm_base.lineSpacing() + GAP // 2

        if row.images and row.loaded:
            y = self._layout_images(row, layout, y, width, fm_small)

        if row.refusal:
            layout.notes.append((y, f"The model refused: {row.refusal}", "refusal"))
            y += self._wrapped_height(fm_small, row.refusal, width) + GAP // 2

        buttons = inline_buttons(row)
        if row.status == "error":
            text = row.error or "The request failed."
            inner = width - 24
            text_h = fm_base.boundingRect(
                QRect(0, 0, inner, 100000), int(Qt.TextFlag.TextWordWrap), text
            ).height()
            top = y + 2
            text_rect = QRect(PAD_X + 12, top + 8 + fm_bold.height() + 2, inner, text_h)
            button_top = text_rect.bottom() + 8
            layout.buttons += self._button_row(buttons, PAD_X + 12, button_top, fm_base)
            layout.retry_rect = next((r for a, r in layout.buttons if a == "retry"), None)
            layout.error_rect = QRect(PAD_X, top, width, button_top + RETRY_H + 10 - top)
            layout.error_text_rect = text_rect
            y = layout.error_rect.bottom() + GAP

        note = status_note(row)
        if note:
            layout.notes.append((y, note, "status"))
            y += self._wrapped_height(fm_small, note, width) + GAP // 2

        if buttons and row.status != "error":
            layout.buttons += self._button_row(buttons, PAD_X, y + 2, fm_base)
            y += RETRY_H + GAP + 2

        footer = footer_text(row)
        if footer:
            layout.footer_y = y
            layout.footer_text = footer
            y += self._wrapped_height(fm_small, footer, width) + GAP // 2

        layout.height = y + PAD_Y
        return layout

    def _layout_images(self, row: ChatRow, layout: RowLayout, y: int, width: int, fm_small: QFontMetrics) -> int:
        """Thumbnails in rows under the text (wrapping at `width`), then one label per image
        that is only a URL or cannot be read. Returns the y below them."""
        x, line_h = PAD_X, 0
        labels: list[str] = []
        for i, part in enumerate(row.images):
            image = self._thumbnail(row.id, i, part) if part.get("data_b64") else None
            if image is None:
                url = part.get("url")
                labels.append(f"[image: {url}]" if url else "[image: unreadable]")
                continue
            size = image.deviceIndependentSize().toSize()
            if x > PAD_X and x + size.width() > PAD_X + width:
                y += line_h + THUMB_GAP
                x, line_h = PAD_X, 0
            layout.thumbs.append((QRect(QPoint(x, y), size), image))
            x += size.width() + THUMB_GAP
            line_h = max(line_h, size.height())
        if layout.thumbs:
            y += line_h + GAP
        for text in labels:
            text = fm_small.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
            layout.image_labels.append((QRect(PAD_X, y, width, fm_small.height()), text))
            y += fm_small.height() + GAP // 2
        return y

    def _thumbnail(self, message_id: int, index: int, part: dict[str, Any]) -> QImage | None:
        """The part's thumbnail: decoded from base64 and scaled once, then cached."""
        key = (message_id, index)
        if key in self._thumbs:
            self._thumbs.move_to_end(key)
            return self._thumbs[key]
        self.images_decoded += 1
        try:
            data = base64.b64decode(part.get("data_b64") or "", validate=True)
        except (binascii.Error, ValueError):
            data = b""
        decoded = QImage()
        image: QImage | None = None
        if data and decoded.loadFromData(data) and not decoded.isNull():
            image = decoded
            ratio = max(1.0, self._view.devicePixelRatioF())
            limit = round(THUMB_MAX * ratio)
            if decoded.width() > limit or decoded.height() > limit:
                image = decoded.scaled(
                    limit, limit, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                image.setDevicePixelRatio(ratio)
        self._thumbs[key] = image
        while len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        return image

    def thumbnail_sizes(self, row: ChatRow, palette: QPalette) -> list[QSize]:
        """The painted sizes of a row's image thumbnails (lays the row out if it never was)."""
        return [rect.size() for rect, _image in self.layout_for(row, palette).thumbs]

    def _button_row(self, actions: list[str], x: int, y: int, fm: QFontMetrics) -> list[tuple[str, QRect]]:
        out: list[tuple[str, QRect]] = []
        for action in actions:
            w = max(RETRY_W, fm.horizontalAdvance(BUTTON_LABELS[action]) + 20)
            out.append((action, QRect(x, y, w, RETRY_H)))
            x += w + BUTTON_GAP
        return out

    def _layout_code_blocks(self, layout: RowLayout, fm_small: QFontMetrics, dark: bool) -> None:
        assert layout.body is not None
        layout.code_blocks = layout.body.code_blocks(dark)
        w = max(fm_small.horizontalAdvance(CODE_COPY_LABEL), fm_small.horizontalAdvance(CODE_COPIED_LABEL))
        w += 2 * PILL_PAD
        h = fm_small.height() + 4
        text_width = layout.body.width()
        for block in layout.code_blocks:
            # The frame's rect includes its margins; the shaded box ends at the text width.
            right = int(min(block.rect.right(), text_width))
            layout.code_copy_rects.append(
                QRect(PAD_X + right - w - 6, layout.body_y + int(block.rect.top()) + 8, w, h)
            )

    @staticmethod
    def _wrapped_height(fm: QFontMetrics, text: str, width: int) -> int:
        return fm.boundingRect(QRect(0, 0, width, 100000), int(Qt.TextFlag.TextWordWrap), text).height()

    # --- painting --------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        row: ChatRow | None = index.data(ROW_ROLE)
        if row is None:
            return
        self.paint_calls += 1
        self.painted_ids.add(row.id)
        palette = option.palette
        if not row.loaded:
            self._paint_placeholder(painter, option, row)
            self.loadRequested.emit(row.id)
            return
        layout = self.layout_for(row, palette)
        if layout.height != option.rect.height():
            self._pending_resize.add(QPersistentModelIndex(index))
            self._flush.start()

        a = accents(_is_dark(palette))
        base, bold, small = self._fonts()
        fm_small = QFontMetrics(small)
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = self._view.hovered_row == index.row()
        painter.save()
        painter.setClipRect(rect)
        if row.role == "user":
            painter.fillRect(rect, palette.color(QPalette.ColorRole.AlternateBase))
        if selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(28)
            painter.fillRect(rect, highlight)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), palette.color(QPalette.ColorRole.Highlight))
        painter.translate(rect.topLeft())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        text_colour = palette.color(QPalette.ColorRole.Text)
        muted = QColor(a["muted"])

        # header: role label, the model that produced the reply, the version navigator
        painter.setFont(bold)
        painter.setPen(text_colour)
        fm_bold = QFontMetrics(bold)
        baseline = layout.header_y + (layout.header_h + fm_bold.ascent() - fm_bold.descent()) // 2
        painter.drawText(QPoint(PAD_X, baseline), layout.header_text)
        if layout.model_text:
            painter.setFont(small)
            painter.setPen(muted)
            x = PAD_X + fm_bold.horizontalAdvance(layout.header_text) + 8
            painter.drawText(QPoint(x, baseline), layout.model_text)
        if layout.nav_rect is not None and layout.nav_prev is not None and layout.nav_next is not None:
            self._paint_navigator(painter, row, layout, palette, small, muted)
        if (hovered or selected) and layout.strip:
            painter.setFont(small)
            for action, pill in layout.strip:
                self._paint_pill(painter, pill, ACTION_LABELS[action], palette, danger=action == "delete", accent=a)

        # reasoning: a dimmed, collapsible section above the answer
        if layout.reasoning_toggle is not None:
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(
                QPoint(layout.reasoning_toggle.left(), layout.reasoning_toggle.top() + fm_small.ascent()),
                layout.reasoning_label,
            )
        if layout.reasoning_doc is not None:
            painter.fillRect(QRect(PAD_X, layout.reasoning_y, 3, math.ceil(layout.reasoning_doc.size().height())), muted)
            self._draw_doc(painter, layout.reasoning_doc, PAD_X + 12, layout.reasoning_y, muted, rect)

        if layout.body is not None:
            # Only what is on screen of a long body is drawn.
            visible = QRectF(rect.intersected(self._view.viewport().rect()).translated(-rect.topLeft()))
            layout.body.draw(painter, PAD_X, layout.body_y, text_colour, visible)
        elif layout.placeholder:
            painter.setFont(base)
            painter.setPen(muted)
            painter.drawText(QPoint(PAD_X, layout.body_y + QFontMetrics(base).ascent()), layout.placeholder)

        if layout.thumbs:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
            for thumb_rect, image in layout.thumbs:
                painter.drawImage(thumb_rect, image)
                painter.drawRect(QRectF(thumb_rect).adjusted(-0.5, -0.5, 0.5, 0.5))
        if layout.image_labels:
            painter.setFont(small)
            painter.setPen(muted)
            for label_rect, text in layout.image_labels:
                painter.drawText(label_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)

        if layout.code_copy_rects:
            painter.setFont(small)
            for i, pill in enumerate(layout.code_copy_rects):
                label = CODE_COPIED_LABEL if self.copied == (row.id, i) else CODE_COPY_LABEL
                self._paint_pill(painter, pill, label, palette, danger=False, accent=a)

        if layout.error_rect is not None and layout.error_text_rect is not None:
            painter.setPen(QPen(QColor(a["error"]), 1))
            painter.setBrush(QColor(a["warn_bg"]))
            painter.drawRoundedRect(QRectF(layout.error_rect).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
            painter.setPen(QColor(a["warn_fg"]))
            painter.setFont(bold)
            painter.drawText(QPoint(layout.error_text_rect.left(), layout.error_rect.top() + 8 + fm_bold.ascent()), "⚠ The request failed")
            painter.setFont(base)
            painter.drawText(layout.error_text_rect, int(Qt.TextFlag.TextWordWrap), row.error or "The request failed.")
            painter.setBrush(Qt.BrushStyle.NoBrush)

        painter.setFont(base)
        for action, button in layout.buttons:
            border = QColor(a["error"]) if row.status == "error" else palette.color(QPalette.ColorRole.Mid)
            painter.setPen(QPen(border, 1))
            painter.setBrush(palette.color(QPalette.ColorRole.Button))
            painter.drawRoundedRect(QRectF(button).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
            painter.drawText(button, int(Qt.AlignmentFlag.AlignCenter), BUTTON_LABELS[action])
        painter.setBrush(Qt.BrushStyle.NoBrush)

        painter.setFont(small)
        for y, text, kind in layout.notes:
            painter.setPen(QColor(a["warn_fg"]) if kind == "refusal" else muted)
            painter.drawText(
                QRect(PAD_X, y, self.content_width(), 100000),
                int(Qt.TextFlag.TextWordWrap),
                ("ⓘ " + text) if kind == "dropped" else text,
            )
        if layout.footer_text:
            painter.setPen(muted)
            painter.drawText(
                QRect(PAD_X, layout.footer_y, self.content_width(), 100000),
                int(Qt.TextFlag.TextWordWrap),
                layout.footer_text,
            )

        # a hairline between messages
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Midlight), 1))
        painter.drawLine(0, rect.height() - 1, rect.width(), rect.height() - 1)
        painter.restore()

    def _paint_placeholder(self, painter: QPainter, option: QStyleOptionViewItem, row: ChatRow) -> None:
        """A row whose message is still being read: its role and a muted "Loading…", in the
        estimated height (so filling it in moves nothing until it is really laid out)."""
        palette = option.palette
        base, bold, _small = self._fonts()
        rect = option.rect
        painter.save()
        painter.setClipRect(rect)
        if row.role == "user":
            painter.fillRect(rect, palette.color(QPalette.ColorRole.AlternateBase))
        painter.setFont(bold)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        fm_bold = QFontMetrics(bold)
        painter.drawText(QPoint(rect.left() + PAD_X, rect.top() + PAD_Y + fm_bold.ascent()), row.role_label)
        painter.setFont(base)
        painter.setPen(QColor(accents(_is_dark(palette))["muted"]))
        y = rect.top() + PAD_Y + self._header_height() + GAP // 2 + QFontMetrics(base).ascent()
        painter.drawText(QPoint(rect.left() + PAD_X, y), "Loading…")
        painter.restore()

    @staticmethod
    def _paint_pill(
        painter: QPainter, pill: QRect, label: str, palette: QPalette, *, danger: bool, accent: dict[str, str]
    ) -> None:
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Button))
        painter.drawRoundedRect(QRectF(pill).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QColor(accent["error"]) if danger else palette.color(QPalette.ColorRole.ButtonText))
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), label)

    def _paint_navigator(
        self, painter: QPainter, row: ChatRow, layout: RowLayout, palette: QPalette, small: QFont, muted: QColor
    ) -> None:
        assert layout.nav_prev is not None and layout.nav_next is not None and layout.nav_rect is not None
        painter.setFont(small)
        whole = layout.nav_prev.united(layout.nav_next)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(QRectF(whole).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        text = palette.color(QPalette.ColorRole.ButtonText)
        first, last = row.sibling_index <= 0, row.sibling_index >= row.sibling_count - 1
        painter.setPen(muted.lighter(150) if first else text)
        painter.drawText(layout.nav_prev, int(Qt.AlignmentFlag.AlignCenter), "‹")
        painter.setPen(text)
        painter.drawText(layout.nav_rect, int(Qt.AlignmentFlag.AlignCenter), layout.nav_text)
        painter.setPen(muted.lighter(150) if last else text)
        painter.drawText(layout.nav_next, int(Qt.AlignmentFlag.AlignCenter), "›")

    @staticmethod
    def _draw_doc(painter: QPainter, doc: QTextDocument, x: int, y: int, colour: QColor, rect: QRect) -> None:
        painter.save()
        painter.translate(x, y)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.ColorRole.Text, colour)
        # Only the visible part of a long document is drawn.
        ctx.clip = QRectF(0, -y, rect.width(), rect.height())
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def _flush_size_changes(self) -> None:
        pending, self._pending_resize = self._pending_resize, set()
        model = self._view.model()
        for pindex in pending:
            if pindex.isValid() and model is not None:
                self.sizeHintChanged.emit(model.index(pindex.row(), 0))

    # --- interaction -----------------------------------------------------------------------

    def hit_test(self, row: ChatRow, palette: QPalette, pos: QPoint) -> tuple[str, int] | None:
        """What is under `pos` (row coordinates): `(action, detail)` or None.

        Actions: an ACTION_LABELS key, "prev"/"next", "retry"/"continue"/"regenerate" buttons,
        "reasoning", "copy_code" (detail = the block's index) and "link".
        """
        layout = self.layout_for(row, palette)
        for i, rect in enumerate(layout.code_copy_rects):
            if rect.contains(pos):
                return "copy_code", i
        for action, rect in layout.buttons:
            if rect.contains(pos):
                return action, 0
        for action, rect in layout.strip:
            if rect.contains(pos):
                return action, 0
        if layout.nav_prev is not None and layout.nav_prev.contains(pos):
            return "prev", 0
        if layout.nav_next is not None and layout.nav_next.contains(pos):
            return "next", 0
        if layout.reasoning_toggle is not None and layout.reasoning_toggle.contains(pos):
            return "reasoning", 0
        if layout.body is not None:
            local = QPointF(pos.x() - PAD_X, pos.y() - layout.body_y)
            anchor = layout.body.anchor_at(local)
            if anchor and QUrl(anchor).scheme() in ("http", "https", "mailto"):
                return "link", 0
        return None

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease or not isinstance(event, QMouseEvent):
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        row: ChatRow | None = index.data(ROW_ROLE)
        if row is None:
            return False
        pos = event.position().toPoint() - option.rect.topLeft()
        hit = self.hit_test(row, option.palette, pos)
        if hit is None:
            return False
        action, detail = hit
        if action == "retry":
            self.retryRequested.emit(row.id)
        elif action == "reasoning":
            self.reasoningToggled.emit(index.row())
        elif action == "copy_code":
            self.codeCopyRequested.emit(index.row(), detail)
        elif action == "more":
            self.show_more(row.id)
        elif action == "link":
            layout = self.layout_for(row, option.palette)
            assert layout.body is not None
            local = QPointF(pos.x() - PAD_X, pos.y() - layout.body_y)
            QDesktopServices.openUrl(QUrl(layout.body.anchor_at(local)))
        else:
            self.actionRequested.emit(action, row.id)
        return True

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> bool:
        row: ChatRow | None = index.data(ROW_ROLE)
        if row is not None and event.type() == QEvent.Type.ToolTip:
            hit = self.hit_test(row, option.palette, event.pos() - option.rect.topLeft())
            tip = _tooltip(hit[0]) if hit is not None else ""
            if tip:
                QToolTip.showText(event.globalPos(), tip, view)
                return True
        return super().helpEvent(event, view, option, index)

    def streaming_cost(self, message_id: int) -> float:
        """Seconds the last refresh of this streaming reply took (0 when unknown)."""
        sdoc = self._streaming.get(message_id)
        return 0.0 if sdoc is None else sdoc.last_cost

    def forget(self) -> None:
        """Drop every cache (a new thread was opened)."""
        self._html.clear()
        self._layouts.clear()
        self._exact.clear()
        self._estimates.clear()
        self._streaming.clear()
        self._paged.clear()
        self._pending_resize.clear()
        self._thumbs.clear()
        self._metrics_key = None


_TOOLTIPS = {
    "copy": "Copy this message as markdown",
    "edit": "Edit and resend as a new branch",
    "regenerate": "Ask for another reply (a new version)",
    "continue": "Ask the model to continue this reply",
    "delete": "Delete this message and everything below it",
    "prev": "Previous version",
    "next": "Next version",
    "reasoning": "Show or hide the model's reasoning",
    "copy_code": "Copy this code block",
    "retry": "Ask again",
    "copy_text": "Copy the text of this reply (it could not be saved)",
    "save_text": "Save the text of this reply to a file (it could not be saved)",
}


def _tooltip(action: str) -> str:
    tip = _TOOLTIPS.get(action, "")
    shortcut = ACTION_SHORTCUTS.get(action)
    if tip and shortcut:
        tip += f" ({shortcut})"
    return tip


class MessageView(QListView):
    """The scrolling list of messages, with an empty-state hint and stick-to-bottom scrolling.

    `actionRequested(action, message_id)` carries every per-message action the view does not do
    itself (edit, regenerate, continue, delete, prev, next); copying is done here.
    """

    retryRequested = Signal(int)
    actionRequested = Signal(str, int)
    codeCopied = Signal(int, int)  # (message id, code block index)
    painted = Signal()  # after each paint of the list (a thread's first paint starts its loading)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageView")
        self.setAccessibleName("Messages")
        self.setAccessibleDescription(
            "The conversation. Arrow keys move between messages; the context menu key lists the "
            "actions. Ctrl+C copies, F2 edits, Ctrl+Shift+R regenerates, Ctrl+Shift+Enter "
            "continues, Delete deletes, Alt+Left and Alt+Right switch versions, Space shows "
            "reasoning."
        )
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)  # hover shows a row's action strip
        self.setFrameShape(QListView.Shape.NoFrame)
        # The sides of the reading column are the view's own background, the messages' colour.
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.verticalScrollBar().setSingleStep(24)
        self.empty_hint = EMPTY_HINT
        self.hovered_row = -1
        self._stick_to_bottom = True
        self.message_delegate = MessageDelegate(self)
        self.setItemDelegate(self.message_delegate)
        self.message_delegate.retryRequested.connect(self.retryRequested)
        self.message_delegate.reasoningToggled.connect(self.toggle_reasoning)
        self.message_delegate.actionRequested.connect(self.actionRequested)
        self.message_delegate.codeCopyRequested.connect(self.copy_code)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(COPIED_MS)
        self._copied_timer.timeout.connect(self._clear_copied)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    # --- model -----------------------------------------------------------------------------

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        self.message_delegate.model = model if isinstance(model, MessageModel) else None

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.message_delegate.forget_metrics()
            self._fit_reading_column()
        super().changeEvent(event)

    # --- the reading column (docs/VISUAL.md) -------------------------------------------------

    def reading_width(self) -> int:
        """The widest a message row gets: READING_CHARS average characters plus the row's
        padding. On a wider view the rows are centred and the sides stay empty."""
        return self.fontMetrics().averageCharWidth() * READING_CHARS + 2 * PAD_X

    def _fit_reading_column(self) -> None:
        # Viewport margins, not a narrower delegate: every row coordinate, hit test and cached
        # layout stays relative to the viewport, which simply is the column.
        bar = self.verticalScrollBar()
        bar_w = bar.sizeHint().width() if bar.isVisible() else 0
        spare = self.width() - bar_w - self.reading_width()
        side = max(0, spare // 2)
        if self.viewportMargins().left() != side:
            self.setViewportMargins(side, 0, side, 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_reading_column()
        super().resizeEvent(event)

    def event(self, event: QEvent) -> bool:
        # Qt gives the scroll area's margins no wheel handling (only the viewport scrolls):
        # a wheel beside the reading column scrolls the messages all the same.
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            self.wheelEvent(event)
            return True
        return super().event(event)

    def message_model(self) -> MessageModel:
        model = self.model()
        assert isinstance(model, MessageModel)
        return model

    def toggle_reasoning(self, row_number: int) -> None:
        model = self.message_model()
        if 0 <= row_number < model.rowCount():
            row = model.row(row_number)
            if row.reasoning:
                model.update_row(row_number, reasoning_expanded=not row.reasoning_expanded)
                self.message_delegate.sizeHintChanged.emit(model.index(row_number, 0))

    def settle(self) -> None:
        """Paint and lay out the visible rows now, so their geometry is exact (tests, screenshots)."""
        for _ in range(3):
            self.viewport().repaint()
            self.message_delegate._flush_size_changes()
            self.doItemsLayout()

    def row_layout(self, row_number: int) -> RowLayout:
        """The painted layout of a row (built now if it was never painted)."""
        return self.message_delegate.layout_for(self.message_model().row(row_number), self.palette())

    def thumbnail_sizes(self, row_number: int) -> list[QSize]:
        """The sizes of a row's image thumbnails, as painted (see `MessageDelegate.thumbnail_sizes`)."""
        return self.message_delegate.thumbnail_sizes(self.message_model().row(row_number), self.palette())

    # --- scrolling -------------------------------------------------------------------------

    @property
    def stick_to_bottom(self) -> bool:
        return self._stick_to_bottom

    def follow_bottom(self) -> None:
        """Stick to the bottom again and go there (a new message was sent)."""
        self._stick_to_bottom = True
        self.scrollToBottom()

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 4

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)

    # --- hover -----------------------------------------------------------------------------

    def _set_hovered(self, row_number: int) -> None:
        if row_number == self.hovered_row:
            return
        model = self.model()
        old, self.hovered_row = self.hovered_row, row_number
        if model is None:
            return
        # Repaint just the two rows (their cached layouts are reused; no relayout).
        for number in (old, row_number):
            if 0 <= number < model.rowCount():
                self.viewport().update(self.visualRect(model.index(number, 0)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        self._set_hovered(index.row() if index.isValid() else -1)
        cursor = Qt.CursorShape.ArrowCursor
        if index.isValid():
            row: ChatRow = index.data(ROW_ROLE)
            hit = self.message_delegate.hit_test(row, self.palette(), pos - self.visualRect(index).topLeft())
            if hit is not None:
                cursor = Qt.CursorShape.PointingHandCursor
        self.viewport().setCursor(cursor)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hovered(-1)
        super().leaveEvent(event)

    # --- painting and keys -----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if model is not None and model.rowCount() == 0 and self.empty_hint:
            painter = QPainter(self.viewport())
            colour = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.setPen(colour)
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.1)
            painter.setFont(font)
            painter.drawText(
                self.viewport().rect().adjusted(24, 24, -24, -24),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self.empty_hint,
            )
            painter.end()
            return
        super().paintEvent(event)
        self.painted.emit()

    _KEY_ACTIONS: ClassVar[dict[tuple[int, Qt.KeyboardModifier], str]] = {
        (Qt.Key.Key_F2, Qt.KeyboardModifier.NoModifier): "edit",
        (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "regenerate",
        (Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "continue",
        (Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "continue",
        (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier): "delete",
        (Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier): "prev",
        (Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier): "next",
    }

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        # A placeholder (message still being read) offers no actions yet; arrows still move.
        if index.isValid() and self.message_model().row(index.row()).loaded:
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if event.key() == Qt.Key.Key_Space and modifiers == Qt.KeyboardModifier.NoModifier:
                self.toggle_reasoning(index.row())
                return
            if event.matches(QKeySequence.StandardKey.Copy):
                self.copy_row(index.row())
                return
            action = self._KEY_ACTIONS.get((event.key(), modifiers))
            if action is not None:
                row: ChatRow = index.data(ROW_ROLE)
                if action in ("prev", "next") and not row.has_siblings:
                    super().keyPressEvent(event)
                    return
                self.actionRequested.emit(action, row.id)
                return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos()) if event.reason() == QContextMenuEvent.Reason.Mouse else self.currentIndex()
        if not index.isValid() or not self.message_model().row(index.row()).loaded:
            return
        self.setCurrentIndex(index)
        menu = self.context_menu(index.row())
        menu.popup(event.globalPos())

    def context_menu(self, row_number: int) -> QMenu:
        """The actions of one message as a menu (shown with popup(), never exec())."""
        row = self.message_model().row(row_number)
        menu = QMenu(self)
        menu.setAccessibleName("Message actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def add(text: str, shortcut: str | None, slot: Any, enabled: bool = True) -> None:
            action = menu.addAction(text)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setEnabled(enabled)
            action.triggered.connect(slot)

        if row.content or row.status == "error":
            add("&Copy text", ACTION_SHORTCUTS["copy"], lambda: self.copy_row(row_number))
        if self.row_layout(row_number).paged_note:
            add("Show &more of this message", None, lambda: self.message_delegate.show_more(row.id))
        blocks = self.row_layout(row_number).code_blocks
        for i in range(min(len(blocks), 9)):
            add(f"Copy code block &{i + 1}", None, lambda _=False, i=i: self.copy_code(row_number, i))
        available = actions_for(row)
        if row.has_siblings:
            menu.addSeparator()
            add("&Previous version", ACTION_SHORTCUTS["prev"], lambda: self.actionRequested.emit("prev", row.id), row.sibling_index > 0)
            add("&Next version", ACTION_SHORTCUTS["next"], lambda: self.actionRequested.emit("next", row.id), row.sibling_index < row.sibling_count - 1)
        if row.reasoning:
            add("Hide &reasoning" if row.reasoning_expanded else "Show &reasoning", ACTION_SHORTCUTS["reasoning"], lambda: self.toggle_reasoning(row_number))
        menu.addSeparator()
        if row.status == "error":
            add("Re&try", None, lambda: self.retryRequested.emit(row.id))
        for name, text in (("edit", "&Edit and resend…"), ("regenerate", "Re&generate"), ("continue", "C&ontinue")):
            if name in available:
                add(text, ACTION_SHORTCUTS[name], lambda _=False, n=name: self.actionRequested.emit(n, row.id))
        if "delete" in available:
            menu.addSeparator()
            add("&Delete…", ACTION_SHORTCUTS["delete"], lambda: self.actionRequested.emit("delete", row.id))
        return menu

    # --- clipboard -------------------------------------------------------------------------

    def copy_row(self, row_number: int) -> None:
        """Copy a message's text as markdown (an error row: its error sentence)."""
        row = self.message_model().row(row_number)
        QGuiApplication.clipboard().setText(row.content if row.status != "error" or row.content else (row.error or ""))

    def _copy(self, row_number: int) -> None:  # kept for callers of the first version
        self.copy_row(row_number)

    def copy_code(self, row_number: int, block: int) -> bool:
        """Copy the raw code of a message's `block`-th code block; the label says "Copied ✓"."""
        model = self.message_model()
        if not 0 <= row_number < model.rowCount():
            return False
        row = model.row(row_number)
        blocks = self.row_layout(row_number).code_blocks
        if not 0 <= block < len(blocks):
            return False
        QGuiApplication.clipboard().setText(blocks[block].code)
        self.message_delegate.copied = (row.id, block)
        self._copied_timer.start()
        self.viewport().update(self.visualRect(model.index(row_number, 0)))
        self.codeCopied.emit(row.id, block)
        return True

    def _clear_copied(self) -> None:
        copied, self.message_delegate.copied = self.message_delegate.copied, None
        if copied is None or self.model() is None:
            return
        i = self.message_model().find_row(copied[0])
        if i >= 0:
            self.viewport().update(self.visualRect(self.message_model().index(i, 0)))
