"""The view of a *completion* thread: the whole raw text, as the model sees and continues it.

A completion thread sends the concatenation of its messages to `/completions` (see
`services.chat.completion_prompt`), so it reads best as one text rather than as chat bubbles:
what the user wrote is shown plain, what the model generated is tinted, and a failed request
is shown below the text (never as part of it).

The view follows the chat tab's `MessageModel` (the same rows the bubbles would show), so the
tab's streaming machinery works unchanged. While a reply streams only its new characters are
appended; anything else rebuilds the document.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextOption
from PySide6.QtWidgets import QLabel, QTextEdit, QVBoxLayout, QWidget

from app.ui.chat.messages.message_model import MessageModel

__all__ = ["CompletionView"]


class CompletionView(QWidget):
    """Read-only concatenated text of a completion thread, following a MessageModel."""

    def __init__(self, model: MessageModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("completionView")
        self.setAccessibleName("Completion text")
        self._model = model
        self._rendered: list[tuple[int, str, str]] = []  # (row id, role, content) as shown
        self._active = False

        self.text = QTextEdit(self)
        self.text.setObjectName("completionText")
        self.text.setAccessibleName("Completion text")
        self.text.setAccessibleDescription("The prompt and the generated text, concatenated. Generated text is tinted.")
        self.text.setReadOnly(True)
        self.text.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.status = QLabel(self)
        self.status.setObjectName("completionStatus")
        self.status.setAccessibleName("Completion status")
        self.status.setProperty("role", "error")
        self.status.setWordWrap(True)
        self.status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)

        self._prompt_format = QTextCharFormat()
        self._generated_format = QTextCharFormat()
        self._generated_format.setBackground(QColor(70, 130, 220, 40))

        model.modelReset.connect(self._rebuild)
        model.rowsInserted.connect(self._changed)
        model.rowsRemoved.connect(self._rebuild)
        model.dataChanged.connect(self._changed)

    def set_active(self, active: bool) -> None:
        """Follow the model only while shown for a completion thread."""
        self._active = active
        self.setVisible(active)
        if active:
            self._rebuild()

    def plain_text(self) -> str:
        return self.text.toPlainText()

    # --- following the model ---------------------------------------------------------------

    def _rows(self) -> list[tuple[int, str, str]]:
        return [(r.id, r.role, r.content) for r in self._model.rows]

    def _changed(self, *_args: Any) -> None:
        if not self._active:
            return
        rows = self._rows()
        old = self._rendered
        if (
            old
            and len(rows) == len(old)
            and rows[:-1] == old[:-1]
            and rows[-1][1] == old[-1][1]
            and rows[-1][2].startswith(old[-1][2])
        ):
            # The streaming reply grew: append only what is new (linear in the reply's length).
            self._append(rows[-1][2][len(old[-1][2]):], rows[-1][1])
            self._rendered = rows
            self._update_status()
            return
        self._rebuild()

    def _rebuild(self, *_args: Any) -> None:
        if not self._active:
            return
        self.text.clear()
        rows = self._rows()
        for _id, role, content in rows:
            self._append(content, role)
        self._rendered = rows
        self._update_status()

    def _append(self, text: str, role: str) -> None:
        if not text:
            return
        bar = self.text.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, self._generated_format if role == "assistant" else self._prompt_format)
        if at_bottom:
            bar.setValue(bar.maximum())

    def _update_status(self) -> None:
        rows = self._model.rows
        last = rows[-1] if rows else None
        if last is not None and last.status == "error":
            self.status.setText(f"Error: {last.error or 'the request failed'}")
        elif last is not None and last.status in ("cancelled", "interrupted"):
            self.status.setText(f"Completion {last.status}.")
        else:
            self.status.setText("")
        self.status.setVisible(bool(self.status.text()))
