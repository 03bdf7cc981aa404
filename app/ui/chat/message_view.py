"""The message list: a QListView whose delegate paints each message from a cached QTextDocument.

Why a delegate and not a widget per message: a thread of thousands of messages must cost what is
on screen. The delegate therefore works in two tiers:

- `sizeHint` answers from a cheap *estimate* (characters per line x line height) until a row has
  been painted once; the view lays out thousands of rows with no markdown and no QTextDocument;
- `paint` builds the row's real layout (markdown -> HTML -> QTextDocument, cached by
  `(message id, version, width)`), and when the real height differs from what the view used, it
  reports `sizeHintChanged` for that row (batched) so the view corrects it.

A row whose reply is streaming keeps one `StreamingDocument`: markdown is converted
incrementally (finished blocks once, then only the unfinished tail), the document is refreshed at
most once per tick, and the tab stretches the tick for very long replies using the measured cost.

Errors are painted as a distinct red box with the error sentence and a Retry button — never as
model output. Cancelled/interrupted replies get a small note under their partial text.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

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
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.ui.chat.markdown_render import IncrementalMarkdown, render_markdown, render_plain
from app.ui.chat.message_model import ROW_ROLE, ChatRow, MessageModel
from app.ui.theme import accents

__all__ = ["EMPTY_HINT", "MessageDelegate", "MessageView", "StreamingDocument"]

EMPTY_HINT = "Ask anything. Enter sends, Shift+Enter adds a line."

PAD_X = 16
PAD_Y = 10
GAP = 6
RETRY_W = 84
RETRY_H = 26
LAYOUT_CACHE = 300
HTML_CACHE = 600


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


class StreamingDocument:
    """The live document of a streaming reply.

    Markdown is converted incrementally (`IncrementalMarkdown`: finished blocks once, then only
    the unfinished tail), and the document is refreshed from the accumulated HTML. Qt's HTML
    parse is C++ and runs at most once per tick; `last_cost` (seconds) lets the tab slow its
    ticks down for very long replies so rendering never takes more than a fraction of the time.
    """

    def __init__(self, font: QFont, palette: QPalette) -> None:
        self.doc = _new_document(font, palette)
        self._markdown = IncrementalMarkdown(dark=_is_dark(palette))
        self._stable_html: list[str] = []
        self._seen = -1
        self.last_cost = 0.0

    def update(self, text: str, width: int) -> None:
        if len(text) == self._seen:
            if self.doc.textWidth() != width:
                self.doc.setTextWidth(width)
            return
        started = time.perf_counter()
        self._seen = len(text)
        chunk = self._markdown.update(text)
        if chunk.stable_html:
            self._stable_html.append(chunk.stable_html)
        self.doc.setHtml("".join(self._stable_html) + chunk.tail_html)
        self.doc.setTextWidth(width)
        self.doc.size()  # lay out now, so the cost below is the whole cost
        self.last_cost = time.perf_counter() - started


@dataclass
class RowLayout:
    """Geometry of one painted message, relative to its row's top-left corner."""

    height: int
    header_y: int
    header_text: str
    model_text: str
    reasoning_toggle: QRect | None = None
    reasoning_label: str = ""
    reasoning_doc: QTextDocument | None = None
    reasoning_y: int = 0
    body_doc: QTextDocument | None = None
    body_y: int = 0
    placeholder: str = ""
    error_rect: QRect | None = None
    error_text_rect: QRect | None = None
    retry_rect: QRect | None = None
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (y, text, kind)
    footer_y: int = 0
    footer_text: str = ""


def footer_text(row: ChatRow) -> str:
    """The per-reply statistics line: time to first token, speed, usage, unusual finish."""
    if row.role != "assistant" or row.is_streaming:
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
    if row.finish_reason and row.finish_reason != "stop" and row.status == "complete":
        if row.finish_reason == "length":
            parts.append("stopped at the length limit (Continue: next version)")
        else:
            parts.append(f"finish: {row.finish_reason}")
    return " · ".join(parts)


def status_note(row: ChatRow) -> str:
    if row.status == "cancelled":
        return "■ Stopped — you cancelled this reply; the text above is partial."
    if row.status == "interrupted":
        return "⚠ Interrupted — the reply did not finish; the text above is partial."
    return ""


