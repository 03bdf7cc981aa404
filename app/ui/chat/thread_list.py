"""The thread sidebar: a New thread button and the threads, pinned first, then by last activity.

The widget only shows threads and reports what the user asked for (open, rename, pin, delete);
the Chat tab does the storage work, so this stays a thin view over `Thread` records.
Rename with F2 or a double-click (edited in place), delete with the Delete key or the context menu.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QKeyEvent, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["THREAD_ID_ROLE", "ThreadList", "ThreadListWidget"]

THREAD_ID_ROLE = Qt.ItemDataRole.UserRole + 1
PINNED_ROLE = Qt.ItemDataRole.UserRole + 2
UPDATED_ROLE = Qt.ItemDataRole.UserRole + 3


def _pin_icon() -> QIcon:
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


class _FullWidthDelegate(QStyledItemDelegate):
    """Rows as wide as the list, so long titles are elided instead of scrolling sideways."""

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self._view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(self._view.viewport().width(), max(size.height(), 26))


class ThreadListWidget(QListWidget):
    """The list itself: Delete asks to delete, F2/double-click edits the title in place."""

    deletePressed = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if item is not None and event.key() == Qt.Key.Key_Delete and self.state() != QAbstractItemView.State.EditingState:
            self.deletePressed.emit(int(item.data(THREAD_ID_ROLE)))
            return
        super().keyPressEvent(event)


class ThreadList(QWidget):
    """Sidebar with the thread list. Emits requests; `set_threads` shows the current state."""

    threadActivated = Signal(int)  # thread id chosen by the user
    newThreadRequested = Signal()
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    pinRequested = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadSidebar")
        self._populating = False
        self._pin_icon = _pin_icon()

        self.new_button = QPushButton("New thread", self)
        self.new_button.setObjectName("newThreadButton")
        self.new_button.setAccessibleName("New thread")
        self.new_button.setToolTip("Start a new thread (Ctrl+N)")
        self.new_button.setAutoDefault(False)

        self.list = ThreadListWidget(self)
        self.list.setObjectName("threadList")
        self.list.setAccessibleName("Threads")
        self.list.setAccessibleDescription(
            "Chat threads, pinned first, then by last activity. F2 renames, Delete deletes."
        )
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setItemDelegate(_FullWidthDelegate(self.list))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        layout.addWidget(self.new_button)
        layout.addWidget(self.list, 1)

        self.new_button.clicked.connect(self.newThreadRequested)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.deletePressed.connect(self.deleteRequested)
        self.list.customContextMenuRequested.connect(self._show_menu)

    # --- showing threads -------------------------------------------------------------------

    def set_threads(self, threads: Sequence[Any], *, current_id: int | None = None) -> None:
        """Show `threads` (Thread records) pinned first, then newest activity first."""
        ordered = sorted(threads, key=lambda t: (not t.pinned, -(t.updated_at or 0.0), -t.id))
        self._populating = True
        try:
            self.list.clear()
            for thread in ordered:
                item = QListWidgetItem(thread.title or "Untitled")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                item.setData(THREAD_ID_ROLE, thread.id)
                item.setData(PINNED_ROLE, bool(thread.pinned))
                item.setData(UPDATED_ROLE, float(thread.updated_at or 0.0))
                when = _dt.datetime.fromtimestamp(thread.updated_at or 0.0).strftime("%Y-%m-%d %H:%M")
                item.setToolTip(f"{thread.title}\nLast activity {when}" + ("\nPinned" if thread.pinned else ""))
                if thread.pinned:
                    item.setIcon(self._pin_icon)
                self.list.addItem(item)
            if current_id is not None:
                self._select(current_id)
        finally:
            self._populating = False

    def _select(self, thread_id: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(THREAD_ID_ROLE) == thread_id:
                self.list.setCurrentItem(item)
                return
        self.list.setCurrentRow(-1)

    def select_thread(self, thread_id: int | None) -> None:
        """Highlight a thread without reporting it as activated."""
        self._populating = True
        try:
            if thread_id is None:
                self.list.setCurrentRow(-1)
            else:
                self._select(thread_id)
        finally:
            self._populating = False

    def current_thread_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(THREAD_ID_ROLE))

    def thread_ids(self) -> list[int]:
        return [int(self.list.item(i).data(THREAD_ID_ROLE)) for i in range(self.list.count())]

    def begin_rename(self, thread_id: int | None = None) -> None:
        if thread_id is not None:
            self.select_thread(thread_id)
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    # --- reacting --------------------------------------------------------------------------

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None and not self._populating:
            self.threadActivated.emit(int(current.data(THREAD_ID_ROLE)))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._populating:
            return
        title = item.text().strip()
        if title:
            self.renameRequested.emit(int(item.data(THREAD_ID_ROLE)), title)

    def _show_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos) or self.list.currentItem()
        if item is None:
            return
        thread_id = int(item.data(THREAD_ID_ROLE))
        pinned = bool(item.data(PINNED_ROLE))
        menu = QMenu(self)
        menu.setAccessibleName("Thread actions")
        menu.addAction("Rename\tF2").triggered.connect(lambda: self.list.editItem(item))
        menu.addAction("Unpin" if pinned else "Pin to top").triggered.connect(
            lambda: self.pinRequested.emit(thread_id, not pinned)
        )
        menu.addSeparator()
        menu.addAction("Delete…\tDel").triggered.connect(lambda: self.deleteRequested.emit(thread_id))
        menu.popup(self.list.viewport().mapToGlobal(pos))
