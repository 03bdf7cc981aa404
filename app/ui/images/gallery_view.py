"""The gallery grid: an item view over `GalleryModel` with a painting delegate.

- Virtualised: cells have one size, so a cell's place is arithmetic; only what is on screen is
  painted, and adding rows costs nothing per row already there (see `GalleryView`). The delegate
  never loads anything: it draws the loader's pixmap or a placeholder.
- Thumbnails for what is on or near the screen: at most every 30 ms while scrolling (one timer)
  the view tells the loader the visible rows first, then a few rows above and below. During a
  fling — the view moving faster than a screen height per `FLING_SCREEN_S` — it asks for none
  and drops what was queued: a cell crosses the screen before its thumbnail could be read, so
  reading it would only take CPU from the frames (the thumbnail pool's work competes with the
  UI thread on a 2-core machine); they load as soon as the scroll slows or stops (the pause-on-
  fling of Android galleries: Glide's `pauseRequests` while a RecyclerView settles).
- Scrolling moves the pixels already painted (Qt's accelerated `QWidget.scroll`) and paints
  only the exposed strip: the paint loop draws the cells that meet the event's region.
- Pages: while scrolling, the next page is asked for as soon as less than a page's worth of
  rows (at least two screens) is left below the screen, so a fast flick does not reach the end
  of what is loaded; at the top nothing more is fetched until the user scrolls.
- The scroll position never moves when rows are inserted or removed above the viewport (a new image,
  a delete, an undo): the first visible image is the anchor, kept at the same height.
- Batches: each cell shows "2/4" when its image is one of several from one generation, and a band
  at the bottom joins the cells of one batch.
- Keyboard: arrows move (Qt), Space/Enter opens, Delete deletes, Ctrl+C copies the image.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
    QRegion,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.ui.images.gallery_model import BATCH_ROLE, ITEM_ROLE, GalleryModel
from app.ui.images.thumbnails import ThumbnailLoader

__all__ = ["CELL", "GalleryDelegate", "GalleryView", "star_polygon"]

CELL = QSize(192, 192)
# Thumbnails are decoded at the size they are drawn (the cell minus its margin): painting then
# copies pixels instead of scaling each pixmap on every paint.
THUMB = QSize(CELL.width() - 8, CELL.height() - 8)
NEAR_ROWS = 3  # grid rows above/below the screen whose thumbnails are fetched too
FLING_SCREEN_S = 0.25  # faster than a screen height in this: a fling, no thumbnails asked for
_INDEX = QModelIndex | QPersistentModelIndex
# Looked up once: each `QStyle.StateFlag.X` is an enum attribute lookup, and `&` on them goes
# through Python's Flag machinery (~1 µs each, several per cell per paint).
_SELECTED = QStyle.StateFlag.State_Selected
_HAS_FOCUS = QStyle.StateFlag.State_HasFocus


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

    def __init__(
        self,
        loader: ThumbnailLoader,
        parent: QWidget | None = None,
        model: GalleryModel | None = None,
    ) -> None:
        super().__init__(parent)
        self.loader = loader
        self.model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: _INDEX) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _INDEX) -> None:
        model = self.model
        if model is not None and index.model() is model:
            # The view's own model: read it directly (no round trip through QModelIndex.data).
            item = model.item(index.row())
            batch = model.batch_badge(item) if item is not None else None
        else:
            item = index.data(ITEM_ROLE)
            batch = index.data(BATCH_ROLE)
        if item is None:
            return
        pal = option.palette  # type: ignore[attr-defined]
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        cell = rect.adjusted(4, 4, -4, -4)
        painter.save()
        selected = bool(state & _SELECTED)
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), pal.color(QPalette.ColorRole.Highlight))
        pix = self.loader.pixmap(item.id)
        if pix is not None:
            size = pix.size()
            if size.width() > cell.width() or size.height() > cell.height():
                size = size.scaled(cell.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(QPoint(0, 0), size)
            target.moveCenter(cell.center())
            if size == pix.size():
                painter.drawPixmap(target.topLeft(), pix)
            else:
                painter.drawPixmap(target, pix)
        else:
            # Placeholder: a flat tile in the base colour (a broken image gets a label).
            painter.fillRect(cell, pal.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            text = "Could not load" if self.loader.failed(item.id) else ""
            if text:
                painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, text)
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
            band = QRect(
                rect.left() + (4 if first else 0),
                rect.bottom() - 2,
                rect.width() - (4 if first else 0) - (4 if last else 0),
                3,
            )
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
        if bool(state & _HAS_FOCUS):
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.restore()


class GalleryView(QAbstractItemView):
    """The thumbnail grid. Signals: open / delete / copy requests for the current image.

    An item view whose layout is arithmetic (cell `i` is at row `i // columns`): Qt's QListView
    in icon mode re-lays out every item on each insert (~200 ms at 50,000 images, measured by
    benchmarks/images_ui.py), so appending a page or a new image would stall the event loop.
    Selection, the current index, keyboard moves, drag and double-click come from
    QAbstractItemView; only geometry and painting are here.
    """

    openRequested = Signal(int)  # image id
    deleteRequested = Signal(int)
    copyRequested = Signal(int)
    visibleChanged = Signal()  # the wanted-thumbnail set was refreshed (tests, benchmarks)

    def __init__(
        self, model: GalleryModel, loader: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        # Set first: Qt calls the geometry methods below from the setters that follow.
        self._model = model
        self.loader = loader
        self.setAccessibleName("Gallery")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.loader = loader
        self.setItemDelegate(GalleryDelegate(loader, self, model))
        self.setModel(model)
        self._want_timer = QTimer(self)
        self._want_timer.setSingleShot(True)
        self._want_timer.setInterval(30)
        self._want_timer.timeout.connect(self.wanted_due)
        self.clock: Callable[[], float] = time.monotonic  # tests give a fake one
        self._speed_mark: tuple[float, int] | None = None  # (clock, scroll value) at last check
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
            sig.connect(self._on_rows_changed)
        loader.loaded.connect(model.refresh_row)
        self.doubleClicked.connect(lambda idx: self._emit_for(idx, self.openRequested))

    # -- geometry (all arithmetic) --

    def columns(self) -> int:
        return max(1, self.viewport().width() // CELL.width())

    def _row_rect(self, row: int) -> QRect:
        cols = self.columns()
        return QRect(
            (row % cols) * CELL.width(),
            (row // cols) * CELL.height() - self.verticalScrollBar().value(),
            CELL.width(),
            CELL.height(),
        )

    def visualRect(self, index: _INDEX) -> QRect:
        if not index.isValid():
            return QRect()
        return self._row_rect(index.row())

    def indexAt(self, point: QPoint) -> QModelIndex:
        cols = self.columns()
        col = point.x() // CELL.width()
        if point.x() < 0 or col >= cols:
            return QModelIndex()
        line = (point.y() + self.verticalScrollBar().value()) // CELL.height()
        row = line * cols + col
        if point.y() < 0 or row >= self._model.rowCount():
            return QModelIndex()
        return self._model.index(row)

    def scrollTo(
        self,
        index: _INDEX,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
    ) -> None:
        if not index.isValid():
            return
        rect = self.visualRect(index)
        bar = self.verticalScrollBar()
        height = self.viewport().height()
        if hint == QAbstractItemView.ScrollHint.PositionAtTop or rect.top() < 0:
            bar.setValue(bar.value() + rect.top())
        elif hint == QAbstractItemView.ScrollHint.PositionAtCenter:
            bar.setValue(bar.value() + rect.center().y() - height // 2)
        elif rect.bottom() > height:
            bar.setValue(bar.value() + rect.bottom() - height + 1)

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        n = self._model.rowCount()
        if n == 0:
            return QModelIndex()
        current = self.currentIndex().row() if self.currentIndex().isValid() else -1
        cols = self.columns()
        per_page = cols * max(1, self.viewport().height() // CELL.height())
        A = QAbstractItemView.CursorAction
        moves = {
            A.MoveLeft: -1,
            A.MovePrevious: -1,
            A.MoveRight: 1,
            A.MoveNext: 1,
            A.MoveUp: -cols,
            A.MoveDown: cols,
            A.MovePageUp: -per_page,
            A.MovePageDown: per_page,
        }
        if current < 0 or action == A.MoveHome:
            target = 0
        elif action == A.MoveEnd:
            target = n - 1
        else:
            target = current + moves.get(action, 0)
        target = min(max(target, 0), n - 1)
        if target >= n - cols and self._model.canFetchMore():
            self._model.fetchMore()
        return self._model.index(target)

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: _INDEX) -> bool:
        return False

    def setSelection(self, rect: QRect, flags: Any) -> None:
        index = self.indexAt(rect.topLeft())
        if index.isValid():
            self.selectionModel().select(index, flags)

    def visualRegionForSelection(self, selection: Any) -> QRegion:
        region = QRegion()
        for index in selection.indexes():
            region = region.united(self.visualRect(index))
        return region

    def sync_scroll_range(self) -> None:
        """The scroll bar's range for the rows loaded (QAbstractItemView leaves it to views)."""
        lines = -(-self._model.rowCount() // self.columns())
        bar = self.verticalScrollBar()
        height = self.viewport().height()
        bar.setRange(0, max(0, lines * CELL.height() - height))
        bar.setPageStep(max(1, height))
        bar.setSingleStep(24)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # QAbstractScrollArea's default repaints the whole viewport; QListView moves the
        # painted pixels instead (QWidget.scroll) and repaints the exposed strip: so do this.
        self.viewport().scroll(dx, dy)

    def doItemsLayout(self) -> None:
        self.sync_scroll_range()
        self.viewport().update()

    def paintEvent(self, event: Any) -> None:
        rows = self.rows_in(event.rect())
        if not rows:
            return
        painter = QPainter(self.viewport())
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate = self.itemDelegate()
        selection = self.selectionModel()
        # Selection is single: the selected and current rows, asked once per paint, not per cell.
        selected_rows = (
            {i.row() for i in selection.selectedIndexes()} if selection is not None else set()
        )
        current = self.currentIndex()
        focus_row = current.row() if self.hasFocus() and current.isValid() else -1
        base_state = option.state  # type: ignore[attr-defined]
        model = self._model
        for row in rows:
            option.rect = self._row_rect(row)  # type: ignore[attr-defined]
            state = base_state
            if row in selected_rows:
                state |= _SELECTED
            if row == focus_row:
                state |= _HAS_FOCUS
            option.state = state  # type: ignore[attr-defined]
            delegate.paint(painter, option, model.index(row))
        painter.end()

    def _on_rows_changed(self, *_args: object) -> None:
        self.sync_scroll_range()
        self.viewport().update()
        self.schedule_wanted()
        if self.verticalScrollBar().value() > 0:
            self._prefetch()  # still scrolling: keep a page ahead (at the top, wait for a scroll)

    def _on_scrolled(self, value: int) -> None:
        # No viewport update here: QAbstractScrollArea already scrolled the painted pixels and
        # asked for the exposed strip only (a full update would repaint every cell per step).
        self.schedule_wanted()
        self._prefetch()

    def _prefetch(self) -> None:
        """Ask for the next page while a page's worth of rows (at least two screens) is still
        below the screen: a fast flick then never reaches the end of what is loaded."""
        if not self._model.canFetchMore():
            return
        bar = self.verticalScrollBar()
        left_px = bar.maximum() - bar.value()
        per_line = self.columns()
        margin_px = max(
            2 * self.viewport().height(), -(-self._model.page_size // per_line) * CELL.height()
        )
        if left_px < margin_px:
            self._model.fetchMore()

    # -- which thumbnails --

    def schedule_wanted(self, *_args: object) -> None:
        if not self._want_timer.isActive():
            self._want_timer.start()

    def visible_rows(self) -> range:
        """Rows on screen (a range; empty when there is nothing to show)."""
        return self.rows_in(self.viewport().rect())

    def rows_in(self, rect: QRect) -> range:
        """Rows whose grid lines meet `rect` (viewport coordinates; whole lines of cells)."""
        n = self._model.rowCount()
        if n == 0 or rect.isEmpty():
            return range(0)
        cols = self.columns()
        top = self.verticalScrollBar().value()
        first_line = max(0, top + rect.top()) // CELL.height()
        last_line = max(0, top + rect.bottom()) // CELL.height()
        return range(min(n, first_line * cols), min(n, (last_line + 1) * cols))

    def flinging(self) -> bool:
        """Whether the view moved faster than a screen height per FLING_SCREEN_S since the
        last check (each call starts a new measuring span)."""
        now, value = self.clock(), self.verticalScrollBar().value()
        mark, self._speed_mark = self._speed_mark, (now, value)
        if mark is None or now <= mark[0]:
            return False
        speed = abs(value - mark[1]) / (now - mark[0])
        return speed * FLING_SCREEN_S > max(1, self.viewport().height())

    def wanted_due(self) -> None:
        """The want timer fired: ask for the thumbnails on screen unless the view is flinging;
        then drop what was queued and look again one interval later."""
        if self.flinging():
            self.loader.want([])
            self._want_timer.start()
            return
        self.refresh_wanted()

    def refresh_wanted(self) -> None:
        if not self.isVisible():
            return  # nothing is on screen: ask again when shown (showEvent)
        rows = self.visible_rows()
        n = self._model.rowCount()
        near = self.columns() * NEAR_ROWS
        order = list(rows)
        order += list(range(rows.stop, min(n, rows.stop + near)))
        order += list(range(max(0, rows.start - near), rows.start))[::-1]
        self.loader.want([(it.id, it) for r in order if (it := self._model.item(r)) is not None])
        self.visibleChanged.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.sync_scroll_range()
        self.schedule_wanted()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.sync_scroll_range()
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

    def keyPressEvent(self, event: QKeyEvent) -> None:
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
