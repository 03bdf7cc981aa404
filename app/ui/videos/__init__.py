"""The Videos tab: submit form, job queue with posters, in-app player.

Modules: `records` (pure: UI rows from job rows, status words, the dialects' own option words),
`port` (what the tab calls on the video service, and the one place that adapts to it),
`queue_model`/`queue_view`/`posters` (the queue panel), `submit_form`, `player` (QtMultimedia,
imported only when the tab is built), `notify` (desktop notification), `controllers` (given the
service, a spawn function and their view), `videos_tab` (wiring) and `host` (its place in the
window, lazy). Importing this package costs nothing: names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.ui.videos.host import VideosHost
    from app.ui.videos.videos_tab import VideosTab

__all__ = ["VideosHost", "VideosTab"]


def __getattr__(name: str) -> Any:
    if name == "VideosHost":
        from app.ui.videos.host import VideosHost

        return VideosHost
    if name == "VideosTab":
        from app.ui.videos.videos_tab import VideosTab

        return VideosTab
    raise AttributeError(name)
