"""What the thread sidebar's requests do: archive, delete with undo, search, titles, export.

`ChatTab` builds one `SidebarController` and keeps it as `tab.sidebar`, giving it what it uses
(the context, the thread list, the tab's spawn and a few of its operations as callables; never
the tab itself). The controller does the storage work the sidebar (`ThreadList`, a thin view)
asks for, through that spawn (the tab's TaskOwner) so closing the tab cancels it:

- archive/unarchive (Ctrl+Shift+A or the context menu); the "Archived" toggle shows them;
- delete WITH UNDO: the thread is soft-deleted at once and the undo bar offers it back for
  `UNDO_SECONDS` (Ctrl+Z while shown, wherever the focus is in the tab: while the bar shows, a
  text field's own undo does not claim Ctrl+Z — see `_UndoKeyClaim`); afterwards it stays
  soft-deleted and `app.main` purges it at the next start;
- search (Ctrl+F / Ctrl+K focus the box): `ThreadRepository.search` runs on the database thread,
  the newest query wins; choosing a hit puts its message on the visible path
  (`ChatService.select_sibling`), opens the thread and calls the tab's `reveal_message`;
- titles: new threads are "New chat" until their first reply, then `ChatService.auto_title`
  names them (asking the model when "Ask the model for titles" is on, a stored setting);
- export of one thread from the context menu (`ThreadTransfer`).

Signals let tests and other views await what happened instead of polling.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget

from app.core.errors import SwitchboardError
from app.core.store.records import SearchHit
from app.ui.chat.sidebar.export_actions import ThreadTransfer

if TYPE_CHECKING:
    from app.ui.chat.sidebar.thread_list import ThreadList
    from app.ui.context import AppContext

__all__ = ["ASK_MODEL_SETTING", "SidebarController"]

log = logging.getLogger(__name__)

ASK_MODEL_SETTING = "chat/askModelForTitles"
SEARCH_LIMIT = 50


class _UndoKeyClaim(QObject):
    """While installed (on the application, only while the undo bar shows), Ctrl+Z inside the
    tab is the delete's Undo: the focused text field (the composer) would otherwise accept the
    key's ShortcutOverride for its own undo, and the tab's Undo shortcut would never fire."""

    def __init__(self, tab: QWidget) -> None:
        super().__init__(tab)
        self._tab = tab
        self._keys = QKeySequence(QKeySequence.StandardKey.Undo)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(watched, QWidget):
            return False
        if not isinstance(event, QKeyEvent) or not (watched is self._tab or self._tab.isAncestorOf(watched)):
            return False
        pressed = QKeySequence(event.keyCombination())
        if pressed.matches(self._keys) != QKeySequence.SequenceMatch.ExactMatch:
            return False
        event.ignore()  # not claimed by the field: the shortcut map gets it
        return True


class SidebarController(QObject):
    """Carries out the sidebar's requests for one Chat tab."""

    searchFinished = Signal(str, int)  # query, number of hits shown
    hitRevealed = Signal(int)  # message id scrolled to
    undoOffered = Signal(int)  # thread id just deleted
    restored = Signal(int)  # thread id brought back
    archivedChanged = Signal(int, bool)  # thread id, archived
    titled = Signal(int, str)  # thread id, its automatic title

    def __init__(
        self,
        *,
        ctx: AppContext,
        thread_list: ThreadList,
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
        current_thread: Callable[[], int | None],
        closed: Callable[[], bool],
        start_new_thread: Callable[[], None],
        open_thread: Callable[[int], Awaitable[None]],
        reload_threads: Callable[[], Awaitable[None]],
        reveal_message: Callable[[int], bool],
        parent: QWidget,
    ) -> None:
        """`parent` is the widget the shortcuts live on (the tab)."""
        super().__init__(parent)
        self.ctx = ctx
        self.list = thread_list
        self._spawn = spawn
        self._current_thread = current_thread
        self._closed = closed
        self._start_new_thread = start_new_thread
        self._open_thread = open_thread
        self._reload_threads = reload_threads
        self._reveal_message = reveal_message
        self._search_generation = 0
        self._deleted_was_open: dict[int, bool] = {}
        # The transfer reloads the sidebar after an import through its owner widget (duck-typed
        # `reload_threads`, `current_thread_id`): the same widget the shortcuts live on.
        self.transfer = ThreadTransfer(parent, ctx, tab=lambda: parent)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self._search_shortcuts = [
            QShortcut(QKeySequence(key), parent, context=context) for key in ("Ctrl+F", "Ctrl+K")
        ]
        self._archive_shortcut = QShortcut(QKeySequence("Ctrl+Shift+A"), parent, context=context)
        self._undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, parent, context=context)
        self._undo_shortcut.setEnabled(False)
        for shortcut in self._search_shortcuts:
            shortcut.activated.connect(self.list.focus_search)
        self._archive_shortcut.activated.connect(self.toggle_archive_current)
        self._undo_shortcut.activated.connect(self.list.undo_bar.undo)
        self._undo_claim = _UndoKeyClaim(parent)
        self._claiming = False

        ask = self.ctx.settings.value(ASK_MODEL_SETTING, False, type=bool)
        self.list.ask_model_action.setChecked(bool(ask))
        self.list.ask_model_action.toggled.connect(self._on_ask_model_toggled)

        self.list.archiveRequested.connect(lambda tid, on: spawn(self.set_archived(tid, on)))
        self.list.exportRequested.connect(lambda tid: spawn(self._export(tid)))
        self.list.searchChanged.connect(lambda q: spawn(self.run_search(q)))
        self.list.hitChosen.connect(lambda hit: spawn(self.reveal_hit(hit)))
        self.list.undo_bar.undoRequested.connect(lambda tid: spawn(self.undo_delete(tid)))
        self.list.undo_bar.expired.connect(self._on_undo_expired)

    # --- titles ----------------------------------------------------------------------------

    @property
    def ask_model(self) -> bool:
        """Whether new threads are named by asking the model (the stored setting)."""
        return self.list.ask_model_action.isChecked()

    def _on_ask_model_toggled(self, checked: bool) -> None:
        self.ctx.settings.setValue(ASK_MODEL_SETTING, checked)
        self.ctx.events.statusMessage.emit(
            "New threads will be named by the model." if checked else "New threads are named from your first message."
        )

    async def auto_title(self, thread_id: int) -> str | None:
        """Name a thread still called "New chat" after its first reply (no-op otherwise)."""
        try:
            title = await self.ctx.chat.auto_title(thread_id, ask_model=self.ask_model)
        except SwitchboardError as exc:
            log.info("automatic title failed: %s", exc)
            return None
        if title:
            self.titled.emit(thread_id, title)
        return title

    # --- archive ---------------------------------------------------------------------------

    def _target_thread(self) -> int | None:
        """The thread a keyboard command acts on: the sidebar's focus, else the open thread."""
        if self.list.list.hasFocus() and self.list.current_thread_id() is not None:
            return self.list.current_thread_id()
        return self._current_thread() or self.list.current_thread_id()

    def toggle_archive_current(self) -> None:
        thread_id = self._target_thread()
        if thread_id is None:
            self.ctx.events.statusMessage.emit("Open or select a thread to archive it.")
            return
        row = self.list.model.find_thread(thread_id)
        archived = not (row.archived if row is not None else False)
        self._spawn(self.set_archived(thread_id, archived))

    async def set_archived(self, thread_id: int, archived: bool) -> None:
        await self.ctx.threads.set_archived(thread_id, archived)
        await self._reload_threads()
        title = await self._title(thread_id)
        if archived:
            text = f"Archived “{title}”. Turn on Archived at the bottom of the sidebar to see it."
        else:
            text = f"“{title}” is back among the threads."
        self.ctx.events.statusMessage.emit(text)
        self.archivedChanged.emit(thread_id, archived)

    # --- delete with undo ------------------------------------------------------------------

    async def delete_with_undo(self, thread_id: int) -> bool:
        """Soft-delete at once and offer Undo; True when the thread was deleted."""
        thread = await self.ctx.threads.get_thread(thread_id, include_deleted=False)
        if thread is None:
            return False
        await self.ctx.threads.soft_delete(thread_id)
        was_open = self._current_thread() == thread_id
        if was_open:
            self._start_new_thread()
        self._deleted_was_open[thread_id] = was_open
        await self._reload_threads()
        self.list.undo_bar.offer(thread_id, thread.title or "Untitled")
        self._set_undo_armed(True)
        self.undoOffered.emit(thread_id)
        return True

    async def undo_delete(self, thread_id: int) -> None:
        """Bring a just-deleted thread back (and reopen it if it was open)."""
        self._set_undo_armed(self.list.undo_bar.active)
        await self.ctx.threads.restore(thread_id)
        reopen = self._deleted_was_open.pop(thread_id, False) and self._current_thread() is None
        if reopen:
            await self._open_thread(thread_id)
        await self._reload_threads()
        title = await self._title(thread_id)
        self.ctx.events.statusMessage.emit(f"Restored “{title}”.")
        self.restored.emit(thread_id)

    async def _title(self, thread_id: int) -> str:
        """A thread's title: from the sidebar when loaded, else from the store (the sidebar
        holds only the pages read so far)."""
        title = self.list.title_of(thread_id)
        if not title:
            thread = await self.ctx.threads.get_thread(thread_id, include_deleted=False)
            title = thread.title if thread is not None else ""
        return title or "The thread"

    def _on_undo_expired(self, thread_id: int) -> None:
        self._deleted_was_open.pop(thread_id, None)
        self._set_undo_armed(self.list.undo_bar.active)

    def _set_undo_armed(self, armed: bool) -> None:
        """Ctrl+Z undoes the delete exactly while the undo bar shows."""
        self._undo_shortcut.setEnabled(armed)
        app = QApplication.instance()
        if app is None or armed == self._claiming:
            return
        self._claiming = armed
        if armed:
            app.installEventFilter(self._undo_claim)
        else:
            app.removeEventFilter(self._undo_claim)

    # --- search ----------------------------------------------------------------------------

    async def run_search(self, query: str) -> None:
        """Search every live thread's messages; an older query's results are dropped."""
        self._search_generation += 1
        generation = self._search_generation
        if not query:
            return
        try:
            hits = await self.ctx.threads.search(query, limit=SEARCH_LIMIT)
        except SwitchboardError as exc:
            if generation == self._search_generation:
                self.list.results.show_error(f"Search failed: {exc.user_message}")
                self.list.stack.setCurrentWidget(self.list.results)
            return
        if generation != self._search_generation or self._closed():
            return
        self.list.show_search_results(query, hits)
        self.searchFinished.emit(query, len(hits))

    async def reveal_hit(self, hit: SearchHit) -> bool:
        """Open the hit's thread with its message on the visible path and scroll to it."""
        try:
            await self.ctx.chat.select_sibling(hit.thread_id, hit.message_id)
        except ValueError:
            self.ctx.events.statusMessage.emit("That message no longer exists. Search again.")
            return False
        await self._open_thread(hit.thread_id)
        if self._current_thread() != hit.thread_id:
            return False
        shown = self._reveal_message(hit.message_id)
        if shown:
            self.hitRevealed.emit(hit.message_id)
        return bool(shown)

    # --- export ----------------------------------------------------------------------------

    async def _export(self, thread_id: int) -> Any:
        try:
            return await self.transfer.export_thread_flow(thread_id)
        except SwitchboardError as exc:
            self.transfer._show_error(exc)
            return None
