"""The gallery grid: a QListView in icon mode over `GalleryModel`, with a painting delegate.

- Virtualised: uniform cell sizes and a static flow, so Qt lays out and paints only what is on
  screen; the delegate never loads anything, it draws the loader's pixmap or a placeholder.
- Thumbnails for what is on or near the screen: after a scroll or resize settles (one 30 ms timer)
  the view tells the loader the visible rows first, then a few rows above and below.
- The scroll position never moves when rows are inserted or removed above the viewport (a new image,
  a delete, an undo): the first visible image is the anchor, kept at the same height.
- Batches: each cell shows "2/4" when its image is one of several from one generation, and a band
  at the bottom joins the cells of one batch.
- Keyboard: arrows move (Qt), Space/Enter opens, Delete deletes, Ctrl+C copies the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.ui.images.gallery_model import BATCH_ROLE, ITEM_ROLE, GalleryItem, GalleryModel
from app.ui.images.thumbnails import ThumbnailLoader

__all__ = ["CELL", "GalleryDelegate", "GalleryView", "star_polygon"]

CELL = QSize(192, 192)
THUMB = QSize(176, 176)
NEAR_ROWS = 3  # grid rows above/below the screen whose thumbnails are fetched too
_INDEX = QModelIndex | QPersistentModelIndex


def star_polygon(box: QRect) -> QPolygonF:
    """A five-pointed star filling `box` (drawn, not a glyph: fonts may lack one)."""
    cx, cy = box.center().x() + 0.5, box.center().y() + 0.5
    outer = min(box.width(), box.height()) / 2
    inner = outer * 0.45
    points = []
    for k in range(10):
        r = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append(QPointF(cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return QPolygonF(points)


class GalleryDelegate(QStyledItemDelegate):
    """Draws a thumbnail (or a placeholder), a star, and the batch badge."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader

    def sizeHint(self, option: QStyleOptionViewItem, index: _INDEX) -> QSize:  # noqa: N802
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _INDEX) -> None:
        item: GalleryItem | None = index.data(ITEM_ROLE)
        if item is None:
            return
        pal = option.palette  # type: ignore[attr-defined]
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        cell = rect.adjusted(4, 4, -4, -4)
        painter.save()
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), pal.color(QPalette.ColorRole.Highlight))
        pix = self.loader.pixmap(item.id)
        if pix is not None:
            target = QRect(QPoint(0, 0), pix.size().scaled(cell.size(), Qt.AspectRatioMode.KeepAspectRatio))
            target.moveCenter(cell.center())
            painter.drawPixmap(target, pix)
        else:
            # Placeholder: a flat tile in the base colour (a broken image gets a label).
            painter.fillRect(cell, pal.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            text = "Could not load" if self.loader.failed(item.id) else ""
            if text:
                painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, text)
        batch = index.data(BATCH_ROLE)
        if batch is not None:
            pos, size = batch
            badge = f"{pos}/{size}"
            fm = painter.fontMetrics()
            box = QRect(0, 0, fm.horizontalAdvance(badge) + 10, fm.height() + 4)
            box.moveTopLeft(cell.topLeft() + QPoint(4, 4))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, badge)
            # A band along the bottom: cells of one batch read as one strip.
            first, last = pos == 1, pos == size
            band = QRect(rect.left() + (4 if first else 0), rect.bottom() - 2,
                         rect.width() - (4 if first else 0) - (4 if last else 0), 3)
            painter.fillRect(band, pal.color(QPalette.ColorRole.Highlight).lighter(130))
        if item.starred:
            box = QRect(0, 0, 22, 22)
            box.moveTopRight(cell.topRight() + QPoint(-4, 4))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))
            painter.drawRoundedRect(box, 4, 4)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setBrush(QColor(255, 200, 40))
            painter.drawPolygon(star_polygon(box.adjusted(3, 3, -3, -3)))
        if bool(state & QStyle.StateFlag.State_HasFocus):
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.restore()


