"""The Images tab's place in the main window, cheap until it is first shown.

The window's shell is painted before any service exists, so the host starts empty. `attach(ctx)`
takes the ImageService (`ctx.images`, built in app.main, which runs its start-up recovery at once —
unfinished generations are resolved whether or not the tab is ever opened — and shuts it down).
The widgets of `ImagesTab` are built on first show. The shared shape is `app.ui.tab_host.TabHost`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal

from app.ui.tab_host import TabHost

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


class ImagesHost(TabHost):
    """Holds the Images tab; builds it on first show once attached."""

    sendToChatRequested = Signal(str)

    accessible_name = "Images tab"
    tasks_name = "images-tab"
    service: ImageService | None
    tab: ImagesTab | None

    def _service_from(self, ctx: AppContext) -> ImageService:
        # Built in app.main and recovered at start-up (`_recover`); the app shuts it down.
        return ctx.images

    def _on_attached(self) -> None:
        self._tasks.spawn(self._warm_imports())

    async def _warm_imports(self) -> None:
        """Import Pillow (with its format plugins) on a worker thread now: the service imports
        it when the first image arrives, and an import on the loop's thread stalls it ~60 ms
        (PySide's import hook reads each new module's source)."""
        import asyncio

        await asyncio.to_thread(import_pillow)

    def _make_tab(self, ctx: AppContext) -> ImagesTab:
        from app.ui.images.images_tab import ImagesTab

        assert self.service is not None
        tab = ImagesTab(
            self.service,
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            client_for=ctx.clients.get,
        )
        tab.sendToChatRequested.connect(self.sendToChatRequested)
        return tab
