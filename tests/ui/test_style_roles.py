"""app.ui.style's roles (primary, secondary, badges) look the same whether the role is given
before the widget is first shown (start-up: no re-polish, so QStyle's enums are not built then)
or after (a live change: re-polished at once)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.ui import style
from tests.ui.helpers import applied_theme


def _centre(button: QPushButton) -> tuple[int, int, int]:
    image = button.grab().toImage()
    c = image.pixelColor(image.width() // 2, 3)  # above the text, inside the frame
    return (c.red(), c.green(), c.blue())


def test_primary_role_applies_before_and_after_the_first_show(qapp: Any, qtbot: Any) -> None:
    with applied_theme(qapp, "light"):
        host = QWidget()
        qtbot.addWidget(host)
        row = QHBoxLayout(host)
        before = style.primary(QPushButton("Before"))  # not polished yet: no re-polish needed
        plain = QPushButton("Plain")
        after = QPushButton("After")
        for button in (before, plain, after):
            row.addWidget(button)
        host.show()
        qtbot.waitExposed(host)
        assert _centre(after) == _centre(plain)
        style.primary(after)  # already polished: re-polished now
        assert _centre(before) != _centre(plain)
        assert _centre(after) == _centre(before)
