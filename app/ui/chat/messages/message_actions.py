"""Per-message actions of the Chat tab: copy, edit & resend, regenerate, continue, delete a branch,
and moving between sibling versions (`‹ 2/3 ›`).

`MessageActions` is a controller given what it uses (the spawn, the stream runner, the chat
service, the thread repository, the model and the view, a few callables of the tab); it never
sees the tab. The view (painted strip, context menu, keys) emits `actionRequested(action,
message_id)`; the controller runs the matching `ChatService` call. Streams it starts go through
the tab's `ReplyStream`, so Stop/Esc, the 30 Hz tick and the final reload behave exactly like a
send. What a message offers is decided by the pure rules in `message_rules.py`.

Destructive actions ask first: deleting says how many messages go. Refusals say what to do next
(e.g. "Stop the streaming reply first (Esc)").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError
from app.ui.chat.messages.message_model import ChatRow, new_temp_id, row_from_message
from app.ui.chat.messages.message_rules import (
    BUSY_MESSAGE,
    can_continue,
    delete_question,
    sibling_positions,
    subtree_size,
)
from app.ui.chat.messages.reply_stream import ReplyStream, Spawn, Stream

if TYPE_CHECKING:
    from app.core.services.chat import ChatService
    from app.core.store.threads import ThreadRepository
    from app.ui.chat.messages.message_model import MessageModel
    from app.ui.chat.messages.message_view import MessageView

__all__ = ["EditPanel", "MessageActions"]

log = logging.getLogger(__name__)

# --- the edit panel -----------------------------------------------------------------------------


class _EditBox(QPlainTextEdit):
    """The editor of the panel: Ctrl+Enter saves, Esc cancels."""

    saveKeyPressed = Signal()
    cancelKeyPressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and modifiers == Qt.KeyboardModifier.ControlModifier:
            self.saveKeyPressed.emit()
            return
        if key == Qt.Key.Key_Escape and modifiers == Qt.KeyboardModifier.NoModifier:
            self.cancelKeyPressed.emit()
            return
        super().keyPressEvent(event)


class EditPanel(QFrame):
    """A small non-modal editor under the messages, pre-filled with the message being edited.

    Save & resend (Ctrl+Enter) emits `saveRequested(message_id, text)`; Cancel (Esc) hides it.
    """

    saveRequested = Signal(int, str)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editPanel")
        self.setAccessibleName("Edit message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.message_id = 0

        self.title = QLabel("Edit your message", self)
        self.title.setProperty("role", "subheading")
        self.hint = QLabel(
            "Save & resend asks again as a new branch; the original stays one ‹ › away.", self
        )
        self.hint.setWordWrap(True)
        self.hint.setProperty("role", "muted")
        self.edit = _EditBox(self)
        self.edit.setObjectName("editPanelText")
        self.edit.setAccessibleName("Edited message")
        self.edit.setAccessibleDescription("Ctrl+Enter saves and resends; Esc cancels.")
        self.edit.setTabChangesFocus(True)
        self.edit.setMaximumHeight(140)
        self.save_button = QPushButton("&Save && resend", self)
        self.save_button.setObjectName("editSave")
        self.save_button.setAccessibleName("Save and resend")
        self.save_button.setToolTip("Send the edited message as a new branch (Ctrl+Enter).")
        self.save_button.setDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("editCancel")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.setToolTip("Close the editor without sending (Esc).")
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("editError")
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.error_label, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.edit)
        layout.addLayout(buttons)

        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.cancel)
        self.edit.saveKeyPressed.connect(self.save)
        self.edit.cancelKeyPressed.connect(self.cancel)
        self.edit.textChanged.connect(self._update_save)
        self.hide()

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def open_for(self, row: ChatRow) -> None:
        """Show the panel with `row`'s text, focused, the cursor at the end."""
        self.message_id = row.id
        self.edit.setPlainText(row.content)
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)
        self.show_error("")
        self.show()
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def save(self) -> None:
        if not self.text.strip():
            self.show_error("The message is empty. Type something, or Cancel (Esc).")
            return
        self.saveRequested.emit(self.message_id, self.text)

    def cancel(self) -> None:
        self.hide()
        self.message_id = 0
        self.closed.emit()

    def _update_save(self) -> None:
        self.save_button.setEnabled(bool(self.text.strip()))