class GalleryView(QListView):
    """The thumbnail grid. Signals: open / delete / copy requests for the current image."""

    openRequested = Signal(int)  # image id
    deleteRequested = Signal(int)
    copyRequested = Signal(int)
    visibleChanged = Signal()  # the wanted-thumbnail set was refreshed (tests, benchmarks)

    def __init__(self, model: GalleryModel, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Gallery")
        self.setViewMode(QListView.ViewMode.IconMode)
        # Static movement after IconMode (which sets Snap): Qt then uses its list layout, which
        # with uniform sizes costs nothing per hidden item.
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setGridSize(CELL)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setMouseTracking(False)
        self.loader = loader
        self.setItemDelegate(GalleryDelegate(loader, self))
        self.setModel(model)
        self._model = model
        self._want_timer = QTimer(self)
        self._want_timer.setSingleShot(True)
        self._want_timer.setInterval(30)
        self._want_timer.timeout.connect(self.refresh_wanted)
        self.verticalScrollBar().valueChanged.connect(self.schedule_wanted)
        model.rowsInserted.connect(self.schedule_wanted)
        model.modelReset.connect(self.schedule_wanted)
        loader.loaded.connect(model.refresh_row)
        self.doubleClicked.connect(lambda idx: self._emit_for(idx, self.openRequested))

    # -- which thumbnails --

    def schedule_wanted(self, *_args: object) -> None:
        if not self._want_timer.isActive():
            self._want_timer.start()

    def visible_rows(self) -> range:
        """Rows on screen (a range; empty when there is nothing to show)."""
        n = self._model.rowCount()
        if n == 0:
            return range(0)
        vp = self.viewport().rect()
        first = self.indexAt(QPoint(2, 2))
        last = self.indexAt(QPoint(vp.width() - 2, vp.height() - 2))
        start = first.row() if first.isValid() else 0
        if last.isValid():
            end = last.row() + 1
        else:
            per_row = max(1, vp.width() // CELL.width())
            rows = vp.height() // CELL.height() + 2
            end = min(n, start + per_row * rows)
        return range(start, min(n, end))

    def refresh_wanted(self) -> None:
        if not self.isVisible():
            return  # nothing is on screen: ask again when shown (showEvent)
        rows = self.visible_rows()
        n = self._model.rowCount()
        per_row = max(1, self.viewport().width() // CELL.width())
        near = per_row * NEAR_ROWS
        order = list(rows)
        order += list(range(rows.stop, min(n, rows.stop + near)))
        order += list(range(max(0, rows.start - near), rows.start))[::-1]
        ids = [it.id for r in order if (it := self._model.item(r)) is not None]
        self.loader.want(ids)
        self.visibleChanged.emit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.schedule_wanted()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.schedule_wanted()

    # -- keep the scroll position --

    @contextmanager
    def keep_position(self) -> Iterator[None]:
        """Run a model change without moving what the user looks at."""
        bar = self.verticalScrollBar()
        at_top = bar.value() == 0
        anchor = self.indexAt(QPoint(CELL.width() // 2, CELL.height() // 2))
        anchor_id = anchor.data(ITEM_ROLE).id if anchor.isValid() else None
        offset = self.visualRect(anchor).top() if anchor.isValid() else 0
        yield
        if at_top or anchor_id is None:
            return
        row = self._model.row_of(anchor_id)
        if row < 0:
            return
        self.doItemsLayout()
        rect = self.visualRect(self._model.index(row))
        bar.setValue(bar.value() + rect.top() - offset)

    # -- keys --

    def current_id(self) -> int | None:
        item = self.currentIndex().data(ITEM_ROLE)
        return item.id if item is not None else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._emit_for(self.currentIndex(), self.openRequested)
            event.accept()
            return
        if key == Qt.Key.Key_Delete:
            self._emit_for(self.currentIndex(), self.deleteRequested)
            event.accept()
            return
        if event.matches(QKeySequence.StandardKey.Copy):
            self._emit_for(self.currentIndex(), self.copyRequested)
            event.accept()
            return
        super().keyPressEvent(event)

    def _emit_for(self, index: QModelIndex, signal: object) -> None:
        item = index.data(ITEM_ROLE) if index.isValid() else None
        if item is not None:
            signal.emit(item.id)  # type: ignore[attr-defined]
