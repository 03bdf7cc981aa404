"""The thread sidebar: search box, New thread, the threads (or search hits), undo bar, Archived.

The widget only shows threads and reports what the user asked for (open, rename, pin, archive,
delete, export, undo, search); the Chat tab and its `SidebarController` do the storage work, so
this stays a thin view.

- The threads are a `QListView` over `ThreadListModel` (lightweight rows, uniform item sizes):
  no widget or item object per thread, so 10,000 threads show in a few milliseconds.
  `reload` reads only the first page (`PAGE_SIZE` rows); the model reads more as the list
  scrolls to its end, and down to a thread that is selected before it is loaded.
- Rename with F2 or a double-click (edited in place); Delete deletes at once and the undo bar
  ("Thread deleted · Undo") offers to bring it back for `UNDO_SECONDS` (Ctrl+Z while shown).
- Typing in the search box swaps the list for the ranked hits (`SearchResults`); Esc returns.
- "Archived" at the bottom switches the list to the archived threads and back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeyEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import style
from app.ui.chat.sidebar.search_panel import SearchBox, SearchResults
from app.ui.chat.sidebar.thread_model import (
    ARCHIVED_ROLE,
    DATE_ROLE,
    PAGE_SIZE,
    PINNED_ROLE,
    THREAD_ID_ROLE,
    UPDATED_ROLE,
    ThreadListModel,
)

__all__ = [
    "ARCHIVED_ROLE",
    "PINNED_ROLE",
    "THREAD_ID_ROLE",
    "UNDO_SECONDS",
    "UPDATED_ROLE",
    "ThreadList",
    "ThreadListView",
    "UndoBar",
]

UNDO_SECONDS = 10
EMPTY_THREADS = "No threads yet.\nType a message to start one, or press Ctrl+N."
EMPTY_ARCHIVED = "No archived threads.\nArchive a thread with Ctrl+Shift+A or its menu."


class _FullWidthDelegate(QStyledItemDelegate):
    """Rows as wide as the list, so long titles are elided instead of scrolling sideways; the
    date of the last activity ("Today", "Yesterday", "3 Mar") at the right, muted."""

    DATE_GAP = 8

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self._view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(self._view.viewport().width(), max(size.height(), 26))

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        when = str(index.data(DATE_ROLE) or "")
        if not when:
            super().paint(painter, option, index)
            return
        metrics = option.fontMetrics
        date_width = metrics.horizontalAdvance(when)
        opt = QStyleOptionViewItem(option)
        # The title is elided short of the date; the date is drawn in the space left.
        opt.rect = option.rect.adjusted(0, 0, -(date_width + self.DATE_GAP + 4), 0)
        super().paint(painter, opt, index)
        painter.save()
        selected = style.is_selected(option)
        palette = option.palette
        if selected:
            painter.fillRect(
                option.rect.adjusted(opt.rect.width(), 0, 0, 0),
                palette.color(QPalette.ColorRole.Highlight),
            )
            colour = palette.color(QPalette.ColorRole.HighlightedText)
        else:
            colour = palette.color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(colour)
        painter.drawText(
            option.rect.adjusted(0, 0, -(self.DATE_GAP // 2 + 2), 0),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            when,
        )
        painter.restore()


class ThreadListView(QListView):
    """The threads: Delete asks to delete, F2/double-click edits the title in place."""

    deletePressed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_hint = EMPTY_THREADS

    def current_thread_id(self) -> int | None:
        index = self.currentIndex()
        return int(index.data(THREAD_ID_ROLE)) if index.isValid() else None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        thread_id = self.current_thread_id()
        editing = self.state() == QAbstractItemView.State.EditingState
        if thread_id is not None and event.key() == Qt.Key.Key_Delete and not editing:
            self.deletePressed.emit(thread_id)
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        # Uniform item sizes are cached: lay out again so rows follow the new width.
        self.scheduleDelayedItemsLayout()

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if model is not None and model.rowCount() == 0 and self.empty_hint:
            painter = QPainter(self.viewport())
            painter.setPen(QColor(self.palette().color(QPalette.ColorRole.PlaceholderText)))
            painter.setFont(QFont(self.font()))
            painter.drawText(
                self.viewport().rect().adjusted(12, 16, -12, -12),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
                self.empty_hint,
            )
            painter.end()
            return
        super().paintEvent(event)


class _ElidedLabel(QLabel):
    """A one-line label that elides its text to the width it is given and never asks for
    more: the undo bar must not widen the sidebar (it jumped from ~220 to ~400 px)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self._full = text
        super().setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # the whole text for callers; the screen shows it elided
        return self._full

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.width()
        shown = self._full
        if width > 20:
            shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        super().setText(shown)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(0, super().sizeHint().height())


