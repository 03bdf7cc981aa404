"""The message composer: a multi-line editor, Send/Stop buttons and the reason sending is blocked.

Enter sends, Shift+Enter inserts a new line. When sending is impossible (no profile, no model) the
Send button is disabled and a small label plus the tooltip say why. When the last reply failed, a
Retry button appears beside Send so the retry is reachable from the keyboard too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

__all__ = ["Composer", "ComposerEdit"]


class ComposerEdit(QPlainTextEdit):
    """A plain-text editor where Enter submits and Shift+Enter adds a line."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers == Qt.KeyboardModifier.NoModifier:
                self.submitted.emit()
                return
            if modifiers == Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Editor + Send/Stop. `sendRequested(text)` fires on Enter or Send when sending is allowed."""

    sendRequested = Signal(str)
    stopRequested = Signal()
    retryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self._blocked_reason = ""
        self._streaming = False
        self._retry_available = False

        self.edit = ComposerEdit(self)
        self.edit.setObjectName("composerEdit")
        self.edit.setAccessibleName("Message")
        self.edit.setAccessibleDescription("Type a message. Enter sends, Shift+Enter adds a line.")
        self.edit.setPlaceholderText("Message… (Enter sends, Shift+Enter adds a line)")
        self.edit.setTabChangesFocus(True)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.edit.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setAccessibleName("Stop the reply")
        self.stop_button.setToolTip("Stop the reply (Esc). The text so far is kept.")
        self.stop_button.setAutoDefault(False)
        self.stop_button.hide()
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setAccessibleName("Retry the failed reply")
        self.retry_button.setToolTip("Ask again for the reply that failed (Ctrl+R)")
        self.retry_button.setAutoDefault(False)
        self.retry_button.hide()

        self.reason_label = QLabel(self)
        self.reason_label.setObjectName("sendBlockedReason")
        self.reason_label.setAccessibleName("Why sending is unavailable")
        self.reason_label.setProperty("role", "muted")
        self.reason_label.setWordWrap(True)
        self.reason_label.hide()

        buttons = QVBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.retry_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 10)
        outer.setSpacing(4)
        outer.addWidget(self.reason_label)
        outer.addLayout(row)

        self.edit.submitted.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stopRequested)
        self.retry_button.clicked.connect(self.retryRequested)
        self.edit.textChanged.connect(self._refresh)
        self._refresh()

    # --- state -----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    def clear(self) -> None:
        self.edit.clear()

    def set_blocked_reason(self, reason: str) -> None:
        """Why sending is impossible right now ("" when it is possible)."""
        self._blocked_reason = reason
        self._refresh()

    @property
    def blocked_reason(self) -> str:
        return self._blocked_reason

    def set_streaming(self, streaming: bool) -> None:
        """While a reply streams, Send is replaced by Stop."""
        self._streaming = streaming
        self.send_button.setVisible(not streaming)
        self.stop_button.setVisible(streaming)
        self.retry_button.setVisible(self._retry_available and not streaming)
        self._refresh()

    def set_retry_available(self, available: bool) -> None:
        self._retry_available = available
        self.retry_button.setVisible(available and not self._streaming)

    def can_send(self) -> bool:
        return not self._blocked_reason and not self._streaming and bool(self.text.strip())

    def _refresh(self) -> None:
        if self._blocked_reason:
            tip = self._blocked_reason
        elif self._streaming:
            tip = "A reply is streaming; press Stop (Esc) first."
        elif not self.text.strip():
            tip = "Type a message to send."
        else:
            tip = "Send (Enter)"
        self.send_button.setEnabled(self.can_send())
        self.send_button.setToolTip(tip)
        self.reason_label.setText(self._blocked_reason)
        self.reason_label.setVisible(bool(self._blocked_reason))

    def _fit_height(self, *_args: object) -> None:
        """Grow with the text from 2 to 10 lines, then scroll."""
        line = self.edit.fontMetrics().lineSpacing()
        lines = max(2, min(10, int(self.edit.document().size().height())))
        frame = 2 * self.edit.frameWidth() + int(self.edit.document().documentMargin() * 2) + 2
        self.edit.setFixedHeight(lines * line + frame)

    def _submit(self) -> None:
        if self.can_send():
            self.sendRequested.emit(self.text)
