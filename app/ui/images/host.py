"""The Images tab's place in the main window, cheap until it is first shown.

The window's shell is painted before any service exists, so the host starts empty. `attach(ctx)`
gets (or, until the composition root builds one, makes) the ImageService and runs its start-up
recovery at once — unfinished generations are resolved whether or not the tab is ever opened.
The widgets of `ImagesTab` are built on first show. `aclose()` is part of the staged shutdown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.core.services.images import ImageService
    from app.ui.context import AppContext
    from app.ui.images.images_tab import ImagesTab

__all__ = ["ImagesHost", "import_pillow"]

log = logging.getLogger(__name__)


def import_pillow() -> None:
    """Import Pillow and its format plugins (call on a worker thread)."""
    from PIL import Image

    Image.init()


class ImagesHost(QWidget):
    """Holds the Images tab; builds it on first show once attached."""

    sendToChatRequested = Signal(str)
    tabBuilt = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Images tab")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.ctx: AppContext | None = None
        self.service: ImageService | None = None
        self.tab: ImagesTab | None = None
        self._tasks: Any = None

    def build(self) -> None:
        """Called by the window with its other tabs; the real work waits for the first show."""
        if self.isVisible():
            self._build_tab()

    def attach(self, ctx: AppContext) -> None:
        if self.ctx is not None:
            return
        from app.core.services.tasks import TaskOwner

        self.ctx = ctx
        self._tasks = TaskOwner("images-tab")
        # Built in app.main and recovered at start-up (`_recover`); the app shuts it down.
        self.service = ctx.images
        self._tasks.spawn(self._warm_imports())
        if self.isVisible():
            self._build_tab()

    async def _warm_imports(self) -> None:
        """Import Pillow (with its format plugins) on a worker thread now: the service imports
        it when the first image arrives, and an import on the loop's thread stalls it ~60 ms
        (PySide's import hook reads each new module's source)."""
        import asyncio

        await asyncio.to_thread(import_pillow)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._build_tab()

    def _build_tab(self) -> None:
        if self.tab is not None or self.ctx is None or self.service is None:
            return
        from app.ui.images.images_tab import ImagesTab

        ctx = self.ctx
        self.tab = ImagesTab(
            self.service,
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            client_for=ctx.clients.get,
        )
        self.tab.sendToChatRequested.connect(self.sendToChatRequested)
        ctx.events.profilesChanged.connect(self.tab.refresh_profiles)
        self._layout.addWidget(self.tab)
        self.tabBuilt.emit()

    async def aclose(self) -> None:
        if self.tab is not None:
            await self.tab.aclose()
        elif self._tasks is not None:
            await self._tasks.aclose()
