"""Help → Keyboard shortcuts (Ctrl+/): the keys the README lists, in a small non-modal window.

`SHORTCUTS` is the README's "keys | action" table as data (a test keeps the two identical), so
the sheet works in a frozen build that ships no README.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SHORTCUTS", "ShortcutsSheet"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+N / Ctrl+Shift+N", "new thread / new completion thread (not with a Gemini profile: no `/completions`)"),
    ("Ctrl+F or Ctrl+K", "search messages"),
    ("Ctrl+L", "focus the composer"),
    ("Enter / Shift+Enter", "send / new line (swappable)"),
    ("Esc", "stop the reply"),
    ("Ctrl+R", "retry the failed reply"),
    ("Ctrl+Shift+R / Ctrl+Shift+Enter", "regenerate / continue the selected reply"),
    ("F2", "rename the thread (sidebar) or edit the message (conversation)"),
    ("Alt+Left / Alt+Right", "previous / next version of a message"),
    ("Del, Ctrl+Z", "delete (thread or branch), undo a thread delete"),
    ("Ctrl+Shift+A", "archive / unarchive the thread"),
    ("Ctrl+Shift+S", "thread settings"),
    ("Ctrl+Shift+U", "attach files"),
    ("Ctrl+Shift+E / Ctrl+Shift+O", "export thread / import threads"),
    ("Ctrl+, / Ctrl+Q / Ctrl+1…4", "settings / quit / switch tab"),
)
# Shown in the sheet but not in the README's table (it is how the sheet itself is opened).
SHEET_KEYS = ("Ctrl+/", "this list of shortcuts")


class ShortcutsSheet(QDialog):
    """A read-only two-column table of keys and what they do; Esc or Close hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.setModal(False)
        self.resize(640, 520)
        layout = QVBoxLayout(self)
        intro = QLabel("Keys that work in the Chat tab and the main window.")
        intro.setProperty("role", "muted")
        layout.addWidget(intro)
        rows = (*SHORTCUTS, SHEET_KEYS)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setAccessibleName("Shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, (keys, action) in enumerate(rows):
            key_item = QTableWidgetItem(keys)
            font = key_item.font()
            font.setBold(True)
            key_item.setFont(font)
            self.table.setItem(row, 0, key_item)
            # Markdown code spans read as plain words here.
            self.table.setItem(row, 1, QTableWidgetItem(action.replace("`", "")))
        layout.addWidget(self.table, 1)
        # Row heights depend on the wrapped width of the Action column, known only once laid
        # out: measure again whenever a column changes width (rows were 3 lines tall at first).
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, Qt.Orientation.Horizontal)
        buttons.rejected.connect(self.hide)
        layout.addWidget(buttons)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.table.resizeRowsToContents()

    def rows(self) -> list[tuple[str, str]]:
        """The (keys, action) rows shown."""
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text())
            for r in range(self.table.rowCount())
        ]