class UndoBar(QFrame):
    """"Thread deleted · Undo", shown for `UNDO_SECONDS` after a delete."""

    undoRequested = Signal(int)  # thread id
    expired = Signal(int)  # the offer ended (timeout or dismissed) for this thread id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoBar")
        self.setAccessibleName("Thread deleted")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "QFrame#undoBar { background: palette(tool-tip-base); color: palette(tool-tip-text);"
            " border: 1px solid palette(mid); border-radius: 6px; }"
        )
        self.label = _ElidedLabel("Thread deleted", self)
        self.label.setObjectName("undoLabel")
        self.label.setAccessibleName("Thread deleted")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setObjectName("undoDeleteButton")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.setToolTip("Bring the thread back (Ctrl+Z)")
        self.undo_button.setAutoDefault(False)
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setText("×")
        self.dismiss_button.setObjectName("undoDismissButton")
        self.dismiss_button.setAccessibleName("Dismiss")
        self.dismiss_button.setToolTip("Dismiss: the thread stays deleted")
        self.dismiss_button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.dismiss_button)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(UNDO_SECONDS * 1000)
        self.timer.timeout.connect(self.finish)
        self.undo_button.clicked.connect(self.undo)
        self.dismiss_button.clicked.connect(self.finish)
        self.thread_id: int | None = None
        self.hide()

    def offer(self, thread_id: int, title: str) -> None:
        """Show the offer for `thread_id` (replacing any earlier one) and start the countdown."""
        if self.thread_id is not None and self.thread_id != thread_id:
            self.expired.emit(self.thread_id)
        self.thread_id = thread_id
        shown = title if len(title) <= 28 else title[:27] + "…"
        self.label.setText(f"Deleted “{shown}”")
        self.label.setToolTip(f"“{title}” was deleted. Undo brings it back.")
        self.setAccessibleDescription(f"“{title}” was deleted. Press Undo or Ctrl+Z to bring it back.")
        self.show()
        self.timer.start()

    @property
    def active(self) -> bool:
        return self.thread_id is not None

    def undo(self) -> bool:
        """Ask to restore the thread on offer; False when there is none."""
        thread_id = self.thread_id
        if thread_id is None:
            return False
        self.thread_id = None
        self.timer.stop()
        self.hide()
        self.undoRequested.emit(thread_id)
        return True

    def finish(self) -> None:
        """End the offer: the thread stays deleted (and is purged at the next start)."""
        thread_id = self.thread_id
        self.thread_id = None
        self.timer.stop()
        self.hide()
        if thread_id is not None:
            self.expired.emit(thread_id)


