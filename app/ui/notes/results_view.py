"""The results list: a QListView whose delegate paints file name, heading path, a highlighted
snippet and the score; Enter (or a double click) opens the hit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from app.core.services.notes import NoteHit
from app.ui.notes.results_model import HIT_ROLE, hit_location, hit_title, snippet_html
from app.ui.style import is_selected

__all__ = ["HitDelegate", "ResultsView", "row_html"]

PAD = 8
_Index = QModelIndex | QPersistentModelIndex


SNIPPET_CHARS = 160  # about two lines at the usual width: the list stays scannable


def row_html(hit: NoteHit, *, dark: bool, selected_text: str = "") -> str:
    """One result row as rich text (escaped; the snippet's matches highlighted). On a selected
    row everything is in `selected_text` (the palette's highlighted text), so it stays legible."""
    import html

    muted = "#a0a6b0" if dark else "#5f6670"
    mark, mark_text = ("#6b5a12", "#ffffff") if dark else ("#fff1a8", "")
    if selected_text:
        muted = selected_text
        mark_text = "#000000" if not dark else mark_text
    body = f' style="color:{selected_text}"' if selected_text else ""
    return (
        f"<div{body}><b>{html.escape(hit_title(hit))}</b>"
        f'&nbsp;&nbsp;<span style="color:{muted}">{html.escape(hit_location(hit))}</span>'
        f'<span style="color:{muted}"> &nbsp;·&nbsp; {hit.score:.3f}</span></div>'
        f"<div{body}>"
        f"{snippet_html(hit.snippet, mark=mark, text=mark_text, max_chars=SNIPPET_CHARS)}</div>"
    )


class HitDelegate(QStyledItemDelegate):
    """Paints a hit as two-to-four lines of rich text; height follows the text at the width."""

    def _document(
        self, option: QStyleOptionViewItem, hit: NoteHit, width: int, selected: bool = False
    ) -> QTextDocument:
        dark = option.palette.color(QPalette.ColorRole.Base).lightness() < 128
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        on = option.palette.color(QPalette.ColorRole.HighlightedText).name() if selected else ""
        doc.setHtml(row_html(hit, dark=dark, selected_text=on))
        doc.setTextWidth(max(80, width - 2 * PAD))
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        hit = index.data(HIT_ROLE)
        if not isinstance(hit, NoteHit):
            return super().paint(painter, option, index)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = is_selected(opt)
        doc = self._document(option, hit, option.rect.width(), selected)
        painter.save()
        painter.translate(option.rect.left() + PAD, option.rect.top() + PAD)
        doc.drawContents(painter, QRectF(0, 0, option.rect.width() - 2 * PAD, option.rect.height()))
        painter.restore()
        # A separator line between rows, in the palette's mid colour.
        painter.save()
        painter.setPen(option.palette.color(QPalette.ColorRole.Midlight))
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        hit = index.data(HIT_ROLE)
        if not isinstance(hit, NoteHit):
            return super().sizeHint(option, index)
        width = option.rect.width() if option.rect.width() > 0 else 400
        view = option.widget
        if isinstance(view, QListView):
            width = view.viewport().width()
        doc = self._document(option, hit, width)
        return QSize(width, int(doc.size().height()) + 2 * PAD + 1)


class ResultsView(QListView):
    """The hits; `hitActivated(row)` on Enter or a double click, `current row` drives the preview."""

    hitActivated = Signal(int)
    escapePressed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Search results")
        self.setItemDelegate(HitDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setWordWrap(True)
        self.doubleClicked.connect(lambda index: self.hitActivated.emit(index.row()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.hitActivated.emit(self.currentIndex().row())
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)
