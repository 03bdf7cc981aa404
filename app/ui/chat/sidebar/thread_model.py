"""The sidebar's list model: lightweight thread rows, pinned first, then by last activity.

A list model over small rows (id, title, pinned, archived, last activity): the store's
`ThreadSummary` tuples kept as they come, or `ThreadRow` records, rather than one widget or item
object per thread, so a list of 100,000 threads costs C-level passes and one model reset; the view (with uniform item sizes) only asks for the rows on screen. The
model shows either the live threads or, with `show_archived`, the archived ones.

It derives from `QStringListModel` (a C++ `QAbstractListModel` holding the titles) and keeps
the rows beside it: a view lays out by calling `rowCount()` a few times per row, and a Python
override of it costs ~4 µs a call — 160 ms for 10,000 threads — while the C++ one is free.
Only `data()` for the rows on screen runs in Python.

With a page source (`set_pages`, what the Chat tab uses) the model holds only the pages read
so far: the first `PAGE_SIZE` live and archived threads, then `PAGE_SIZE` more each time the
view scrolls to the end (Qt's `canFetchMore`/`fetchMore`), read on the database thread by
keyset pagination (`ThreadRepository.sidebar_page`: the rows after the last one loaded, in the
listing's order, never OFFSET). A reload of 100,000 threads thus builds ~1,000 tuples instead
of 100,000. `load_through(thread_id)` loads down to a thread not read yet (to select it).
`set_threads` (everything at once, filtered here) stays for callers with a plain list.

Editing a title in place (F2 / double-click) goes through `setData`: the row shows the new
title at once and `renameRequested` asks the owner to store it.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import logging
import operator
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QStringListModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap, QPolygonF

from app.core.store.threads import OrderedSummaries, SidebarPages, ThreadSummary, sidebar_key

__all__ = [
    "ARCHIVED_ROLE",
    "DATE_ROLE",
    "PAGE_SIZE",
    "PINNED_ROLE",
    "THREAD_ID_ROLE",
    "UPDATED_ROLE",
    "ThreadListModel",
    "ThreadRow",
    "date_label",
    "sort_key",
]

THREAD_ID_ROLE = Qt.ItemDataRole.UserRole + 1
PINNED_ROLE = Qt.ItemDataRole.UserRole + 2
UPDATED_ROLE = Qt.ItemDataRole.UserRole + 3
ARCHIVED_ROLE = Qt.ItemDataRole.UserRole + 4
DATE_ROLE = Qt.ItemDataRole.UserRole + 5  # "Today", "Yesterday", "3 Mar", "3 Mar 2024"

_Index = QModelIndex | QPersistentModelIndex

log = logging.getLogger(__name__)

# Rows per page read from the store: a few screens (a row is 26 px) and cheap (~1-2 ms).
PAGE_SIZE = 500


@dataclass(slots=True)
class ThreadRow:
    """What the sidebar needs of one thread."""

    id: int
    title: str
    pinned: bool = False
    archived: bool = False
    updated_at: float = 0.0

    @classmethod
    def from_thread(cls, thread: Any) -> ThreadRow:
        """A row from an `app.core.store.records.Thread` (read by attribute name)."""
        return cls(
            id=int(thread.id),
            title=str(thread.title or ""),
            pinned=bool(thread.pinned),
            archived=bool(thread.archived),
            updated_at=float(thread.updated_at or 0.0),
        )


# A sidebar row: read by attribute name only (id, title, pinned, archived, updated_at).
SidebarRow = ThreadRow | ThreadSummary


def date_label(updated_at: float, today: _dt.date | None = None) -> str:
    """When a thread was last active, as the sidebar shows it: "Today", "Yesterday", the day
    and month this year ("3 Mar"), with the year before that ("3 Mar 2024")."""
    if updated_at <= 0:
        return ""
    day = _dt.datetime.fromtimestamp(updated_at).date()
    today = today or _dt.date.today()
    if day == today:
        return "Today"
    if day == today - _dt.timedelta(days=1):
        return "Yesterday"
    month = _MONTHS[day.month - 1]
    if day.year == today.year:
        return f"{day.day} {month}"
    return f"{day.day} {month} {day.year}"


# English month abbreviations, as the rest of the UI is English (strftime("%b") follows the
# C locale's LC_TIME, which may not match the UI's language).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def sort_key(row: ThreadRow) -> tuple[bool, float, int]:
    """Pinned first, then most recent activity first, then newest id first."""
    return (not row.pinned, -row.updated_at, -row.id)


_ID = operator.attrgetter("id")
_TITLE = operator.attrgetter("title")
_ARCHIVED = operator.attrgetter("archived")


def _sort_rows(rows: list[Any]) -> None:
    """Sort in place by `sort_key` as three stable C-keyed passes (least significant first):
    linear on the store's already ordered rows, with no Python call per row."""
    rows.sort(key=_ID, reverse=True)
    rows.sort(key=operator.attrgetter("updated_at"), reverse=True)
    rows.sort(key=operator.attrgetter("pinned"), reverse=True)


