"""Searching messages from the sidebar: the search box, and the ranked hits shown in its place.

- `SearchBox` debounces typing (~150 ms) into one `queryChanged`; Esc clears it, Down moves to
  the results and Enter opens the best (or current) hit.
- `SearchResultModel` holds the `SearchHit`s of one query, best first.
- `SearchHitDelegate` paints each hit as its thread's title over a snippet whose matched words
  are highlighted; the snippet is stripped of Markdown (`strip_markdown`) and starts a few words
  before the first match (`lead_in`), so the match shows at the default sidebar width. The snippet is escaped as plain text first and only then are the
  private-use markers turned into highlight spans (`records.highlight_html`), so no message
  text can inject markup or forge a highlight.
- `SearchResults` is the list plus an empty state ("No messages match …").

The search itself (`ThreadRepository.search`, on the database thread) is run by the sidebar
controller; these classes only show and report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QListView,
    QStackedLayout,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.core.store.records import HIGHLIGHT_START, SearchHit, highlight_html
from app.ui.chat.messages.markdown_render import escape_html
from app.ui.style import is_selected

__all__ = [
    "DEBOUNCE_MS",
    "HIT_ROLE",
    "SearchBox",
    "SearchHitDelegate",
    "SearchResultModel",
    "SearchResults",
    "hit_html",
    "lead_in",
    "strip_markdown",
]

DEBOUNCE_MS = 150
HIT_ROLE = Qt.ItemDataRole.UserRole + 11

_Index = QModelIndex | QPersistentModelIndex


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


_M = "\ue000\ue001"  # highlight markers may sit inside Markdown syntax: keep them
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_LINE_MARK = re.compile(r"(^|\n)[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+)")
_INLINE_HEADING = re.compile(r"(?<![^\s" + _M + r"])#{1,6}[ \t]+")
_STRONG = re.compile(r"(\*\*|__|~~)")
_EMPH = re.compile(r"(?<![\w*])\*(?=[\w" + _M + r"])|(?<=[\w" + _M + r".,!?])\*(?![\w*])")
_FENCE = re.compile(r"```[\w+-]*")
_TAGS = re.compile(r"</?[A-Za-z][^>\n]{0,80}>")


def strip_markdown(text: str) -> str:
    """The words of a Markdown snippet without its syntax: headings (`## `), emphasis (`**`,
    `__`, `*`), code fences and backticks, quote/list markers, and links/images (their text
    kept). Highlight markers are kept where they were. Cheap: a handful of regexes."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _LINE_MARK.sub(r"\1", text)
    # FTS snippets start mid-text and are joined to one line: a heading may follow a space.
    text = _INLINE_HEADING.sub("", text)
    text = _FENCE.sub(" ", text)
    text = text.replace("`", "")
    text = _STRONG.sub("", text)
    text = _EMPH.sub("", text)
    return text


def lead_in(snippet: str, lead: int = 20) -> str:
    """`snippet` on one line, cut (at a word) to at most ~`lead` characters before its first
    match: the match then sits near the middle of a narrow sidebar's first snippet line, not
    past the end of the second."""
    text = " ".join(snippet.split())
    start = text.find(HIGHLIGHT_START)
    if start <= lead + 8:
        return text
    cut = text.find(" ", start - lead, start)
    cut = start - lead if cut < 0 else cut + 1
    return "…" + text[cut:].lstrip("…")


def hit_html(hit: SearchHit, *, dark: bool = False) -> str:
    """The rich text of one hit: the thread title (escaped) over the highlighted snippet."""
    mark_style = (
        "background-color:#7a5c00; color:#fff3c4;" if dark else "background-color:#ffe27a; color:#1a1a1a;"
    )
    snippet = highlight_html(lead_in(strip_markdown(hit.snippet)))
    snippet = snippet.replace("<mark>", f'<span style="{mark_style} font-weight:600;">').replace(
        "</mark>", "</span>"
    )
    who = {"user": "You", "assistant": "Assistant", "system": "System"}.get(hit.role, hit.role.title())
    title = escape_html(hit.thread_title or "Untitled")
    prefix = f'<span style="opacity:0.7;">{escape_html(who)}: </span>' if who else ""
    return f"<div><b>{title}</b></div><div>{prefix}{snippet}</div>"