class MessageDelegate(QStyledItemDelegate):
    """Paints ChatRows; caches HTML by (id, version) and layouts by (id, version, width)."""

    retryRequested = Signal(int)  # message id of the error row
    reasoningToggled = Signal(int)  # row number

    def __init__(self, view: MessageView) -> None:
        super().__init__(view)
        self._view = view
        self._html: OrderedDict[tuple[int, int, bool], str] = OrderedDict()
        self._layouts: OrderedDict[tuple[Any, ...], RowLayout] = OrderedDict()
        self._exact: dict[int, tuple[int, int, bool, int]] = {}  # id -> (version, width, exp, h)
        self._estimates: dict[int, tuple[int, int, int]] = {}  # id -> (version, width, h)
        self._streaming: dict[int, StreamingDocument] = {}
        self._pending_resize: set[QPersistentModelIndex] = set()
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._flush_size_changes)
        # Counters read by tests and benchmarks: work done is what was on screen.
        self.paint_calls = 0
        self.painted_ids: set[int] = set()
        self.layouts_built = 0
        self.markdown_renders = 0

    # --- fonts and colours -----------------------------------------------------------------

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        base = QFont(self._view.font())
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * 0.88))
        return base, bold, small

    def content_width(self) -> int:
        return max(120, self._view.viewport().width() - 2 * PAD_X)

    # --- size ------------------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        row: ChatRow | None = index.data(ROW_ROLE)
        vw = self._view.viewport().width()
        if row is None:
            return QSize(vw, 0)
        width = self.content_width()
        exact = self._exact.get(row.id)
        if exact is not None and exact[:3] == (row.version, width, row.reasoning_expanded):
            return QSize(vw, exact[3])
        est = self._estimates.get(row.id)
        if est is None or est[:2] != (row.version, width):
            est = (row.version, width, self._estimate_height(row, width))
            self._estimates[row.id] = est
        return QSize(vw, est[2])

    def _estimate_height(self, row: ChatRow, width: int) -> int:
        base, _bold, small = self._fonts()
        fm = QFontMetrics(base)
        line = fm.lineSpacing()
        per_line = max(8, int(width / max(1.0, fm.averageCharWidth() * 1.05)))
        lines = 0
        for text_line in row.content.split("\n"):
            lines += max(1, math.ceil(len(text_line) / per_line))
        fences = row.content.count("```") // 2
        body = lines * line + fences * 24 + row.content.count("\n\n") * 6
        h = PAD_Y + fm.height() + GAP + max(body, line) + PAD_Y
        if row.reasoning:
            h += QFontMetrics(small).height() + GAP
        if row.status == "error":
            h += 3 * line + RETRY_H + 24
        if row.role == "assistant" and row.status != "streaming":
            h += QFontMetrics(small).height() + GAP
        return h

    # --- layout ----------------------------------------------------------------------------

    def _html_for(self, row: ChatRow, dark: bool) -> str:
        key = (row.id, row.version, dark)
        html = self._html.get(key)
        if html is None:
            if row.role == "assistant":
                html = render_markdown(row.content, dark=dark)
                self.markdown_renders += 1
            else:
                html = render_plain(row.content)
            self._html[key] = html
            while len(self._html) > HTML_CACHE:
                self._html.popitem(last=False)
        else:
            self._html.move_to_end(key)
        return html

    def layout_for(self, row: ChatRow, palette: QPalette) -> RowLayout:
        width = self.content_width()
        dark = _is_dark(palette)
        key = (row.id, row.version, width, row.reasoning_expanded, dark)
        cached = self._layouts.get(key)
        if cached is not None:
            self._layouts.move_to_end(key)
            return cached
        layout = self._build_layout(row, width, palette, dark)
        self.layouts_built += 1
        self._layouts[key] = layout
        while len(self._layouts) > LAYOUT_CACHE:
            self._layouts.popitem(last=False)
        self._exact[row.id] = (row.version, width, row.reasoning_expanded, layout.height)
        return layout

    def _build_layout(self, row: ChatRow, width: int, palette: QPalette, dark: bool) -> RowLayout:
        base, bold, small = self._fonts()
        fm_base, fm_bold, fm_small = QFontMetrics(base), QFontMetrics(bold), QFontMetrics(small)
        y = PAD_Y
        model_text = row.model or "" if row.role == "assistant" else ""
        layout = RowLayout(height=0, header_y=y, header_text=row.role_label, model_text=model_text)
        y += fm_bold.height() + GAP // 2

        if row.reasoning:
            words = len(row.reasoning.split())
            arrow = "▾" if row.reasoning_expanded else "▸"
            label = f"{arrow} Reasoning · {words:,} words" + (
                "" if row.reasoning_expanded else " (click to show)"
            )
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

        if row.is_streaming:
            sdoc = self._streaming.get(row.id)
            if sdoc is None:
                sdoc = StreamingDocument(base, palette)
                self._streaming[row.id] = sdoc
            sdoc.update(row.content, width)
            if row.content:
                layout.body_doc = sdoc.doc
            else:
                layout.placeholder = "Waiting for the first token…"
        else:
            self._streaming.pop(row.id, None)
            if row.content:
                doc = _new_document(base, palette)
                doc.setHtml(self._html_for(row, dark))
                doc.setTextWidth(width)
                layout.body_doc = doc
        if layout.body_doc is not None:
            layout.body_y = y
            y += math.ceil(layout.body_doc.size().height()) + GAP // 2
        elif layout.placeholder:
            layout.body_y = y
            y += fm_base.lineSpacing() + GAP // 2

        if row.refusal:
            layout.notes.append((y, f"The model refused: {row.refusal}", "refusal"))
            y += self._wrapped_height(fm_small, row.refusal, width) + GAP // 2

        if row.status == "error":
            text = row.error or "The request failed."
            inner = width - 24
            text_h = fm_base.boundingRect(
                QRect(0, 0, inner, 100000), int(Qt.TextFlag.TextWordWrap), text
            ).height()
            top = y + 2
            text_rect = QRect(PAD_X + 12, top + 8 + fm_bold.height() + 2, inner, text_h)
            retry_top = text_rect.bottom() + 8
            layout.retry_rect = QRect(PAD_X + 12, retry_top, RETRY_W, RETRY_H)
            layout.error_rect = QRect(PAD_X, top, width, retry_top + RETRY_H + 10 - top)
            layout.error_text_rect = text_rect
            y = layout.error_rect.bottom() + GAP

        note = status_note(row)
        if note:
            layout.notes.append((y, note, "status"))
            y += self._wrapped_height(fm_small, note, width) + GAP // 2

        footer = footer_text(row)
        if footer:
            layout.footer_y = y
            layout.footer_text = footer
            y += fm_small.height() + GAP // 2

        layout.height = y + PAD_Y
        return layout

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

        a = accents(_is_dark(palette))
        base, bold, small = self._fonts()
        rect = option.rect
        painter.save()
        painter.setClipRect(rect)
        if row.role == "user":
            painter.fillRect(rect, palette.color(QPalette.ColorRole.AlternateBase))
        if option.state & QStyle.StateFlag.State_Selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(28)
            painter.fillRect(rect, highlight)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), palette.color(QPalette.ColorRole.Highlight))
        painter.translate(rect.topLeft())
        text_colour = palette.color(QPalette.ColorRole.Text)
        muted = QColor(a["muted"])

        # header: role label and the model that produced the reply
        painter.setFont(bold)
        painter.setPen(text_colour)
        fm_bold = QFontMetrics(bold)
        painter.drawText(QPoint(PAD_X, layout.header_y + fm_bold.ascent()), layout.header_text)
        if layout.model_text:
            painter.setFont(small)
            painter.setPen(muted)
            x = PAD_X + fm_bold.horizontalAdvance(layout.header_text) + 8
            painter.drawText(QPoint(x, layout.header_y + fm_bold.ascent()), layout.model_text)

        # reasoning: a dimmed, collapsible section above the answer
        if layout.reasoning_toggle is not None:
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(
                QPoint(layout.reasoning_toggle.left(), layout.reasoning_toggle.top() + QFontMetrics(small).ascent()),
                layout.reasoning_label,
            )
        if layout.reasoning_doc is not None:
            painter.fillRect(QRect(PAD_X, layout.reasoning_y, 3, math.ceil(layout.reasoning_doc.size().height())), muted)
            self._draw_doc(painter, layout.reasoning_doc, PAD_X + 12, layout.reasoning_y, muted, rect)

        if layout.body_doc is not None:
            self._draw_doc(painter, layout.body_doc, PAD_X, layout.body_y, text_colour, rect)
        elif layout.placeholder:
            painter.setFont(base)
            painter.setPen(muted)
            painter.drawText(QPoint(PAD_X, layout.body_y + QFontMetrics(base).ascent()), layout.placeholder)

        if layout.error_rect is not None and layout.error_text_rect is not None and layout.retry_rect is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(QColor(a["error"]), 1))
            painter.setBrush(QColor(a["warn_bg"]))
            painter.drawRoundedRect(QRectF(layout.error_rect).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
            painter.setPen(QColor(a["warn_fg"]))
            painter.setFont(bold)
            painter.drawText(QPoint(layout.error_text_rect.left(), layout.error_rect.top() + 8 + fm_bold.ascent()), "⚠ The request failed")
            painter.setFont(base)
            painter.drawText(layout.error_text_rect, int(Qt.TextFlag.TextWordWrap), row.error or "The request failed.")
            painter.setPen(QPen(QColor(a["error"]), 1))
            painter.setBrush(palette.color(QPalette.ColorRole.Button))
            painter.drawRoundedRect(QRectF(layout.retry_rect).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
            painter.drawText(layout.retry_rect, int(Qt.AlignmentFlag.AlignCenter), "↻ Retry")
            painter.setBrush(Qt.BrushStyle.NoBrush)

        painter.setFont(small)
        for y, text, kind in layout.notes:
            painter.setPen(QColor(a["warn_fg"]) if kind == "refusal" else muted)
            painter.drawText(
                QRect(PAD_X, y, self.content_width(), 100000), int(Qt.TextFlag.TextWordWrap), text
            )
        if layout.footer_text:
            painter.setPen(muted)
            painter.drawText(QPoint(PAD_X, layout.footer_y + QFontMetrics(small).ascent()), layout.footer_text)

        # a hairline between messages
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Midlight), 1))
        painter.drawLine(0, rect.height() - 1, rect.width(), rect.height() - 1)
        painter.restore()

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

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease or not isinstance(event, QMouseEvent):
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        row: ChatRow | None = index.data(ROW_ROLE)
        if row is None:
            return False
        layout = self.layout_for(row, option.palette)
        pos = event.position().toPoint() - option.rect.topLeft()
        if layout.retry_rect is not None and layout.retry_rect.contains(pos):
            self.retryRequested.emit(row.id)
            return True
        if layout.reasoning_toggle is not None and layout.reasoning_toggle.contains(pos):
            self.reasoningToggled.emit(index.row())
            return True
        if layout.body_doc is not None:
            local = QPointF(pos.x() - PAD_X, pos.y() - layout.body_y)
            anchor = layout.body_doc.documentLayout().anchorAt(local)
            if anchor:
                url = QUrl(anchor)
                if url.scheme() in ("http", "https", "mailto"):
                    QDesktopServices.openUrl(url)
                    return True
        return False

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
        self._pending_resize.clear()


