"""The search row: a query box, the semantic / keyword / both switch, and "Ask about these"."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from app.core.services.notes import SearchMode

__all__ = ["MODES", "QueryEdit", "SearchBar"]

MODES: tuple[tuple[SearchMode, str, str], ...] = (
    ("both", "Both", "Meaning and words, fused"),
    ("semantic", "Meaning", "Semantic search with the index's embedding model"),
    ("keyword", "Words", "Keyword search (full text)"),
)


class QueryEdit(QLineEdit):
    """The query box: Down moves into the results, Esc clears (then leaves)."""

    downPressed = Signal()
    escapePressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.downPressed.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """`searchRequested(query, mode)` on Enter or a mode change; `askRequested(question)`."""

    searchRequested = Signal(str, str)
    askRequested = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.query_edit = QueryEdit()
        self.query_edit.setPlaceholderText("Search your notes (Ctrl+F) — e.g. “that flaky VPN”")
        self.query_edit.setAccessibleName("Search notes")
        self.query_edit.setClearButtonEnabled(True)
        row.addWidget(self.query_edit, 1)
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, label, tip in MODES:
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setAccessibleName(f"Search mode: {label}")
            button.setProperty("mode", mode)
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            row.addWidget(button)
        self.mode_buttons["both"].setChecked(True)
        self.ask_button = QPushButton("Ask about these…")
        self.ask_button.setToolTip(
            "Start a chat with the top results as context and your question (Ctrl+Enter)"
        )
        self.ask_button.setAccessibleName("Ask about these results")
        self.ask_button.setEnabled(False)
        row.addWidget(self.ask_button)
        self.query_edit.returnPressed.connect(self._search)
        self.mode_group.buttonClicked.connect(lambda _b: self._search())
        self.ask_button.clicked.connect(lambda: self.askRequested.emit(self.query))

    @property
    def query(self) -> str:
        return self.query_edit.text().strip()

    @property
    def mode(self) -> SearchMode:
        button = self.mode_group.checkedButton()
        return cast(SearchMode, button.property("mode") if button is not None else "both")

    def set_mode(self, mode: SearchMode) -> None:
        self.mode_buttons[mode].setChecked(True)

    def _search(self) -> None:
        if self.query:
            self.searchRequested.emit(self.query, self.mode)
