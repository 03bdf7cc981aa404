"""Search: runs a query in the chosen mode, fills the results model, previews the current hit,
opens it in the user's editor at its line or shows it in the file manager, and opens a hit named
by a `switchboard-note://` link. Given the service, a spawn function and the widgets; never the
tab."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QObject, Signal

from app.core.notes.citations import parse_note_link
from app.ui.notes.opener import Opener
from app.ui.notes.preview import PreviewPane
from app.ui.notes.results_model import HitsModel
from app.ui.notes.results_view import ResultsView
from app.ui.notes.search_bar import SearchBar

if TYPE_CHECKING:
    from app.core.services.notes import HitPreview, NoteHit, NotesService, SearchMode

__all__ = ["SearchController"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class SearchController(QObject):
    searched = Signal(str, int)  # query, number of hits
    previewShown = Signal(object)  # HitPreview
    message = Signal(str)
    appNoteOpened = Signal(int)  # an app note's hit was opened: edit it in the tab

    def __init__(
        self,
        service: NotesService,
        spawn: Spawn,
        bar: SearchBar,
        model: HitsModel,
        view: ResultsView,
        preview: PreviewPane,
        opener: Opener,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._spawn = spawn
        self.bar = bar
        self.model = model
        self.view = view
        self.preview = preview
        self.opener = opener
        # Every hit seen this session by chunk id: a citation link names one of them.
        self.known_hits: dict[int, NoteHit] = {}
        self._generation = 0
        self._preview_generation = 0
        bar.searchRequested.connect(lambda q, m: self._spawn(self.search(q, m)))
        bar.query_edit.downPressed.connect(self.focus_results)
        view.hitActivated.connect(self.open_row)
        view.setModel(model)
        view.selectionModel().currentRowChanged.connect(
            lambda current, _prev: self._spawn(self.preview_row(current.row()))
        )

    async def search(self, query: str, mode: SearchMode | str = "both") -> list[NoteHit]:
        self._generation += 1
        generation = self._generation
        hits = await self.service.search(query, mode, limit=30)  # type: ignore[arg-type]
        if generation != self._generation:
            return hits  # a newer query is on its way
        for hit in hits:
            self.known_hits[hit.chunk_id] = hit
        self.model.set_hits(hits, query)
        self.bar.ask_button.setEnabled(bool(hits))
        self.searched.emit(query, len(hits))
        if hits:
            self.view.setCurrentIndex(self.model.index(0, 0))
        else:
            self.preview.clear_preview("No note matches this search.")
        return hits

    def focus_results(self) -> None:
        if self.model.rowCount():
            self.view.setFocus()
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0, 0))

    def current_hit(self) -> NoteHit | None:
        index = self.view.currentIndex()
        return self.model.hit(index.row()) if index.isValid() else None

    def top_hits(self, n: int = 5) -> list[NoteHit]:
        return self.model.hits[:n]

    async def preview_row(self, row: int) -> HitPreview | None:
        hit = self.model.hit(row)
        if hit is None:
            return None
        return await self.preview_hit(hit)

    async def preview_hit(self, hit: NoteHit) -> HitPreview:
        self._preview_generation += 1
        generation = self._preview_generation
        shown = await self.service.read_hit(hit)
        if generation == self._preview_generation:
            self.preview.show_preview(shown)
            self.previewShown.emit(shown)
        return shown

    def open_row(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is not None:
            self.open_hit(hit)

    def open_hit(self, hit: NoteHit) -> None:
        """Enter on a hit: an app note opens in the tab's editor, a file in the user's editor."""
        if hit.note_id is not None and not hit.path:
            self.appNoteOpened.emit(hit.note_id)
            return
        self.message.emit(self.opener.open_at_line(hit.path, hit.line_start))

    def reveal_current(self) -> None:
        hit = self.current_hit()
        if hit is not None:
            self.message.emit(self.opener.reveal(hit.path))

    def open_current(self) -> None:
        hit = self.current_hit()
        if hit is not None:
            self.open_hit(hit)

    async def open_link(self, url: str) -> NoteHit | None:
        """Show the hit a `switchboard-note://<chunk id>` link names: selected in the results
        (put there alone if the current search does not have it) and previewed."""
        hit_id = parse_note_link(url)
        chunk_id = int(hit_id) if hit_id is not None and hit_id.isdigit() else None
        hit = self.known_hits.get(chunk_id) if chunk_id is not None else None
        if hit is None:
            self.message.emit(
                "That citation points to a note found in an earlier session; search for it again."
            )
            return None
        rows = [i for i, h in enumerate(self.model.hits) if h.chunk_id == hit.chunk_id]
        if not rows:
            self.model.set_hits([hit], self.model.query)
            rows = [0]
        index = self.model.index(rows[0], 0)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.view.scrollTo(index)
        await self.preview_hit(hit)
        return hit
