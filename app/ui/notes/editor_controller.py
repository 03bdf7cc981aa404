"""Notes written in the app: new, open, save, delete with undo, and "Save as note" from chat.
Given the service, a spawn function and the widgets (list, editor, undo bar) plus a callable that
brings the editor forward; never the tab."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.ui.notes.note_editor import NoteEditor, NotesList, UndoBar

if TYPE_CHECKING:
    from app.core.services.notes import AppNote, NotesService

__all__ = ["UNDO_MS", "EditorController"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]
UNDO_MS = 10_000


class EditorController(QObject):
    saved = Signal(object)  # AppNote
    opened = Signal(object)  # AppNote shown in the editor
    deleted = Signal(object)  # AppNote
    restored = Signal(object)  # AppNote
    notesLoaded = Signal(list)
    message = Signal(str)

    def __init__(
        self,
        service: NotesService,
        spawn: Spawn,
        notes_list: NotesList,
        editor: NoteEditor,
        undo_bar: UndoBar,
        *,
        show_editor: Callable[[bool], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._spawn = spawn
        self.notes_list = notes_list
        self.editor = editor
        self.undo_bar = undo_bar
        self._show_editor = show_editor
        self.last_deleted: AppNote | None = None
        self._undo_timer = QTimer(self)
        self._undo_timer.setObjectName("notesUndoTimer")
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self._forget_undo)
        notes_list.newClicked.connect(self.new_note)
        notes_list.noteChosen.connect(lambda nid: self._spawn(self.open_note(nid)))
        notes_list.deleteClicked.connect(lambda nid: self._spawn(self.delete(nid)))
        editor.saveRequested.connect(lambda: self._spawn(self.save()))
        editor.closeRequested.connect(lambda: self._show_editor(False))
        undo_bar.undoClicked.connect(lambda: self._spawn(self.undo_delete()))

    async def refresh(self) -> list[AppNote]:
        notes = await self.service.list_notes()
        self.notes_list.set_notes(notes, self.editor.note_id)
        self.notesLoaded.emit(notes)
        return notes

    def new_note(self) -> None:
        self.editor.load(None)
        self._show_editor(True)
        self.editor.title_edit.setFocus()

    async def open_note(self, note_id: int) -> AppNote | None:
        note = await self.service.get_note(note_id)
        if note is None or note.deleted_at is not None:
            self.message.emit("That note was deleted.")
            return None
        self.editor.load(note)
        self._show_editor(True)
        self.editor.body_edit.setFocus()
        self.opened.emit(note)
        return note

    async def save(self) -> AppNote | None:
        title = self.editor.title or _title_from(self.editor.body)
        body = self.editor.body
        if not title and not body.strip():
            self.message.emit("An empty note is not saved.")
            return None
        if self.editor.note_id is None:
            note = await self.service.create_note(title, body)
        else:
            note = await self.service.update_note(self.editor.note_id, title=title, body=body)
        if not self.editor.title:
            self.editor.title_edit.blockSignals(True)
            self.editor.title_edit.setText(note.title)
            self.editor.title_edit.blockSignals(False)
        self.editor.mark_saved(note)
        await self.refresh()
        self.saved.emit(note)
        return note

    async def save_as_note(self, title: str, text: str) -> AppNote:
        """A chat message saved as a note: stored at once and opened in the editor."""
        note = await self.service.create_note(
            title.strip() or _title_from(text) or "Saved reply", text
        )
        await self.refresh()
        self.editor.load(note)
        self._show_editor(True)
        self.message.emit(f"Saved “{note.title}” to your notes.")
        self.saved.emit(note)
        return note

    async def delete(self, note_id: int) -> AppNote:
        note = await self.service.delete_note(note_id)
        self.last_deleted = note
        if self.editor.note_id == note_id:
            self.editor.load(None)
            self._show_editor(False)
        await self.refresh()
        # Focus on the list, not a text field: there Ctrl+Z would be the field's own undo.
        self.notes_list.list.setFocus()
        self.undo_bar.show_deleted(note.title)
        self._undo_timer.start(UNDO_MS)
        self.deleted.emit(note)
        return note

    async def undo_delete(self) -> AppNote | None:
        note = self.last_deleted
        if note is None:
            return None
        self._forget_undo()
        restored = await self.service.restore_note(note.id)
        await self.refresh()
        self.restored.emit(restored)
        self.message.emit(f"Restored “{restored.title}”.")
        return restored

    def _forget_undo(self) -> None:
        self._undo_timer.stop()
        self.last_deleted = None
        self.undo_bar.hide()

    def close(self) -> None:
        self._undo_timer.stop()


def _title_from(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return ""