class MessageView(QListView):
    """The scrolling list of messages, with an empty-state hint and stick-to-bottom scrolling."""

    retryRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageView")
        self.setAccessibleName("Messages")
        self.setAccessibleDescription("The conversation. Use the arrow keys to move between messages.")
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(False)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.verticalScrollBar().setSingleStep(24)
        self.empty_hint = EMPTY_HINT
        self._stick_to_bottom = True
        self.message_delegate = MessageDelegate(self)
        self.setItemDelegate(self.message_delegate)
        self.message_delegate.retryRequested.connect(self.retryRequested)
        self.message_delegate.reasoningToggled.connect(self.toggle_reasoning)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    # --- model -----------------------------------------------------------------------------

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

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if index.isValid() and event.key() == Qt.Key.Key_Space:
            self.toggle_reasoning(index.row())
            return
        if index.isValid() and event.matches(QKeySequence.StandardKey.Copy):
            self._copy(index.row())
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos()) if event.reason() == QContextMenuEvent.Reason.Mouse else self.currentIndex()
        if not index.isValid():
            return
        row: ChatRow = index.data(ROW_ROLE)
        menu = QMenu(self)
        menu.setAccessibleName("Message actions")
        copy = menu.addAction("Copy text")
        copy.triggered.connect(lambda: self._copy(index.row()))
        if row.reasoning:
            toggle = menu.addAction("Hide reasoning" if row.reasoning_expanded else "Show reasoning")
            toggle.triggered.connect(lambda: self.toggle_reasoning(index.row()))
        if row.status == "error":
            retry = menu.addAction("Retry")
            retry.triggered.connect(lambda: self.retryRequested.emit(row.id))
        menu.popup(event.globalPos())

    def _copy(self, row_number: int) -> None:
        row = self.message_model().row(row_number)
        QGuiApplication.clipboard().setText(row.content if row.status != "error" or row.content else (row.error or ""))
