"""Runs the gallery: queries pages from the service, follows its events, stars, deletes, undoes.

Given the service, a spawn function, the model, the view and the filter bar (never the tab).
Service events arrive as plain callbacks on the loop's thread; each model change is wrapped in
`view.keep_position()` so what the user looks at does not move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.ui.images.adapters import gallery_filter, gallery_item, gallery_items
from app.ui.images.filter_bar import FilterBar, GalleryQuery
from app.ui.images.gallery_model import GalleryItem, GalleryModel
from app.ui.images.gallery_view import GalleryView

if TYPE_CHECKING:
    from app.core.services.images import ImageEvent, ImageService
    from app.core.store.records import ImageRecord

__all__ = ["GalleryController", "matches"]

log = logging.getLogger(__name__)
SpawnFn = Callable[[Any], Any]


def matches(q: GalleryQuery, item: GalleryItem) -> bool | None:
    """Whether a new image belongs in the current query: True/False, or None when only the
    service can tell (a prompt search)."""
    if q.profile_id is not None and item.profile_id != q.profile_id:
        return False
    if q.model is not None and item.model != q.model:
        return False
    if q.size is not None and item.size != q.size:
        return False
    if q.since is not None and item.created_at < q.since:
        return False
    if q.until is not None and item.created_at >= q.until:
        return False
    if q.starred and not item.starred:
        return False
    return None if q.text else True


class GalleryController(QObject):
    """Pages, events, star/delete/undo for the gallery."""

    emptyChanged = Signal(bool)  # True: nothing to show for this query
    deleted = Signal(object)  # GalleryItem just deleted (the tab offers Undo)
    facetsLoaded = Signal()

    def __init__(
        self,
        service: ImageService,
        spawn: SpawnFn,
        model: GalleryModel,
        view: GalleryView,
        filters: FilterBar,
        *,
        profile_names: Callable[[], list[tuple[str, str]]] = list,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.spawn = spawn
        self.model = model
        self.view = view
        self.filters = filters
        self._profile_names = profile_names
        self.query = GalleryQuery()
        self._root = str(service.images_dir)
        self._unsubscribe = service.on_event(self._on_event)
        filters.queryChanged.connect(self.set_query)
        model.pageLoaded.connect(lambda _n: self._check_empty())
        model.exhaustedChanged.connect(lambda _e: self._check_empty())
        self._empty: bool | None = None

    def start(self) -> None:
        self.set_query(self.filters.query())
        self.spawn(self.load_facets())

    def close(self) -> None:
        self._unsubscribe()

    # -- querying --

    def set_query(self, q: GalleryQuery) -> None:
        self.query = q
        flt = gallery_filter(q)
        service = self.service
        root = self._root
        limit = self.model.page_size

        async def fetch(cursor: Any) -> tuple[list[GalleryItem], Any]:
            rows, after = await service.summaries(flt, after=cursor, limit=limit)
            return gallery_items(rows, root), after

        self.model.reset(fetch)
        self.model.fetchMore()

    async def load_facets(self) -> None:
        facets = await self.service.facets()
        names = dict(self._profile_names())
        profiles = [(pid, names.get(pid, pid)) for pid in facets.get("profile_id", [])]
        self.filters.set_facets(profiles, facets.get("model", []), facets.get("size", []))
        self.facetsLoaded.emit()

    def _check_empty(self) -> None:
        empty = self.model.rowCount() == 0 and self.model.exhausted
        if empty != self._empty:
            self._empty = empty
            self.emptyChanged.emit(empty)

    # -- service events --

    def _on_event(self, event: ImageEvent) -> None:
        rec = event.image
        if rec is None:
            return
        if event.what == "image":
            self._add(rec)
        elif event.what == "deleted":
            with self.view.keep_position():
                self.model.remove(rec.id)
            self.view.loader.forget(rec.id)
            self._check_empty()
        elif event.what == "changed":
            if rec.deleted:
                return
            if self.model.row_of(rec.id) >= 0:
                self.model.update(rec.id, starred=rec.starred)
                if self.query.starred and not rec.starred:
                    with self.view.keep_position():
                        self.model.remove(rec.id)
            else:
                item = gallery_item(rec, self._root)
                if matches(self.query, item):
                    with self.view.keep_position():
                        self.model.insert_sorted(item)
            self._check_empty()

    def _add(self, rec: ImageRecord) -> None:
        item = gallery_item(rec, self._root)
        fits = matches(self.query, item)
        if fits is False:
            return
        if fits is None:
            return  # a prompt search: shown when the search is run again
        with self.view.keep_position():
            self.model.prepend([item])
        self._check_empty()
        # A new model, size or profile appears in the filter menus.
        self.spawn(self.load_facets())

    # -- actions --

    async def star(self, image_id: int, starred: bool) -> ImageRecord | None:
        rec = await self.service.star(image_id, starred)
        if rec is not None and self.model.row_of(image_id) >= 0:
            self.model.update(image_id, starred=rec.starred)
        return rec

    async def delete(self, image_id: int) -> None:
        item = self.model.item(self.model.row_of(image_id))
        rec = await self.service.delete(image_id)
        if rec is None:
            return
        with self.view.keep_position():
            self.model.remove(image_id)
        self._check_empty()
        self.deleted.emit(item or gallery_item(rec, self._root))

    async def restore(self, image_id: int) -> None:
        rec = await self.service.restore(image_id)
        if rec is None:
            return
        item = gallery_item(rec, self._root)
        if matches(self.query, item) is not False:
            with self.view.keep_position():
                self.model.insert_sorted(item)
        self._check_empty()
