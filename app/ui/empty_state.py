"""The centred "nothing here yet" card the Images gallery and the Notes results share.

A heading, a muted wrapped sentence, and a row of the buttons that help, between stretches. Each
tab's subclass keeps its own texts and states (`show_*` methods) and its own signals.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["EmptyStateCard"]


class EmptyStateCard(QWidget):
    """`title` and `body` labels over a centred row of buttons; call `_lay_out` once."""

    title: QLabel
    body: QLabel

    def _lay_out(self, buttons: Sequence[QPushButton], *, body_width: int | None = None) -> None:
        """Build the card. With `body_width` the sentence is that wide, centred in its row;
        without, it spans the card."""
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel()
        self.title.setProperty("role", "heading")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setProperty("role", "muted")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        if body_width is None:
            layout.addWidget(self.body)
        else:
            self.body.setFixedWidth(body_width)
            body_row = QHBoxLayout()
            body_row.addStretch(1)
            body_row.addWidget(self.body)
            body_row.addStretch(1)
            layout.addLayout(body_row)
        row = QHBoxLayout()
        row.addStretch(1)
        for button in buttons:
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
