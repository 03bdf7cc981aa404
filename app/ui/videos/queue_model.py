"""The queue's model: every video job as a `VideoRow`, newest first, and a status filter proxy.

One list of plain rows and an id -> position map; the view asks only for what is on screen, so
1,000 jobs cost a sort and a reset, not a widget each. `tick()` is what the panel's single timer
calls: it repaints the elapsed time of the unfinished rows only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from app.ui.videos.records import VideoRow

__all__ = ["ROW_ROLE", "STATE_ROLE", "QueueFilter", "QueueModel"]

ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 1
STATE_ROLE = int(Qt.ItemDataRole.UserRole) + 2

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def _key(row: VideoRow) -> tuple[float, int]:
    return (-row.created_at, -row.job_id)


class QueueModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[VideoRow] = []
        self._pos: dict[int, int] = {}

    # -- Qt --

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == STATE_ROLE:
            return row.state
        if role == Qt.ItemDataRole.DisplayRole:
            return row.draft.prompt
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.status}: {row.draft.prompt}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or row.draft.prompt
        return None

    # -- rows --

    def set_rows(self, rows: list[VideoRow]) -> None:
        self.beginResetModel()
        self._rows = sorted(rows, key=_key)
        self._reindex()
        self.endResetModel()

    def rows(self) -> list[VideoRow]:
        return list(self._rows)

    def row_for(self, job_id: int) -> VideoRow | None:
        pos = self._pos.get(job_id)
        return None if pos is None else self._rows[pos]

    def index_for(self, job_id: int) -> QModelIndex:
        pos = self._pos.get(job_id)
        return QModelIndex() if pos is None else self.index(pos, 0)

    def upsert(self, row: VideoRow) -> None:
        pos = self._pos.get(row.job_id)
        if pos is not None:
            old = self._rows[pos]
            if _key(old) == _key(row):
                self._rows[pos] = row
                idx = self.index(pos, 0)
                self.dataChanged.emit(idx, idx)
                return
            self.remove(row.job_id)
        # Newest first: a new job usually goes on top, so this search is short.
        at = 0
        key = _key(row)
        while at < len(self._rows) and _key(self._rows[at]) < key:
            at += 1
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, row)
        self._reindex()
        self.endInsertRows()

    def remove(self, job_id: int) -> None:
        pos = self._pos.get(job_id)
        if pos is None:
            return
        self.beginRemoveRows(QModelIndex(), pos, pos)
        del self._rows[pos]
        self._reindex()
        self.endRemoveRows()

    def has_active(self) -> bool:
        return any(r.active for r in self._rows)

    def tick(self) -> None:
        """Repaint the rows whose elapsed time is still running."""
        first = last = -1
        for i, r in enumerate(self._rows):
            if r.active:
                if first < 0:
                    first = i
                last = i
        if first >= 0:
            self.dataChanged.emit(self.index(first, 0), self.index(last, 0))

    def _reindex(self) -> None:
        self._pos = {r.job_id: i for i, r in enumerate(self._rows)}


class QueueFilter(QSortFilterProxyModel):
    """Shows the rows whose state is in the chosen set (all when None)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._states: frozenset[str] | None = None

    def set_states(self, states: frozenset[str] | None) -> None:
        # Qt 6.10 replaced invalidateFilter() with a begin/end pair.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self._states = states
            self.endFilterChange()
        else:
            self._states = states
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if self._states is None:
            return True
        model = self.sourceModel()
        state = model.data(model.index(source_row, 0, source_parent), STATE_ROLE)
        return state in self._states
