"""A simple Markdown editor for notes written in the app: the list of notes, a title, the text
(with Ctrl+B / Ctrl+I / Ctrl+K helpers) and a rendered preview, plus the Undo bar of a delete.
Widgets only; the EditorController loads and saves through the service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.services.notes import AppNote
from app.ui.chat.messages.markdown_render import render_markdown

__all__ = ["NoteEditor", "NotesList", "UndoBar"]


class NotesList(QWidget):
    """The app's own notes, most recent first, with New and Delete."""

    newClicked = Signal()
    deleteClicked = Signal(int)
    noteChosen = Signal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("My notes")
        heading.setProperty("role", "subheading")
        column.addWidget(heading)
        self.list = QListWidget()
        self.list.setAccessibleName("Notes written here")
        column.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New note")
        self.new_button.setToolTip("Write a new note (Ctrl+Shift+N)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected note (Ctrl+Z undoes)")
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        column.addLayout(row)
        self.notes: list[AppNote] = []
        self.new_button.clicked.connect(self.newClicked)
        self.delete_button.clicked.connect(self._on_delete)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        self.list.currentRowChanged.connect(lambda _r: self._sync())
        self._sync()

    def _on_item(self, item: QListWidgetItem) -> None:
        self.noteChosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_delete(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.deleteClicked.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _sync(self) -> None:
        self.delete_button.setEnabled(self.list.currentItem() is not None)

    def set_notes(self, notes: Sequence[AppNote], current: int | None = None) -> None:
        self.notes = list(notes)
        self.list.blockSignals(True)
        self.list.clear()
        for note in self.notes:
            item = QListWidgetItem(note.title or "Untitled note")
            item.setData(Qt.ItemDataRole.UserRole, note.id)
            first = next((ln for ln in note.body.splitlines() if ln.strip()), "")
            item.setToolTip(first[:200])
            self.list.addItem(item)
            if note.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._sync()


class NoteEditor(QWidget):
    """Title, Markdown text and a preview tab. `saveRequested` on Ctrl+S or Save."""

    saveRequested = Signal()
    closeRequested = Signal()
    changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Note editor")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("Title")
        self.title_edit.setAccessibleName("Note title")
        top.addWidget(self.title_edit, 1)
        self.state_label = QLabel("")
        self.state_label.setProperty("role", "muted")
        self.state_label.setAccessibleName("Save state")
        top.addWidget(self.state_label)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the note (Ctrl+S)")
        top.addWidget(self.save_button)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Back to the search results (Esc)")
        top.addWidget(self.close_button)
        column.addLayout(top)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.body_edit = QPlainTextEdit()
        self.body_edit.setAccessibleName("Note text (Markdown)")
        self.body_edit.setPlaceholderText(
            "Write in Markdown: # Heading, **bold**, *italic*, - lists, ``` code ```"
        )
        self.preview = QTextBrowser()
        self.preview.setAccessibleName("Rendered note")
        self.preview.setOpenLinks(False)
        self.tabs.addTab(self.body_edit, "Write")
        self.tabs.addTab(self.preview, "Preview")
        column.addWidget(self.tabs, 1)
        self.note_id: int | None = None
        self._saved = ("", "")
        self.save_button.clicked.connect(self.saveRequested)
        self.close_button.clicked.connect(self.closeRequested)
        self.title_edit.textChanged.connect(lambda _t: self._on_changed())
        self.body_edit.textChanged.connect(self._on_changed)
        self.tabs.currentChanged.connect(self._on_tab)
        for keys, slot in (
            ("Ctrl+S", self.saveRequested.emit),
            ("Ctrl+B", lambda: self.wrap("**")),
            ("Ctrl+I", lambda: self.wrap("*")),
            ("Ctrl+E", lambda: self.wrap("`")),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- content --

    def load(self, note: AppNote | None) -> None:
        """Show `note` (None: a new, empty one)."""
        self.note_id = note.id if note is not None else None
        title, body = (note.title, note.body) if note is not None else ("", "")
        self.title_edit.blockSignals(True)
        self.body_edit.blockSignals(True)
        self.title_edit.setText(title)
        self.body_edit.setPlainText(body)
        self.title_edit.blockSignals(False)
        self.body_edit.blockSignals(False)
        self._saved = (title, body)
        self.tabs.setCurrentWidget(self.body_edit)
        self._sync_state()

    @property
    def title(self) -> str:
        return self.title_edit.text().strip()

    @property
    def body(self) -> str:
        return self.body_edit.toPlainText()

    @property
    def dirty(self) -> bool:
        return (self.title_edit.text(), self.body) != self._saved

    def mark_saved(self, note: AppNote) -> None:
        self.note_id = note.id
        self._saved = (self.title_edit.text(), self.body)
        self._sync_state("Saved")

    def _on_changed(self) -> None:
        self._sync_state()
        self.changed.emit()

    def _sync_state(self, text: str = "") -> None:
        self.state_label.setText("Unsaved changes" if self.dirty else text)
        self.save_button.setEnabled(self.dirty or self.note_id is None)

    def _on_tab(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.preview:
            dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
            self.preview.setHtml(render_markdown(self.body, dark=dark))

    def wrap(self, marker: str) -> None:
        """Wrap the selection (or insert a pair at the cursor) in `marker`."""
        cursor = self.body_edit.textCursor()
        text = cursor.selectedText()
        cursor.insertText(f"{marker}{text}{marker}")
        if not text:
            cursor.movePosition(QTextCursor.MoveOperation.Left, n=len(marker))
            self.body_edit.setTextCursor(cursor)


class UndoBar(QFrame):
    """The bar shown for a while after a delete: "Deleted “x”." and Undo."""

    undoClicked = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("notesUndoBar")
        self.setProperty("role", "banner")
        self.setAccessibleName("Undo delete")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 4)
        self.label = QLabel("")
        row.addWidget(self.label, 1)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Bring the note back (Ctrl+Z)")
        row.addWidget(self.undo_button)
        self.undo_button.clicked.connect(self.undoClicked)
        self.hide()

    def show_deleted(self, title: str) -> None:
        self.label.setText(f"Deleted “{title or 'Untitled note'}”.")
        self.show()
