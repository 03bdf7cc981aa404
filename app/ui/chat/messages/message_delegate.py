"""The message delegate: paints each ChatRow from cached documents and hit-tests what it painted.

Why a delegate and not a widget per message: a thread of thousands of messages must cost what is
on screen. The delegate therefore works in two tiers:

- `sizeHint` answers from a cheap *estimate* (characters per line x line height) until a row has
  been painted once; the view lays out thousands of rows with no markdown and no QTextDocument;
- `paint` builds the row's real layout (markdown -> HTML -> QTextDocument, cached by
  `(message id, version, width)`), and when the real height differs from what the view used, it
  reports `sizeHintChanged` for that row (batched) so the view corrects it.

A row whose reply is streaming keeps one `StreamingDocument` (see `documents`). A long thread
is a window of its newest rows (see `message_model`); rows inserted above it are sized by the
estimate until they come on screen.

Every clickable thing is painted and hit-tested from the cached `RowLayout` (no child widgets):

- the header's action strip: flat icon buttons (Copy, Save as note, Edit, Regenerate, Continue,
  Delete; the SVGs of `resources/icons`, docs/VISUAL.md), shown on hover or selection, the one
  under the pointer framed, each with a tooltip naming its shortcut;
- the sibling navigator `‹ 2/3 ›` on any message with other versions;
- a "Copy" label on each fenced code block, which copies the block's raw code;
- links (http, https, mailto, and `switchboard-note:` citations of the Notes tab), opened on a
  click through QDesktopServices;
- the reasoning toggle ("▸ Reasoning · N words"), collapsed by default;
- Retry / Continue / Regenerate buttons under failed, interrupted or cut-short replies.

A message's image attachments are a row of thumbnails under its text (at most `THUMB_MAX` px on
the long side). Each is decoded and scaled once, when its row is first laid out for painting, and
kept by `(message id, part index)`; an image given by URL is a "[image: url]" label, never fetched.
Errors are painted as a distinct red box with the error sentence — never as model output.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    QDesktopServices,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyledItemDelegate,
    QToolTip,
)

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStyleOptionViewItem

from app.ui.chat.messages.documents import (
    BIG_BODY_CHARS,
    HEAD_CHARS,
    CodeBlock,
    PagedBody,
    StackedDocument,
    StreamingDocument,
    is_dark,
    new_document,
)
from app.ui.chat.messages.markdown_render import (
    has_reference_links,
    render_markdown,
    render_plain,
)
from app.ui.chat.messages.message_model import ROW_ROLE, ChatRow, MessageModel
from app.ui.chat.messages.message_rules import actions_for
from app.ui.chat.messages.row_text import (
    BUTTON_LABELS,
    CODE_COPIED_LABEL,
    CODE_COPY_LABEL,
    dropped_note,
    footer_text,
    inline_buttons,
    status_note,
    tooltip,
)
from app.ui.style import ICON_SIZE, NEUTRAL_INK, icon, is_selected
from app.ui.theme import accents

__all__ = [
    "GAP",
    "THUMB_MAX",
    "MessageDelegate",
    "RowLayout",
]

PAD_X = 16
PAD_Y = 10
GAP = 6
RETRY_W = 84
RETRY_H = 26
BUTTON_GAP = 8
PILL_PAD = 7
# Links a click opens (through QDesktopServices; the main window handles `switchboard-note`, a
# citation of the Notes tab, by showing the hit there).
LINK_SCHEMES = ("http", "https", "mailto", "switchboard-note")
STRIP_BUTTON = 22  # px, the square of an action strip's icon button
STRIP_GAP = 2
# The action strip's icons (resources/icons/<name>.svg).
STRIP_ICONS: dict[str, str] = {
    "copy": "copy",
    "save_note": "note",
    "edit": "edit",
    "regenerate": "regenerate",
    "continue": "continue",
    "delete": "delete",
}
LAYOUT_CACHE = 300
HTML_CACHE = 600
FINISHED_STREAMS = 4  # streamed replies whose chunk documents are kept after they finish
THUMB_MAX = 160  # px, the long side of an image thumbnail (logical pixels)
THUMB_GAP = 8
THUMB_CACHE = 200  # decoded thumbnails kept, keyed by (message id, part index)
PAGED_BODIES = 8  # big messages whose page documents are kept


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


class MessageDelegate(QStyledItemDelegate):
    """Paints ChatRows; caches HTML by (id, content) and layouts by (id, version, width)."""

    retryRequested = Signal(int)  # message id of the error row
    reasoningToggled = Signal(int)  # row number
    actionRequested = Signal(str, int)  # (action, message id): edit, regenerate, prev, next...
    codeCopyRequested = Signal(int, int)  # (row number, code block index)

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self._view = view
        # The row under the pointer (its action strip shows); set by MessageView on hover.
        self.hovered_row = -1
        # The strip button under the pointer (framed), as (row number, action).
        self.hovered_action: tuple[int, str] | None = None
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
        self._flush.timeout.connect(self.flush_size_changes)
        # (message id, code block index) whose label says "Copied ✓" for a moment
        self.copied: tuple[int, int] | None = None
        # What a reply's text goes through before it is rendered, set per thread by the tab: an
        # "Ask about these" thread links its bare [n] citations (`linkify_citations`).
        self._text_filter: Callable[[str], str] | None = None
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
        return is_dark(self._view.palette())

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
        if len(row.content) > BIG_BODY_CHARS and not row.is_streaming:
            # Only what a PagedBody shows is counted (never a whole 5 MB string per estimate).
            paged = self._paged.get((row.id, self._dark_view()))
            chars = paged.shown if paged is not None and paged.content is row.content else HEAD_CHARS
            breaks = row.content.count("\n", 0, chars)
        else:
            chars, breaks = len(row.content), row.content.count("\n")
        big = chars != len(row.content) and not row.is_streaming
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

    def set_text_filter(self, text_filter: Callable[[str], str] | None) -> None:
        """Render replies through `text_filter` from now on (the caches are dropped)."""
        if text_filter is not self._text_filter:
            self._text_filter = text_filter
            self._html.clear()
            self._layouts.clear()
            self._streaming.clear()
            self._paged.clear()

    def _display(self, row: ChatRow) -> str:
        """The markdown rendered for a row: a reply's text through the thread's filter."""
        if self._text_filter is None or row.role != "assistant":
            return row.content
        return self._text_filter(row.content)

    def _html_for(self, row: ChatRow, dark: bool) -> str:
        # Keyed by content, not version: a row whose navigator or status changed keeps its HTML.
        key = (row.id, dark)
        cached = self._html.get(key)
        if cached is not None and cached[0] == row.content:
            self._html.move_to_end(key)
            return cached[1]
        if row.role == "assistant":
            html = render_markdown(self._display(row), dark=dark)
            self.markdown_renders += 1
        else:
            html = render_plain(row.content)
        self._cache_html(key, row.content, html)
        return html

    def layout_for(self, row: ChatRow, palette: QPalette) -> RowLayout:
        width = self.content_width()
        dark = is_dark(palette)
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
        text = self._display(row)
        if row.role != "assistant" or sdoc.dark != dark or not text.startswith(sdoc.text):
            self._streaming.pop(row.id, None)
            return None
        sdoc.update(text, width)  # the tokens that arrived after the last refresh
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
        button_y = y + (h - STRIP_BUTTON) // 2
        for action in reversed(actions_for(row)):
            rect = QRect(right - STRIP_BUTTON, button_y, STRIP_BUTTON, STRIP_BUTTON)
            strip.append((action, rect))
            right = rect.left() - STRIP_GAP
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
                doc = new_document(small, palette)
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
            sdoc.update(self._display(row), width)
            if row.content:
                layout.body = sdoc.stack
            else:
                layout.placeholder = row.waiting or "Waiting for the first token…"
        else:
            if sdoc is not None:
                layout.body = self._finish_streamed(row, sdoc, width, dark)
            if layout.body is None and len(row.content) > BIG_BODY_CHARS:
                paged = self._paged_body(row, base, palette, dark, width)
                layout.body = paged.stack
                if paged.remaining > 0:
                    layout.paged_note = paged.note()
            if layout.body is None and row.content:
                doc = new_document(base, palette)
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

        if row.images:
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
        layout = self.layout_for(row, palette)
        if layout.height != option.rect.height():
            self._pending_resize.add(QPersistentModelIndex(index))
            self._flush.start()

        a = accents(is_dark(palette))
        base, bold, small = self._fonts()
        fm_small = QFontMetrics(small)
        rect = option.rect
        selected = is_selected(option)
        hovered = self.hovered_row == index.row()
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
            self._paint_strip(painter, index.row(), layout, palette, a)

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

    def _paint_strip(
        self, painter: QPainter, row_number: int, layout: RowLayout, palette: QPalette, accent: dict[str, str]
    ) -> None:
        """The action strip: flat icon buttons; the one under the pointer gets a frame."""
        for action, rect in layout.strip:
            if self.hovered_action == (row_number, action):
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
                painter.setBrush(palette.color(QPalette.ColorRole.Button))
                painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
                painter.setBrush(Qt.BrushStyle.NoBrush)
            ink = accent["error"] if action == "delete" else NEUTRAL_INK
            target = QRect(QPoint(0, 0), ICON_SIZE)
            target.moveCenter(rect.center())
            icon(STRIP_ICONS[action], ink).paint(painter, target)

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

    def flush_size_changes(self) -> None:
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
            if anchor and QUrl(anchor).scheme() in LINK_SCHEMES:
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
            tip = tooltip(hit[0]) if hit is not None else ""
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