class SearchBox(QLineEdit):
    """A line edit whose typing is debounced into `queryChanged`; Esc clears it."""

    queryChanged = Signal(str)  # the stripped query, after typing paused (or "" when cleared)
    escapePressed = Signal()
    focusResultsRequested = Signal()
    acceptRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadSearch")
        self.setAccessibleName("Search messages")
        self.setAccessibleDescription(
            "Type to search every thread's messages. Down moves to the results, Enter opens the "
            "first hit, Escape clears."
        )
        self.setPlaceholderText("Search messages  (Ctrl+K)")
        self.setClearButtonEnabled(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_query)
        self._last = ""
        self.textChanged.connect(self._on_text_changed)

    @property
    def debounce_timer(self) -> QTimer:
        return self._debounce

    def query(self) -> str:
        return self.text().strip()

    def _on_text_changed(self, text: str) -> None:
        if not text.strip():
            # Clearing is shown at once: back to the threads without waiting.
            self._debounce.stop()
            self._emit_query()
        else:
            self._debounce.start()

    def _emit_query(self) -> None:
        query = self.query()
        if query != self._last:
            self._last = query
            self.queryChanged.emit(query)

    def flush(self) -> None:
        """Emit a pending query now (Enter pressed before the pause ended)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit_query()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.clear()
            self.escapePressed.emit()
            return
        if key == Qt.Key.Key_Down:
            self.flush()
            self.focusResultsRequested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.flush()
            self.acceptRequested.emit()
            return
        super().keyPressEvent(event)


class SearchResultModel(QAbstractListModel):
    """The hits of one query, best first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []
        self.query = ""

    def set_hits(self, query: str, hits: Sequence[SearchHit]) -> None:
        self.beginResetModel()
        self.query = query
        self._hits = list(hits)
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits("", [])

    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt default)
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == HIT_ROLE:
            return hit
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            plain = strip_markdown(hit.snippet).replace("\ue000", "").replace("\ue001", "")
            return f"{hit.thread_title}: {' '.join(plain.split())}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Open “{hit.thread_title}” at this message (Enter)"
        return None


class SearchHitDelegate(QStyledItemDelegate):
    """Paints a hit as rich text (title line + up to two snippet lines), fixed height."""

    PADDING = 6

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._docs: dict[tuple[int, int, bool], QTextDocument] = {}

    def forget(self) -> None:
        self._docs.clear()

    def _doc(self, hit: SearchHit, width: int, option: QStyleOptionViewItem) -> QTextDocument:
        dark = _is_dark(option.palette)
        key = (id(hit), width, dark)
        doc = self._docs.get(key)
        if doc is None:
            if len(self._docs) > 400:
                self._docs.clear()
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            doc.setDefaultFont(option.font)
            doc.setHtml(hit_html(hit, dark=dark))
            doc.setTextWidth(width)
            self._docs[key] = doc
        return doc

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        line = option.fontMetrics.lineSpacing()
        return QSize(max(option.rect.width(), 120), 3 * line + 2 * self.PADDING + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        hit = index.data(HIT_ROLE)
        if not isinstance(hit, SearchHit):
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        from PySide6.QtWidgets import QStyle  # on the first hit painted (see style.is_selected)

        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = option.rect.adjusted(self.PADDING + 2, self.PADDING, -self.PADDING, -self.PADDING)
        doc = self._doc(hit, rect.width(), option)
        painter.save()
        painter.translate(rect.topLeft())
        clip = QRectF(0, 0, rect.width(), rect.height())
        painter.setClipRect(clip)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.clip = clip
        selected = is_selected(option)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()


class _HitsView(QListView):
    """The hits list: a click or Enter opens a hit (one report per gesture)."""

    enterPressed = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enterPressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class SearchResults(QWidget):
    """The hits list, or a sentence when nothing matches. `hitChosen` reports the user's pick."""

    hitChosen = Signal(object)  # SearchHit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.model = SearchResultModel(self)
        self.view = _HitsView(self)
        self.view.setObjectName("searchHits")
        self.view.setAccessibleName("Search results")
        self.view.setAccessibleDescription("Messages matching the search, best first. Enter opens one.")
        self.view.setModel(self.model)
        self.delegate = SearchHitDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

        self.empty = QLabel(self)
        self.empty.setObjectName("searchEmpty")
        self.empty.setAccessibleName("No search results")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty.setProperty("role", "muted")
        self.empty.setContentsMargins(8, 16, 8, 8)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)

        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty)

        self.view.enterPressed.connect(self._on_activated)
        self.view.clicked.connect(self._on_activated)

    def show_hits(self, query: str, hits: Sequence[SearchHit]) -> None:
        """Show the hits of `query` (best first), or the empty state."""
        self.delegate.forget()
        self.model.set_hits(query, hits)
        if hits:
            self._stack.setCurrentWidget(self.view)
            self.view.setCurrentIndex(self.model.index(0, 0))
            self.view.scrollToTop()
        else:
            shown = query if len(query) <= 60 else query[:59] + "…"
            self.empty.setText(
                f"No messages match “{shown}”.\nTry fewer or different words; Esc returns to the threads."
            )
            self._stack.setCurrentWidget(self.empty)

    def show_error(self, sentence: str) -> None:
        self.delegate.forget()
        self.model.clear()
        self.empty.setText(sentence)
        self._stack.setCurrentWidget(self.empty)

    def is_empty_state(self) -> bool:
        return self._stack.currentWidget() is self.empty

    def focus_results(self) -> None:
        if self.model.rowCount():
            self.view.setFocus(Qt.FocusReason.ShortcutFocusReason)
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0, 0))

    def choose_current(self) -> bool:
        """Report the current hit (or the first) as chosen; False when there is none."""
        index = self.view.currentIndex()
        if not index.isValid() and self.model.rowCount():
            index = self.model.index(0, 0)
        if not index.isValid():
            return False
        self._on_activated(index)
        return True

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.hitChosen.emit(self.model.hit(index.row()))
