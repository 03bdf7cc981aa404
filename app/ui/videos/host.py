"""The Videos tab's place in the main window, cheap until it is first shown.

The shell paints before any service exists, so the host starts empty. `attach(ctx)` gets (or,
until the composition root builds one, makes) the VideoService and runs its start-up recovery
at once — unfinished jobs are tracked whether or not the tab is ever opened, and a completion
is announced even then. The tab's widgets (and QtMultimedia, later still) load on first show.
The shared shape is `app.ui.tab_host.TabHost`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

from app.ui.tab_host import TabHost

if TYPE_CHECKING:
    from app.core.services.videos import VideoService
    from app.ui.context import AppContext
    from app.ui.videos.videos_tab import VideosTab

__all__ = ["VideosHost"]

log = logging.getLogger(__name__)


class VideosHost(TabHost):
    """Holds the Videos tab; builds it on first show once attached."""

    accessible_name = "Videos tab"
    tasks_name = "videos-tab"
    service: VideoService | None
    tab: VideosTab | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pending_image = ""
        self.is_focused: Callable[[], bool] = lambda: self.window().isActiveWindow()
        self.tray_available: Callable[[], bool] | None = None
        # Until the tab is built, the host announces completions itself (jobs resumed at
        # start-up finish whether or not the Videos tab was ever opened).
        self.notifier: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._announced: set[int] = set()

    def _service_from(self, ctx: AppContext) -> VideoService:
        # Built in app.main and recovered there after the window is attached; the app closes it.
        return ctx.videos

    def _on_attached(self) -> None:
        assert self.service is not None
        self._unsubscribe = self.service.subscribe(self._on_event)

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

    def prefill_image(self, path: str) -> None:
        """Image-to-video from `path` (the main window calls this, e.g. from the gallery)."""
        if self.tab is not None:
            self.tab.prefill_image(path)
        else:
            self._pending_image = path

    def _make_tab(self, ctx: AppContext) -> VideosTab:
        from app.ui.videos.port import ServicePort
        from app.ui.videos.videos_tab import VideosTab

        assert self.service is not None
        return VideosTab(
            ServicePort(self.service),
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            status=ctx.events.statusMessage.emit,
            is_focused=lambda: self.is_focused(),
            tray_available=self.tray_available,
            cache_dir=ctx.data_dir / "cache" / "video-posters",
        )

    def _tab_built(self, tab: VideosTab) -> None:
        if self._pending_image:
            tab.prefill_image(self._pending_image)
            self._pending_image = ""

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
        await super().aclose()
