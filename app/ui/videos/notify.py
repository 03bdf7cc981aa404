"""Tell the user a video finished while they were elsewhere.

A `QSystemTrayIcon.showMessage` balloon where the desktop has a tray, else a status-bar message;
nothing when the window has focus (the queue already shows it). Given its collaborators, so a
test decides whether the window is focused and whether a tray exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from app.ui.videos.records import VideoRow

__all__ = ["CompletionNotifier"]


class CompletionNotifier:
    def __init__(
        self,
        *,
        is_focused: Callable[[], bool],
        status: Callable[[str], None],
        tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        icon: QIcon | None = None,
    ) -> None:
        self._is_focused = is_focused
        self._status = status
        self._tray_available = tray_available
        self._icon = icon
        self.tray: QSystemTrayIcon | None = None
        self.sent: list[str] = []  # what was said, newest last (the tab's tests read it)

    def completed(self, row: VideoRow) -> None:
        if self._is_focused():
            return
        prompt = " ".join(row.draft.prompt.split())
        if len(prompt) > 80:
            prompt = prompt[:79] + "…"
        text = f"Video ready: {prompt}" if prompt else "A video is ready."
        self.sent.append(text)
        if self._tray_available():
            tray = self._ensure_tray()
            tray.showMessage("Switchboard", text, QSystemTrayIcon.MessageIcon.Information, 8000)
        else:
            self._status(text)

    def _ensure_tray(self) -> QSystemTrayIcon:
        if self.tray is None:
            app: Any = QApplication.instance()
            icon = self._icon or (app.windowIcon() if app is not None else QIcon())
            if icon.isNull() and app is not None:  # a tray entry needs some icon to show
                icon = app.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
            self.tray = QSystemTrayIcon(icon)
            self.tray.setToolTip("Switchboard")
            self.tray.show()
        return self.tray

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
            self.tray.deleteLater()
            self.tray = None