class ThreadList(QWidget):
    """Sidebar with the thread list. Emits requests; `set_threads` shows the current state."""

    threadActivated = Signal(int)  # thread id chosen by the user
    newThreadRequested = Signal()
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    pinRequested = Signal(int, bool)
    archiveRequested = Signal(int, bool)
    exportRequested = Signal(int)
    showArchivedChanged = Signal(bool)
    searchChanged = Signal(str)  # debounced query; "" when the search was cleared
    hitChosen = Signal(object)  # SearchHit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadSidebar")
        self._populating = False

        self.search_box = SearchBox(self)

        self.new_button = QPushButton("New thread", self)
        self.new_button.setObjectName("newThreadButton")
        style.icon_button(self.new_button, "new-thread", "Start a new thread (Ctrl+N)", "New thread")
        self.new_button.setAutoDefault(False)

        self.archived_header = QLabel("Archived threads", self)
        self.archived_header.setObjectName("archivedHeader")
        self.archived_header.setAccessibleName("Showing archived threads")
        self.archived_header.setProperty("role", "subheading")
        self.archived_header.hide()

        self.model = ThreadListModel(self)
        self.list = ThreadListView(self)
        self.list.setObjectName("threadList")
        self.list.setAccessibleName("Threads")
        self.list.setAccessibleDescription(
            "Chat threads, pinned first, then by last activity. F2 renames, Delete deletes, "
            "Ctrl+Shift+A archives."
        )
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setItemDelegate(_FullWidthDelegate(self.list))

        # The search results page is built on the first search (`results`): a list, its model
        # and delegate that a start does not need before the composer accepts typing.
        self._results: SearchResults | None = None
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("sidebarStack")
        self.stack.addWidget(self.list)

        self.undo_bar = UndoBar(self)

        self.archived_button = QToolButton(self)
        self.archived_button.setObjectName("archivedToggle")
        self.archived_button.setText("Archived")
        self.archived_button.setCheckable(True)
        self.archived_button.setAutoRaise(True)
        self.archived_button.setAccessibleName("Show archived threads")
        self.archived_button.setToolTip("Show the archived threads instead of the live ones")

        self.options_button = QToolButton(self)
        self.options_button.setObjectName("sidebarOptions")
        self.options_button.setText("Options")
        self.options_button.setAutoRaise(True)
        self.options_button.setAccessibleName("Sidebar options")
        self.options_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.options_menu = QMenu(self.options_button)
        self.options_menu.setAccessibleName("Sidebar options")
        self.ask_model_action = QAction("Ask the model for titles", self)
        self.ask_model_action.setCheckable(True)
        self.ask_model_action.setToolTip(
            "Name new threads by asking the reply's model for a short title (one extra request); "
            "off: use the first words of your message."
        )
        self.options_menu.addAction(self.ask_model_action)
        self.options_button.setMenu(self.options_menu)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.archived_button)
        bottom.addStretch(1)
        bottom.addWidget(self.options_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search_box)
        layout.addWidget(self.new_button)
        layout.addWidget(self.archived_header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.undo_bar)
        layout.addLayout(bottom)

        self.new_button.clicked.connect(self.newThreadRequested)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)
        self.model.renameRequested.connect(self._on_renamed)
        self.list.deletePressed.connect(self.deleteRequested)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.archived_button.toggled.connect(self._on_archived_toggled)
        self.search_box.queryChanged.connect(self._on_query)
        self.search_box.escapePressed.connect(self.clear_search)
        self.search_box.focusResultsRequested.connect(lambda: self.results.focus_results())
        self.search_box.acceptRequested.connect(self._on_search_accept)

    # --- showing threads -------------------------------------------------------------------

    def set_threads(self, threads: Sequence[Any], *, current_id: int | None = None) -> None:
        """Show `threads` (Thread records): pinned first, then newest activity first.

        Archived threads are kept and shown only while "Archived" is on.
        """
        self._populating = True
        try:
            self.model.set_threads(threads)
            self._update_archived_label()
            if current_id is not None:
                self._select(current_id)
        finally:
            self._populating = False

    async def reload(
        self,
        source: Any,
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
        *,
        current_id: int | None = None,
    ) -> None:
        """Show the first page of the threads from `source` (a `ThreadRepository`), reading
        later pages through `spawn` as the list scrolls; select `current_id`, loading down to
        it when it is not on the first page."""
        pages = await source.sidebar_first_pages(PAGE_SIZE)
        self._populating = True
        try:
            self.model.set_pages(pages, source=source, spawn=spawn)
            self._update_archived_label()
            if current_id is not None:
                self._select(current_id)
        finally:
            self._populating = False
        if current_id is not None and self.model.row_for_id(current_id) < 0:
            await self._load_and_select(current_id)

    async def _load_and_select(self, thread_id: int) -> None:
        if await self.model.load_through(thread_id) and self.model.row_for_id(thread_id) >= 0:
            self.select_thread(thread_id)

    def _update_archived_label(self) -> None:
        n = self.model.archived_count()
        self.archived_button.setText(f"Archived ({n})" if n else "Archived")

    def _select(self, thread_id: int) -> None:
        row = self.model.row_for_id(thread_id)
        if row >= 0:
            index = self.model.index(row, 0)
            self.list.setCurrentIndex(index)
            self.list.scrollTo(index)
        else:
            self.list.setCurrentIndex(QModelIndex())

    def select_thread(self, thread_id: int | None) -> None:
        """Highlight a thread without reporting it as activated."""
        self._populating = True
        try:
            if thread_id is None:
                self.list.setCurrentIndex(QModelIndex())
                self.list.clearSelection()
            else:
                self._select(thread_id)
                spawn = self.model.spawn
                if self.model.row_for_id(thread_id) < 0 and self.model.has_more and spawn is not None:
                    spawn(self._load_and_select(thread_id))  # not loaded yet: read down to it
        finally:
            self._populating = False

    def current_thread_id(self) -> int | None:
        return self.list.current_thread_id()

    def thread_ids(self) -> list[int]:
        """The ids shown, in order."""
        return self.model.thread_ids()

    def title_of(self, thread_id: int) -> str:
        row = self.model.find_thread(thread_id)
        return row.title if row is not None else ""

    def begin_rename(self, thread_id: int | None = None) -> None:
        if thread_id is not None:
            self.select_thread(thread_id)
        index = self.list.currentIndex()
        if index.isValid():
            self.list.edit(index)

    @property
    def show_archived(self) -> bool:
        return self.model.show_archived

    def set_show_archived(self, archived: bool) -> None:
        self.archived_button.setChecked(archived)

    def emitters(self) -> list[Any]:
        """Objects whose signals the tab blocks when it closes (see ChatTab._silence_children)."""
        results = self._results
        return [
            self.model,
            self.search_box,
            self.search_box.debounce_timer,
            *([results.view, results.view.selectionModel()] if results is not None else []),
            self.undo_bar,
            self.undo_bar.timer,
            self.archived_button,
        ]

    # --- search ----------------------------------------------------------------------------

    @property
    def results(self) -> SearchResults:
        """The search results page (built on first use, then kept in the stack)."""
        if self._results is None:
            self._results = SearchResults(self)
            self.stack.addWidget(self._results)
            self._results.hitChosen.connect(self.hitChosen)
        return self._results

    @property
    def searching(self) -> bool:
        return self._results is not None and self.stack.currentWidget() is self._results

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def show_search_results(self, query: str, hits: Sequence[Any]) -> None:
        if query and query == self.search_box.query():
            self.results.show_hits(query, hits)
            self.stack.setCurrentWidget(self.results)

    def clear_search(self) -> None:
        """Back to the threads (Esc)."""
        if self.search_box.text():
            self.search_box.clear()
        if self._results is not None:
            self._results.show_hits("", [])
        self.stack.setCurrentWidget(self.list)

    def _on_query(self, query: str) -> None:
        if not query:
            if self._results is not None:
                self._results.model.clear()
            self.stack.setCurrentWidget(self.list)
        self.searchChanged.emit(query)

    def _on_search_accept(self) -> None:
        if self.searching:
            self.results.choose_current()

    # --- reacting --------------------------------------------------------------------------

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._populating:
            self.threadActivated.emit(int(current.data(THREAD_ID_ROLE)))

    def _on_renamed(self, thread_id: int, title: str) -> None:
        if not self._populating:
            self.renameRequested.emit(thread_id, title)

    def _on_archived_toggled(self, checked: bool) -> None:
        self._populating = True
        try:
            self.model.set_show_archived(checked)
        finally:
            self._populating = False
        self.archived_header.setVisible(checked)
        self.list.empty_hint = EMPTY_ARCHIVED if checked else EMPTY_THREADS
        self.archived_button.setAccessibleName("Show live threads" if checked else "Show archived threads")
        self.list.viewport().update()
        self.showArchivedChanged.emit(checked)

    def _show_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            index = self.list.currentIndex()
        if not index.isValid():
            return
        thread_id = int(index.data(THREAD_ID_ROLE))
        pinned = bool(index.data(PINNED_ROLE))
        archived = bool(index.data(ARCHIVED_ROLE))
        persistent = QPersistentModelIndex(index)
        menu = QMenu(self)
        menu.setAccessibleName("Thread actions")
        menu.addAction("Rename\tF2").triggered.connect(
            lambda: self.list.edit(self.model.index(persistent.row(), 0)) if persistent.isValid() else None
        )
        menu.addAction("Unpin" if pinned else "Pin to top").triggered.connect(
            lambda: self.pinRequested.emit(thread_id, not pinned)
        )
        menu.addAction(("Unarchive" if archived else "Archive") + "\tCtrl+Shift+A").triggered.connect(
            lambda: self.archiveRequested.emit(thread_id, not archived)
        )
        menu.addAction("Export thread…").triggered.connect(lambda: self.exportRequested.emit(thread_id))
        menu.addSeparator()
        menu.addAction("Delete\tDel").triggered.connect(lambda: self.deleteRequested.emit(thread_id))
        menu.popup(self.list.viewport().mapToGlobal(pos))
