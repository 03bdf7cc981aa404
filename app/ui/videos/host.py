"""The Videos tab's place in the main window, cheap until it is first shown.

The shell paints before any service exists, so the host starts empty. `attach(ctx)` gets (or,
until the composition root builds one, makes) the VideoService and runs its start-up recovery
at once — unfinished jobs are tracked whether or not the tab is ever opened, and a completion
is announced even then. The tab's widgets (and QtMultimedia, later still) load on first show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.core.services.videos import VideoService
    from app.ui.context import AppContext
    from app.ui.videos.videos_tab import VideosTab

__all__ = ["VideosHost"]

log = logging.getLogger(__name__)


class VideosHost(QWidget):
    """Holds the Videos tab; builds it on first show once attached."""

    tabBuilt = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Videos tab")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.ctx: AppContext | None = None
        self.service: VideoService | None = None
        self.tab: VideosTab | None = None
        self._tasks: Any = None
        self._pending_image = ""
        self.is_focused: Callable[[], bool] = lambda: self.window().isActiveWindow()
        self.tray_available: Callable[[], bool] | None = None
        # Until the tab is built, the host announces completions itself (jobs resumed at
        # start-up finish whether or not the Videos tab was ever opened).
        self.notifier: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._announced: set[int] = set()

    def build(self) -> None:
        """Called by the window with its other tabs; the real work waits for the first show."""
        if self.isVisible():
            self._build_tab()

    def attach(self, ctx: AppContext) -> None:
        if self.ctx is not None:
            return
        from app.core.services.tasks import TaskOwner

        self.ctx = ctx
        self._tasks = TaskOwner("videos-tab")
        # Built in app.main and recovered there after the window is attached; the app closes it.
        self.service = ctx.videos
        self._unsubscribe = self.service.subscribe(self._on_event)
        if self.isVisible():
            self._build_tab()

    def _on_event(self, event: Any) -> None:
        view = getattr(event, "view", None)
        if self.tab is not None or view is None or view.state != "completed":
            return
        if view.id in self._announced:
            return
        self._announced.add(view.id)
        if self.notifier is None:
            from app.ui.videos.notify import CompletionNotifier

            assert self.ctx is not None
            self.notifier = CompletionNotifier(
                is_focused=lambda: self.is_focused(),
                status=self.ctx.events.statusMessage.emit,
                **({"tray_available": self.tray_available} if self.tray_available else {}),
            )
        from app.ui.videos.records import row_from_view

        self.notifier.completed(row_from_view(view))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._build_tab()

    def prefill_image(self, path: str) -> None:
        """Image-to-video from `path` (the main window calls this, e.g. from the gallery)."""
        if self.tab is not None:
            self.tab.prefill_image(path)
        else:
            self._pending_image = path

    def _build_tab(self) -> None:
        if self.tab is not None or self.ctx is None or self.service is None:
            return
        from app.ui.videos.port import ServicePort
        from app.ui.videos.videos_tab import VideosTab

        ctx = self.ctx
        self.tab = VideosTab(
            ServicePort(self.service),
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            status=ctx.events.statusMessage.emit,
            is_focused=lambda: self.is_focused(),
            tray_available=self.tray_available,
            cache_dir=ctx.data_dir / "cache" / "video-posters",
        )
        ctx.events.profilesChanged.connect(self.tab.refresh_profiles)
        self._layout.addWidget(self.tab)
        if self._pending_image:
            self.tab.prefill_image(self._pending_image)
            self._pending_image = ""
        self.tabBuilt.emit()

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.notifier is not None:
            self.notifier.close()
        if self.tab is not None:
            try:
                self.ctx.events.profilesChanged.disconnect(self.tab.refresh_profiles)  # type: ignore[union-attr]
            except (RuntimeError, TypeError):
                pass
            await self.tab.aclose()
        elif self._tasks is not None:
            await self._tasks.aclose()
