"""Icons for the Images tab: Qt's standard icons where one fits, else small SVGs shipped in the
top-level `resources/icons/` (never emoji: the bundled fonts lack them), found through
`app.resources.resource_path` like every other resource, so a wheel and the frozen bundle have
them too. star, star-outline and send-to-chat keep their own colours (loaded as they are)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from app.resources import resource_path

__all__ = ["icon", "standard"]


@cache
def icon(name: str) -> QIcon:
    """`resources/icons/<name>.svg` as an icon (an empty icon if the file is missing)."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


def standard(pixmap: QStyle.StandardPixmap) -> QIcon:
    return QApplication.style().standardIcon(pixmap)