def pin_icon() -> QIcon:
    """A small drawn push-pin (no icon files needed, crisp on any theme)."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor("#c0392b")))
    painter.drawEllipse(QPointF(9, 6), 4.5, 4.5)
    painter.setBrush(QBrush(QColor("#7f8c8d")))
    painter.drawPolygon(QPolygonF([QPointF(7, 9), QPointF(9, 10), QPointF(3, 15)]))
    painter.end()
    return QIcon(pixmap)


class ThreadListModel(QStringListModel):
    """Thread rows for the sidebar; `set_threads` replaces them all in one reset."""

    renameRequested = Signal(int, str)  # thread id, new title (already shown)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        # The rows loaded, per listing: [live, archived]; `_rows` is the one shown.
        self._lists: list[list[SidebarRow]] = [[], []]
        self._more = [False, False]  # whether the store has more rows after the loaded ones
        self._rows: list[SidebarRow] = self._lists[0]
        self._row_of: dict[int, int] | None = {}
        self._show_archived = False
        self._archived_count = 0
        self._source: Any = None  # a ThreadRepository (sidebar_page, thread_summary)
        self._spawn: Callable[[Coroutine[Any, Any, Any]], Any] | None = None
        self._generation = 0  # bumped by every reset: a page read for an older one is dropped
        self._fetching = [False, False]
        self._pin_icon: QIcon | None = None
        self._blank_icon: QIcon | None = None

    pageLoaded = Signal(bool, int)  # archived listing, rows added (each page read, even empty)

    # --- content ---------------------------------------------------------------------------

    @property
    def show_archived(self) -> bool:
        return self._show_archived

    def set_show_archived(self, archived: bool) -> None:
        """Show the archived threads (True) or the live, unarchived ones (False)."""
        if archived != self._show_archived:
            self._show_archived = archived
            self._refilter()

    def set_threads(self, threads: Iterable[Any]) -> None:
        """Replace every row with `threads` (Thread records, ThreadRows or the store's
        `ThreadSummary` tuples, which are kept as they are), sorted; nothing more to fetch.
        The store's `OrderedSummaries` are in this order already: they are taken as they are."""
        if isinstance(threads, OrderedSummaries):
            rows: list[Any] = threads
        else:
            rows = [
                t if isinstance(t, (ThreadRow, ThreadSummary)) else ThreadRow.from_thread(t)
                for t in threads
            ]
            _sort_rows(rows)
        # C-level passes only (attrgetter, compress): 100,000 rows in a few milliseconds.
        archived = list(map(bool, map(_ARCHIVED, rows)))
        live = list(itertools.compress(rows, map(operator.not_, archived)))
        gone = list(itertools.compress(rows, archived))
        self._reset(live, gone, more=(False, False), archived_count=len(gone), source=None, spawn=None)

    def set_pages(
        self,
        pages: SidebarPages,
        *,
        source: Any,
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
    ) -> None:
        """Show the first pages read by `ThreadRepository.sidebar_first_pages(PAGE_SIZE)`;
        later pages are read from `source` (`sidebar_page`) through `spawn` as the view asks."""
        live, gone = list(pages.live), list(pages.archived)
        more = (len(live) >= PAGE_SIZE, len(gone) < pages.archived_count)
        self._reset(live, gone, more=more, archived_count=pages.archived_count, source=source, spawn=spawn)

    def _reset(
        self,
        live: list[Any],
        gone: list[Any],
        *,
        more: tuple[bool, bool],
        archived_count: int,
        source: Any,
        spawn: Any,
    ) -> None:
        self._generation += 1
        self._lists = [live, gone]
        self._more = list(more)
        self._fetching = [False, False]
        self._archived_count = archived_count
        self._source = source
        self._spawn = spawn
        self._refilter()

    def _refilter(self) -> None:
        self._rows = self._lists[int(self._show_archived)]
        self._row_of = None  # built by the first lookup (_rows_by_id), not for every reload
        titles = [t or "Untitled" for t in map(_TITLE, self._rows)]
        self.setStringList(titles)  # one model reset

    def _rows_by_id(self) -> dict[int, int]:
        if self._row_of is None:
            self._row_of = dict(zip(map(_ID, self._rows), itertools.count()))
        return self._row_of

    def rows(self) -> list[SidebarRow]:
        """The rows shown (loaded so far), in order (a copy)."""
        return list(self._rows)

    def row_at(self, row: int) -> SidebarRow:
        return self._rows[row]

    def row_for_id(self, thread_id: int) -> int:
        """The row showing `thread_id`, or -1 (also when it is not loaded yet)."""
        return self._rows_by_id().get(thread_id, -1)

    def find_thread(self, thread_id: int) -> SidebarRow | None:
        """The row record of a loaded thread, shown or filtered out, or None."""
        i = self._rows_by_id().get(thread_id)
        if i is not None:
            return self._rows[i]
        other = self._lists[int(not self._show_archived)]
        return next((r for r in other if r.id == thread_id), None)

    def thread_ids(self) -> list[int]:
        return [r.id for r in self._rows]

    def archived_count(self) -> int:
        return self._archived_count

    # --- pages -----------------------------------------------------------------------------

    @property
    def spawn(self) -> Callable[[Coroutine[Any, Any, Any]], Any] | None:
        """What reads the next pages (the tab's spawn), None without a page source."""
        return self._spawn

    @property
    def has_more(self) -> bool:
        """Whether the listing shown has rows in the store not loaded yet."""
        return self._source is not None and self._more[int(self._show_archived)]

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        if parent.isValid():
            return False
        archived = int(self._show_archived)
        return self.has_more and not self._fetching[archived] and self._spawn is not None

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt's signature
        if self.canFetchMore(parent) and self._spawn is not None:
            archived = self._show_archived
            self._fetching[int(archived)] = True
            self._spawn(self.load_page(archived))

    async def load_page(self, archived: bool | None = None, *, through: Any = None) -> int:
        """Read the next page of a listing (the shown one by default) and append it; with
        `through` (a `SidebarKey`), every row down to that key. Returns the rows added."""
        if archived is None:
            archived = self._show_archived
        which = int(archived)
        generation = self._generation
        loaded = self._lists[which]
        if self._source is None or not self._more[which]:
            return 0
        after = sidebar_key(loaded[-1]) if loaded else None  # type: ignore[arg-type]
        try:
            page = await self._source.sidebar_page(
                archived=archived, after=after, through=through, limit=None if through else PAGE_SIZE
            )
        finally:
            if generation == self._generation:
                self._fetching[which] = False
        if generation != self._generation:
            return 0  # reloaded meanwhile: this page belongs to the old listing
        if through is None and len(page) < PAGE_SIZE:
            self._more[which] = False
        rows = list(page)
        if loaded and (after is None or sidebar_key(loaded[-1]) != after):  # type: ignore[arg-type]
            # Another read appended meanwhile (a scroll and a load_through): keep what follows.
            last = sidebar_key(loaded[-1])  # type: ignore[arg-type]
            rows = [r for r in rows if sidebar_key(r) < last]
        self._append(which, rows)
        self.pageLoaded.emit(archived, len(rows))  # also for an empty last page
        return len(rows)

    def _append(self, which: int, page: list[Any]) -> None:
        if not page:
            return
        loaded = self._lists[which]
        if which != int(self._show_archived):
            loaded.extend(page)
            return
        first = len(loaded)
        loaded.extend(page)  # data() reads these rows: in place before the rows are announced
        if self._row_of is not None:
            self._row_of.update(zip(map(_ID, page), itertools.count(first)))
        self.insertRows(first, len(page))  # the C++ row count (titles come from data())

    async def load_through(self, thread_id: int) -> bool:
        """Load the rows down to `thread_id` if it is not loaded yet (one query from the last
        row loaded to its key); True when it is loaded afterwards (in either listing)."""
        if self.find_thread(thread_id) is not None:
            return True
        if self._source is None:
            return False
        generation = self._generation
        summary = await self._source.thread_summary(thread_id)
        if summary is None or generation != self._generation:
            return False
        archived = bool(summary.archived)
        if self._more[int(archived)]:
            await self.load_page(archived, through=sidebar_key(summary))
        return self.find_thread(thread_id) is not None

    # --- Qt model API ----------------------------------------------------------------------


    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.title or "Untitled"
        if role == THREAD_ID_ROLE:
            return row.id
        if role == PINNED_ROLE:
            return row.pinned
        if role == ARCHIVED_ROLE:
            return row.archived
        if role == UPDATED_ROLE:
            return row.updated_at
        if role == DATE_ROLE:
            return date_label(row.updated_at)
        if role == Qt.ItemDataRole.DecorationRole:
            # Unpinned rows get a blank icon of the same size, so every title starts aligned.
            if self._pin_icon is None:
                self._pin_icon = pin_icon()
                blank = QPixmap(16, 16)
                blank.fill(Qt.GlobalColor.transparent)
                self._blank_icon = QIcon(blank)
            return self._pin_icon if row.pinned else self._blank_icon
        if role == Qt.ItemDataRole.ToolTipRole:
            when = _dt.datetime.fromtimestamp(row.updated_at).strftime("%Y-%m-%d %H:%M")
            extra = ("\nPinned" if row.pinned else "") + ("\nArchived" if row.archived else "")
            return f"{row.title}\nLast activity {when}{extra}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            state = (", pinned" if row.pinned else "") + (", archived" if row.archived else "")
            when = date_label(row.updated_at)
            return f"{row.title or 'Untitled'}{state}" + (f", {when}" if when else "")
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = " ".join(str(value).split())
        number = index.row()
        row = self._rows[number]
        if not title or title == row.title:
            return False
        if isinstance(row, ThreadRow):
            row.title = title
        else:  # a ThreadSummary tuple: replace it, here and in the unfiltered list
            renamed = row._replace(title=title)
            self._rows[number] = renamed
        super().setData(index, title, Qt.ItemDataRole.EditRole)  # emits dataChanged
        self.renameRequested.emit(row.id, title)
        return True
