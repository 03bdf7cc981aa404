"""The crash dialog: says that something went wrong, where the log is, and shows the redacted
traceback with a button to copy it. Imported by app.ui.crash when a crash is first shown."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)


class CrashDialog(QDialog):
    """Says that something went wrong, where the log is, and shows the (redacted) traceback."""

    def __init__(self, details: str, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Switchboard hit a bug")
        self.setAccessibleName("Crash report")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Something went wrong inside Switchboard. Your chats are saved as they stream, so "
            "nothing typed should be lost. You can keep working, or restart the app."
            + (f"\n\nThe details were written to {log_path}." if log_path else "")
        )
        intro.setWordWrap(True)
        intro.setAccessibleName("What happened")
        layout.addWidget(intro)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Error details")
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setAccessibleName("Copy details")
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
