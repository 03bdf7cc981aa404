"""Icons for the Images tab: Qt's standard icons where one fits, else small SVGs shipped in
`app/resources/icons/` (never emoji: the bundled fonts lack them)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

__all__ = ["ICON_DIR", "icon", "standard"]

ICON_DIR = Path(__file__).resolve().parent.parent.parent / "resources" / "icons"


@cache
def icon(name: str) -> QIcon:
    """`app/resources/icons/<name>.svg` as an icon (an empty icon if the file is missing)."""
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def standard(pixmap: QStyle.StandardPixmap) -> QIcon:
    return QApplication.style().standardIcon(pixmap)
