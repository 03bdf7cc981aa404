"""The gallery's list model: newest first, filled page by page (keyset) as the view scrolls.

The model is given a `fetch(cursor) -> (items, next_cursor)` coroutine function and a spawn
function; `canFetchMore`/`fetchMore` (which QListView calls as the user nears the end) load the
next page in the background and append it. It never counts or offsets: the cursor is whatever the
service's keyset page returned. A filter change is a `reset(fetch)`: a new generation number makes
late pages of the old query drop on the floor.

Rows are `GalleryItem`s (a UI record, adapted from the service's image record by the controller),
so this module does not depend on the service's field names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QImage

from app.core.errors import SwitchboardError

__all__ = ["BATCH_ROLE", "ITEM_ROLE", "GalleryItem", "GalleryModel", "PageFn", "group_batches"]

log = logging.getLogger(__name__)

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
BATCH_ROLE = Qt.ItemDataRole.UserRole + 2  # (position 1-based, batch size) or None when alone
# Drag data larger than this is offered as a file URL only (decoding it would stall the drag).
DRAG_IMAGE_MAX_BYTES = 40 * 1024 * 1024


class GalleryItem(NamedTuple):
    """One image as the gallery shows it (plain values only, path as text).

    The model stores each row as a plain `tuple` of these fields and makes a `GalleryItem` when
    one is read: the cyclic GC stops tracking an exact tuple of atomic values, but never a
    NamedTuple instance, and 50,000 tracked rows made each collection scan them all (a
    generation-1 collection stalled scrolling by up to 76 ms in benchmarks/images_ui.py; full
    collections over 50,000 dataclasses by ~240 ms before that).
    """

    id: int
    prompt: str
    path: str | None = None
    model: str = ""
    size: str = ""
    profile_id: str = ""
    created_at: float = 0.0
    starred: bool = False
    batch_id: str = ""
    batch_index: int = 0  # 0-based position in its batch
    batch_size: int = 1
    sha256: str = ""  # the file's content hash: names its cached thumbnail


_ID = GalleryItem._fields.index("id")
_CREATED = GalleryItem._fields.index("created_at")
_BATCH_ID = GalleryItem._fields.index("batch_id")
_BATCH_INDEX = GalleryItem._fields.index("batch_index")
_make = GalleryItem._make

PageFn = Callable[[Any], Awaitable[tuple[Sequence[GalleryItem], Any]]]
SpawnFn = Callable[[Any], Any]
_INDEX = QModelIndex | QPersistentModelIndex


class GalleryModel(QAbstractListModel):
    """Images, newest first; pages appended on `fetchMore`."""

    pageLoaded = Signal(int)  # rows appended
    loadFailed = Signal(str)  # a sentence the user can act on
    exhaustedChanged = Signal(bool)

    def __init__(
        self,
        spawn: SpawnFn,
        fetch: PageFn | None = None,
        *,
        page_size: int = 240,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._spawn = spawn
        self._fetch = fetch
        self.page_size = page_size
        self._items: list[tuple[Any, ...]] = []  # plain tuples (see GalleryItem)
        self._rows: dict[int, int] = {}  # image id -> row
        self._batch_counts: dict[str, int] = {}  # batch id -> images of it loaded
        self._cursor: Any = None
        self._exhausted = fetch is None
        self._loading = False
        self._generation = 0

    # -- Qt model --

    def rowCount(self, parent: _INDEX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _INDEX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = _make(self._items[index.row()])
        if role == ITEM_ROLE:
            return item
        if role == BATCH_ROLE:
            return self.batch_badge(item)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            star = "Starred. " if item.starred else ""
            return f"{star}{item.prompt}"
        if role == Qt.ItemDataRole.DisplayRole:
            return item.prompt
        return None

    def batch_badge(self, item: GalleryItem) -> tuple[int, int] | None:
        """(position 1-based, batch size) of an image of a batch of several, else None."""
        if not item.batch_id:
            return None
        size = max(self._batch_counts.get(item.batch_id, 1), item.batch_index + 1, item.batch_size)
        return (item.batch_index + 1, size) if size > 1 else None

    def flags(self, index: _INDEX) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def canFetchMore(self, parent: _INDEX = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: _INDEX = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self._fetch is None:
            return
        self._loading = True
        self._spawn(self._load_page(self._generation, self._fetch, self._cursor))

    # -- drag out: a file URL and the image data --

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "image/png"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        items = [
            _make(self._items[i.row()])
            for i in indexes
            if i.isValid() and i.row() < len(self._items)
        ]
        paths = [Path(it.path) for it in items if it.path is not None]
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        if len(paths) == 1:
            path = paths[0]
            try:
                small = path.stat().st_size <= DRAG_IMAGE_MAX_BYTES
            except OSError:
                small = False
            if small:
                image = QImage(str(path))
                if not image.isNull():
                    data.setImageData(image)
        data.setText("\n".join(it.prompt for it in items))
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # -- reading --

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    @property
    def loading(self) -> bool:
        return self._loading

    def item(self, row: int) -> GalleryItem | None:
        return _make(self._items[row]) if 0 <= row < len(self._items) else None

    def row_of(self, image_id: int) -> int:
        """The row of `image_id`, or -1 when it is not loaded."""
        return self._rows.get(image_id, -1)

    def items(self) -> list[GalleryItem]:
        return [_make(t) for t in self._items]

    # -- changing --

    def reset(self, fetch: PageFn | None) -> None:
        """Start over with another query (a filter or search change)."""
        self._generation += 1
        self.beginResetModel()
        self._items = []
        self._rows = {}
        self._batch_counts = {}
        self._cursor = None
        self._fetch = fetch
        self._loading = False
        self._exhausted = fetch is None
        self.endResetModel()
        self.exhaustedChanged.emit(self._exhausted)

    def prepend(self, items: Sequence[GalleryItem]) -> None:
        """New images (newest first) at the top; ids already shown are skipped."""
        for item in items:
            if item.id in self._rows:
                continue
            row = self._sibling_row(item)
            self.beginInsertRows(QModelIndex(), row, row)
            self._items.insert(row, tuple(item))
            self._count(item, +1)
            self._reindex()
            self.endInsertRows()
            self._refresh_batch(item.batch_id)

    def _sibling_row(self, item: GalleryItem) -> int:
        """Where a new image goes: beside the other images of its batch, else at the top."""
        if not item.batch_id or not self._batch_counts.get(item.batch_id):
            return 0
        rows: list[int] = []
        for r, it in enumerate(self._items):
            if it[_BATCH_ID] == item.batch_id:
                rows.append(r)
            elif rows:
                break  # a batch's loaded images are contiguous
        if not rows:
            return 0
        for r in rows:
            if self._items[r][_BATCH_INDEX] > item.batch_index:
                return r
        return rows[-1] + 1

    def _count(self, item: GalleryItem, delta: int) -> None:
        if item.batch_id:
            self._batch_counts[item.batch_id] = self._batch_counts.get(item.batch_id, 0) + delta

    def _refresh_batch(self, batch_id: str) -> None:
        """Repaint the badges of a batch whose size changed (only its loaded rows)."""
        if not batch_id:
            return
        seen = False
        for r, it in enumerate(self._items):
            if it[_BATCH_ID] == batch_id:
                seen = True
                index = self.index(r)
                self.dataChanged.emit(index, index, [BATCH_ROLE])
            elif seen:
                break

    def insert_sorted(self, item: GalleryItem) -> None:
        """Put back a restored image at its place by date (newest first)."""
        if item.id in self._rows:
            return
        if item.batch_id and self._batch_counts.get(item.batch_id):
            row = self._sibling_row(item)  # back beside the rest of its batch
            self.beginInsertRows(QModelIndex(), row, row)
            self._items.insert(row, tuple(item))
            self._count(item, +1)
            self._reindex()
            self.endInsertRows()
            self._refresh_batch(item.batch_id)
            return
        row = 0
        key = (item.created_at, item.id)
        items = self._items
        while row < len(items) and (items[row][_CREATED], items[row][_ID]) > key:
            row += 1
        if row == len(self._items) and not self._exhausted:
            return  # it belongs to a page not loaded yet: it comes with that page
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.insert(row, tuple(item))
        self._count(item, +1)
        self._reindex()
        self.endInsertRows()

    def remove(self, image_id: int) -> GalleryItem | None:
        row = self._rows.get(image_id, -1)
        if row < 0:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        item = _make(self._items.pop(row))
        self._count(item, -1)
        self._reindex()
        self.endRemoveRows()
        return item

    def update(self, image_id: int, **changes: Any) -> None:
        row = self._rows.get(image_id, -1)
        if row < 0:
            return
        self._items[row] = tuple(_make(self._items[row])._replace(**changes))
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def refresh_row(self, image_id: int) -> None:
        """Repaint one image's cell (its thumbnail arrived)."""
        row = self._rows.get(image_id, -1)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _reindex(self) -> None:
        self._rows = {it[_ID]: r for r, it in enumerate(self._items)}

    async def _load_page(self, generation: int, fetch: PageFn, cursor: Any) -> None:
        try:
            items, next_cursor = await fetch(cursor)
        except SwitchboardError as exc:
            if generation == self._generation:
                self._loading = False
                self.loadFailed.emit(exc.user_message)
            return
        if generation != self._generation:
            return
        self._loading = False
        fresh = group_batches([it for it in items if it.id not in self._rows])
        if fresh:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._items.extend(tuple(it) for it in fresh)
            for r, it in enumerate(fresh, start=first):
                self._rows[it.id] = r
                self._count(it, +1)
            self.endInsertRows()
        self._cursor = next_cursor
        if next_cursor is None or not items:
            self._exhausted = True
            self.exhaustedChanged.emit(True)
        self.pageLoaded.emit(len(fresh))


def group_batches(items: Sequence[GalleryItem]) -> list[GalleryItem]:
    """Keep each batch's images together (in batch order), batches in order of first appearance.

    Images of concurrent generations are saved interleaved; in a page they are shown grouped.
    """
    groups: dict[str, list[GalleryItem]] = {}
    order: list[list[GalleryItem]] = []
    for it in items:
        if not it.batch_id:
            order.append([it])
            continue
        group = groups.get(it.batch_id)
        if group is None:
            group = groups[it.batch_id] = []
            order.append(group)
        group.append(it)
    out: list[GalleryItem] = []
    for group in order:
        out.extend(sorted(group, key=lambda g: g.batch_index) if len(group) > 1 else group)
    return out
