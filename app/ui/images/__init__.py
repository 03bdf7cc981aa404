"""The Images tab: generate form, running generations, gallery and detail view.

Modules: `gallery_model`/`gallery_view`/`thumbnails` (the grid), `detail_view`/`image_viewer`,
`generate_form`/`job_list`/`filter_bar` (widgets), `*_controller` (given what they use),
`adapters` (service records <-> UI records), `images_tab` (wiring), `host` (its place in the
window, lazy). Importing this package costs nothing: names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.ui.images.host import ImagesHost
    from app.ui.images.images_tab import ImagesTab

__all__ = ["ImagesHost", "ImagesTab"]


def __getattr__(name: str) -> Any:
    if name == "ImagesHost":
        from app.ui.images.host import ImagesHost

        return ImagesHost
    if name == "ImagesTab":
        from app.ui.images.images_tab import ImagesTab

        return ImagesTab
    raise AttributeError(name)