# --- the controller -----------------------------------------------------------------------------


class MessageActions(QObject):
    """Runs the per-message actions for a `ChatTab` (see the module docstring).

    Signals let tests and the window await what happened instead of polling.
    """

    siblingsRefreshed = Signal()
    pathReloaded = Signal()
    branchDeleted = Signal(int)  # how many messages were deleted (0: the user said no)

    def __init__(
        self,
        *,
        spawn: Spawn,
        replies: ReplyStream,
        chat: ChatService,
        threads: ThreadRepository,
        model: MessageModel,
        view: MessageView,
        current_thread: Callable[[], int | None],
        selection: Callable[[], tuple[str, str]],
        retry: Callable[[int], bool],
        status: Callable[[str], None],
        thread_opened: SignalInstance,
        reply_started: SignalInstance,
        reply_finished: SignalInstance,
        parent: QWidget,
        save_note: Callable[[int], Awaitable[Any]] | None = None,
    ) -> None:
        """`selection()` is the (profile id, model) a new reply would use ("" when unset);
        `retry(message_id)` streams a new sibling of a reply (the tab's retry);
        `save_note(message_id)` saves a message's text as a note (the Notes service's
        `save_message_as_note`) and returns the note."""
        super().__init__(parent)
        self._spawn = spawn
        self._replies = replies
        self._chat = chat
        self._threads = threads
        self._model = model
        self._view = view
        self._current_thread = current_thread
        self._selection = selection
        self._retry = retry
        self._status = status
        self._save_note = save_note
        self._parent = parent
        self._refresh_generation = 0
        # The open thread's `{message id: (sibling index, count)}` as last read: rows read later
        # (older rows inserted above a long thread's window) get their navigators from it.
        self._positions: dict[int, tuple[int, int]] = {}
        self.edit_panel = EditPanel(parent)
        self._place_edit_panel()
        view.actionRequested.connect(self.trigger)
        view.codeCopied.connect(lambda *_: self._status("Code copied to the clipboard."))
        self.edit_panel.saveRequested.connect(self._on_edit_saved)
        self.edit_panel.closed.connect(lambda: view.setFocus())
        # Replies whose finish can change a navigator (regenerate, edit, n > 1): only these are
        # re-queried after the stream, so a plain send costs no extra database trip.
        self._needs_refresh: set[int] = set()
        self._edit_pending = False
        self._continuing: int | None = None
        thread_opened.connect(self._on_thread_opened)
        reply_started.connect(self._on_reply_started)
        reply_finished.connect(self._on_reply_finished)
        model.dataChanged.connect(self._on_rows_changed)
        model.rowsInserted.connect(self._on_rows_inserted)

    def emitters(self) -> list[QObject]:
        """Objects whose signals reach Python slots here; the tab silences them when it closes."""
        edit = self.edit_panel.edit
        return [self, self._view, *self._view.findChildren(QTimer), edit, edit.document()]

    def _place_edit_panel(self) -> None:
        """Put the panel right under the message list (above the composer)."""
        view = self._view
        parent = view.parentWidget()
        layout = parent.layout() if parent is not None else None
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(layout.indexOf(view) + 1, self.edit_panel)
            self.edit_panel.setParent(parent)
            QWidget.setTabOrder(view, self.edit_panel.edit)

    # --- helpers -----------------------------------------------------------------------------

    def _row(self, message_id: int) -> tuple[int, ChatRow | None]:
        model = self._model
        i = model.find_row(message_id)
        return i, (model.row(i) if i >= 0 else None)

    def _busy(self) -> bool:
        if self._replies.is_streaming:
            self._status(BUSY_MESSAGE)
            return True
        return False

    # --- dispatch ----------------------------------------------------------------------------

    def trigger(self, action: str, message_id: int) -> bool:
        """Run `action` on the message `message_id`; False when it was not possible now."""
        i, row = self._row(message_id)
        if row is None:
            return False
        if action in ("copy", "copy_text"):
            self._view.copy_row(i)
            return True
        if action == "save_text":
            return self._spawn(self.save_text_flow(message_id)) is not None
        if action == "save_note":
            if self._save_note is None or not row.is_stored:
                return False
            return self._spawn(self.save_as_note(message_id)) is not None
        if action == "edit":
            return self.open_editor(message_id)
        if action in ("regenerate", "retry"):
            return self.regenerate(message_id)
        if action == "continue":
            return self.continue_reply(message_id)
        if action == "delete":
            if self._busy() or not row.is_stored:
                return False
            return self._spawn(self.delete_branch(message_id)) is not None
        if action in ("prev", "next"):
            if not row.has_siblings or not row.is_stored or self._busy():
                return False
            step = -1 if action == "prev" else 1
            if not 0 <= row.sibling_index + step < row.sibling_count:
                return False
            return self._spawn(self.show_sibling(message_id, step)) is not None
        return False

    async def save_as_note(self, message_id: int) -> Any:
        """Save the message's text as a note (the Notes tab lists and indexes it)."""
        assert self._save_note is not None
        note = await self._save_note(message_id)
        self._status(f"Saved as the note “{note.title}” (Notes tab).")
        return note

    # --- a reply that could not be saved ------------------------------------------------------

    async def save_text_flow(self, message_id: int) -> Path | None:
        """Ask where to save a reply's text (a file dialog shown with `open()`), then write it."""
        from PySide6.QtCore import QStandardPaths

        from app.ui.async_bridge import choose_file

        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        default = Path(folder or Path.home()) / f"reply-{max(message_id, 0)}.md"
        chosen = await choose_file(
            self._parent, "Save reply text", save=True, name_filter="Markdown (*.md);;Text (*.txt)",
            default_name=str(default), default_suffix="md",
        )
        if not chosen:
            return None
        return await self.save_text_to(message_id, Path(chosen))

    async def save_text_to(self, message_id: int, path: Path) -> Path | None:
        """Write the reply's text as shown (the only full copy when it could not be saved) to
        `path`, off the UI thread; the status bar says where, or why not."""
        _i, row = self._row(message_id)
        if row is None:
            return None
        text = row.content
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as exc:
            self._status(f"Could not save the reply to {path}: {exc.strerror or exc}. Try another folder.")
            return None
        self._status(f"Saved the reply's text to {path}.")
        return path

    # --- edit & resend -----------------------------------------------------------------------

    def open_editor(self, message_id: int) -> bool:
        _i, row = self._row(message_id)
        if row is None or row.role != "user" or not row.is_stored:
            return False
        self.edit_panel.open_for(row)
        return True

    def _on_edit_saved(self, message_id: int, text: str) -> None:
        if self._replies.is_streaming:
            self.edit_panel.show_error(BUSY_MESSAGE)
            return
        if self.edit_and_resend(message_id, text):
            self.edit_panel.cancel()

    def edit_and_resend(self, message_id: int, text: str) -> bool:
        """Send `text` as a new sibling of the user message (a new branch) and stream its reply."""
        i, row = self._row(message_id)
        profile_id, model_name = self._selection()
        if row is None or row.role != "user" or not row.is_stored or not text.strip():
            return False
        if self._busy():
            return False
        if not profile_id or not model_name:
            self.edit_panel.show_error("Pick a provider and a model above, then save again.")
            return False
        model = self._model
        user_row = ChatRow(id=new_temp_id(), role="user", content=text, parent_id=row.parent_id)
        reply_row = ChatRow(id=new_temp_id(), role="assistant", model=model_name, status="streaming")
        model.replace_rows_from(i, [user_row, reply_row])
        stream = Stream(row_id=reply_row.id, user_row_id=user_row.id, text=text, thread_id=self._current_thread())
        self._edit_pending = True

        async def progress() -> Any:
            return self._chat.edit_and_resend(message_id, text, profile_id=profile_id, model=model_name)

        self._replies.start(stream, progress)
        return True

    # --- regenerate / continue ---------------------------------------------------------------

    def regenerate(self, message_id: int) -> bool:
        """A new reply beside this one (a sibling), streamed; the tab's retry does exactly that."""
        _i, row = self._row(message_id)
        if row is None or row.role != "assistant" or self._busy():
            return False
        profile_id, model_name = self._selection()
        if not profile_id or not model_name:
            self._status("Pick a provider and a model above, then regenerate again.")
            return False
        return self._retry(message_id)

    def continue_reply(self, message_id: int) -> bool:
        """Stream more of a cut-short reply, appended to the same row."""
        i, row = self._row(message_id)
        if row is None or not can_continue(row) or self._busy():
            return False
        self._model.update_row(i, status="streaming", error=None, finish_reason=None)
        self._continuing = row.id
        stream = Stream(row_id=row.id, user_row_id=row.parent_id or 0, text="", thread_id=self._current_thread())

        async def progress() -> Any:
            return self._chat.continue_reply(message_id)

        self._replies.start(stream, progress)
        return True

    # --- delete ------------------------------------------------------------------------------

    async def delete_branch(self, message_id: int, *, confirmed: bool = False) -> int:
        """Delete the message and everything below it after asking; returns how many went."""
        from app.ui.async_bridge import confirm

        thread_id = self._current_thread()
        _i, row = self._row(message_id)
        if thread_id is None or row is None:
            return 0
        links = await self._threads.thread_tree(thread_id)
        count = subtree_size(links, message_id)
        if count == 0:
            return 0
        if not confirmed:
            question, details = delete_question(row, count)
            confirmed = await confirm(self._parent, "Delete message", question, informative=details)
        if not confirmed:
            self.branchDeleted.emit(0)
            return 0
        if self._replies.is_streaming:
            self._status(BUSY_MESSAGE)
            self.branchDeleted.emit(0)
            return 0
        try:
            removed = await self._chat.delete_branch(message_id)
        except ValueError:
            self._status(BUSY_MESSAGE)
            self.branchDeleted.emit(0)
            return 0
        await self.reload_path(thread_id)
        self._status(f"Deleted {removed} message{'s' if removed != 1 else ''}.")
        self.branchDeleted.emit(removed)
        return removed

    # --- siblings ----------------------------------------------------------------------------

    async def show_sibling(self, message_id: int, step: int) -> int | None:
        """Show the branch of the sibling `step` places from `message_id`; returns its id."""
        thread_id = self._current_thread()
        if thread_id is None:
            return None
        siblings = [m.id for m in await self._threads.siblings(message_id)]
        if message_id not in siblings:
            return None
        target_index = siblings.index(message_id) + step
        if not 0 <= target_index < len(siblings):
            return None
        target = siblings[target_index]
        await self._chat.select_sibling(thread_id, target)
        await self.reload_path(thread_id)
        view = self._view
        i = self._model.find_row(target)
        if i >= 0:
            index = self._model.index(i, 0)
            view.setCurrentIndex(index)
            view.scrollTo(index, view.ScrollHint.EnsureVisible)
        return target

    async def reload_path(self, thread_id: int) -> None:
        """Re-read the visible path; keep the unchanged top rows (and their rendering), replace
        the rest, then refresh the sibling navigators."""
        path = await self._threads.current_path(thread_id)
        if self._current_thread() != thread_id or self._replies.closed:
            return
        model = self._model
        # A long thread shows a window of its path: line the path up with the window's first
        # row, keep the rows that did not change, replace the rest (never the whole path).
        first = model.row(0).id if model.rowCount() else None
        offset = next((i for i, m in enumerate(path) if m.id == first), None)
        if offset is None:
            # The window's first row left the path (or nothing was shown): the newest rows.
            tail = path[-(model.rowCount() or len(path) or 1) :]
            model.set_rows([row_from_message(m) for m in tail], has_older=len(tail) < len(path))
        else:
            keep = 0
            while keep < min(len(path) - offset, model.rowCount()) and model.row(keep).id == path[offset + keep].id:
                keep += 1
            model.replace_rows_from(keep, [row_from_message(m) for m in path[offset + keep :]])
        await self.refresh_siblings(thread_id)
        self.pathReloaded.emit()

    async def refresh_siblings(self, thread_id: int | None = None) -> None:
        """Give every visible row its `‹ i/n ›` position (one query for the whole thread)."""
        thread_id = self._current_thread() if thread_id is None else thread_id
        if thread_id is None:
            return
        self._refresh_generation += 1
        generation = self._refresh_generation
        links = await self._threads.thread_tree(thread_id)
        if generation != self._refresh_generation or self._current_thread() != thread_id or self._replies.closed:
            return
        self._positions = sibling_positions(links)
        self._apply_positions(self._positions)
        self.siblingsRefreshed.emit()

    async def refresh_rows(self, message_ids: Sequence[int]) -> None:
        """Update the navigators of a few rows (after a reply: the reply and its user message)."""
        positions: dict[int, tuple[int, int]] = {}
        for message_id in message_ids:
            try:
                positions[message_id] = await self._chat.sibling_position(message_id)
            except ValueError:
                continue  # deleted meanwhile
        if not self._replies.closed:
            self._apply_positions(positions)
            self.siblingsRefreshed.emit()

    def _apply_positions(self, positions: dict[int, tuple[int, int]]) -> None:
        model = self._model
        for i, row in enumerate(model.rows):
            position = positions.get(row.id)
            if position is not None and (row.sibling_index, row.sibling_count) != position:
                model.update_row(i, sibling_index=position[0], sibling_count=position[1])

    def _on_rows_inserted(self, _parent: Any, first: int, last: int) -> None:
        """Rows read into the window later get the navigators last read for the thread."""
        model = self._model
        for i in range(first, last + 1):
            row = model.row(i)
            position = self._positions.get(row.id)
            if position is not None and (row.sibling_index, row.sibling_count) != position:
                model.update_row(i, sibling_index=position[0], sibling_count=position[1])

    def _on_thread_opened(self, thread_id: int) -> None:
        if self.edit_panel.isVisible():
            self.edit_panel.cancel()
        if thread_id > 0:
            self._spawn(self.refresh_siblings(thread_id))

    def _on_reply_started(self, message_id: int) -> None:
        stream = self._replies.active
        branching = self._edit_pending or (
            stream is not None and not stream.text and self._continuing != message_id
        )  # a retry/regenerate stream carries no text of its own
        self._edit_pending = False
        if branching:
            self._needs_refresh.add(message_id)

    def _on_rows_changed(self, top: Any, _bottom: Any, _roles: Any = None) -> None:
        row = self._model.row(top.row()) if top.isValid() else None
        if row is not None and row.alternatives_streaming and row.id > 0:
            self._needs_refresh.add(row.id)

    def _on_reply_finished(self, message_id: int) -> None:
        self._edit_pending = False
        if self._continuing == message_id:
            self._continuing = None
        if message_id not in self._needs_refresh or self._replies.closed:
            return
        self._needs_refresh.discard(message_id)
        _i, row = self._row(message_id)
        ids = [message_id]
        if row is not None and row.parent_id is not None:
            ids.append(row.parent_id)
        self._spawn(self._refresh_after_reply(ids))

    async def _refresh_after_reply(self, ids: list[int]) -> None:
        try:
            await self.refresh_rows(ids)
        except SwitchboardError as exc:
            log.warning("could not refresh sibling positions: %s", exc)
