"""Folder set-up and the index model: adds folders (with their excludes and size limit), asks
before the first indexing who receives the text and roughly how many tokens, and offers a rebuild
with its cost when the model changes.

Given what it uses (the service, a spawn function, the panel, and callables for the questions it
asks), never the tab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.errors import SwitchboardError
from app.ui.async_bridge import open_dialog
from app.ui.notes.sources_panel import FolderSettingsDialog, SourcesPanel

if TYPE_CHECKING:
    from app.core.providers import ProviderProfile
    from app.core.services.notes import IndexSpec, NoteSource, NotesService

__all__ = ["Confirm", "SourcesController", "estimate_sentence"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]
# (title, text, yes_text, informative) -> confirmed
Confirm = Callable[[str, str, str, str], Awaitable[bool]]
ChooseFolder = Callable[[], Awaitable[str | None]]
ListModels = Callable[[str], Awaitable[list[str]]]


def estimate_sentence(files: int, tokens: int, provider: str, model: str) -> str:
    return (
        f"The text of {files:,} file{'s' if files != 1 else ''} — about {tokens:,} tokens — will "
        f"be sent to {provider} (model {model}) to compute embeddings."
    )


class SourcesController(QObject):
    """Drives the SourcesPanel. `indexingStarted(job_id)` when it started a job."""

    indexingStarted = Signal(int)
    sourcesLoaded = Signal(list)  # list[NoteSource]
    indexChanged = Signal(object)  # IndexSpec | None
    message = Signal(str)

    def __init__(
        self,
        service: NotesService,
        spawn: Spawn,
        panel: SourcesPanel,
        *,
        profiles: Callable[[], Sequence[ProviderProfile]],
        list_models: ListModels | None,
        confirm: Confirm,
        choose_folder: ChooseFolder,
        dialog_parent: QWidget | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._spawn = spawn
        self.panel = panel
        self._profiles = profiles
        self._list_models = list_models
        self._confirm = confirm
        self._choose_folder = choose_folder
        self._dialog_parent = dialog_parent
        self.sources: list[NoteSource] = []
        self.spec: IndexSpec | None = None
        panel.addFolderClicked.connect(lambda: self._spawn(self.add_folder_flow()))
        panel.settingsClicked.connect(lambda sid: self._spawn(self.folder_settings_flow(sid)))
        panel.removeClicked.connect(lambda sid: self._spawn(self.remove_flow(sid)))
        panel.indexClicked.connect(lambda: self._spawn(self.index_flow(None)))
        panel.watchToggled.connect(lambda sid, on: self._spawn(self._watch(sid, on)))
        panel.applyModelClicked.connect(
            lambda pid, model, dim: self._spawn(self.apply_model_flow(pid, model, dim))
        )
        panel.profileChanged.connect(lambda pid: self._spawn(self.load_models(pid)))

    # -- loading --

    async def refresh(self) -> list[NoteSource]:
        self.sources = await self.service.list_sources()
        self.spec = await self.service.index_spec()
        self.panel.set_sources(self.sources)
        self.panel.show_index(
            self.spec, self._provider_name(self.spec.profile_id) if self.spec else ""
        )
        self.sourcesLoaded.emit(self.sources)
        self.indexChanged.emit(self.spec)
        return self.sources

    def refresh_profiles(self) -> None:
        # Profiles with an embedding model first, otherwise in the user's order.
        embedding_first = sorted(
            self._profiles(), key=lambda p: not p.default_models.get("embedding")
        )
        current = self.spec.profile_id if self.spec is not None else ""
        self.panel.set_profiles([(p.id, p.name) for p in embedding_first], current)
        pid = str(self.panel.profile_combo.currentData() or "")
        if pid:
            self._spawn(self.load_models(pid))

    async def load_models(self, profile_id: str) -> None:
        profile = next((p for p in self._profiles() if p.id == profile_id), None)
        if profile is None:
            return
        default = profile.default_models.get("embedding", "")
        if self.spec is not None and self.spec.profile_id == profile_id:
            default = self.spec.model
        models: list[str] = [default] if default else []
        self.panel.set_models(models, default)
        if self._list_models is None:
            return
        try:
            found = await self._list_models(profile_id)
        except SwitchboardError:  # a model list is a convenience: typing the name still works
            return
        names = list(dict.fromkeys([*models, *found]))
        if str(self.panel.profile_combo.currentData() or "") == profile_id:
            self.panel.set_models(names, default or (names[0] if names else ""))

    def _provider_name(self, profile_id: str) -> str:
        p = next((p for p in self._profiles() if p.id == profile_id), None)
        return p.name if p is not None else profile_id

    # -- folders --

    async def add_folder_flow(self, path: str | None = None) -> NoteSource | None:
        """Choose a folder, set its excludes and size limit, add it, then offer to index it."""
        if path is None:
            path = await self._choose_folder()
        if not path:
            return None
        dialog = FolderSettingsDialog(path, parent=self._dialog_parent)
        try:
            if not await open_dialog(dialog):
                return None
            excludes, max_size = dialog.excludes, dialog.max_file_size
        finally:
            dialog.deleteLater()
        source = await self.service.add_folder(path, excludes, max_size)
        await self.refresh()
        self.panel.select_source(source.id)
        await self.index_flow(source.id)
        return source

    async def folder_settings_flow(self, source_id: int) -> None:
        source = next((s for s in self.sources if s.id == source_id), None)
        if source is None:
            return
        dialog = FolderSettingsDialog(
            source.path, source.excludes, source.max_file_size, parent=self._dialog_parent
        )
        try:
            if not await open_dialog(dialog):
                return
            excludes, max_size = dialog.excludes, dialog.max_file_size
        finally:
            dialog.deleteLater()
        await self.service.update_folder(source_id, excludes=excludes, max_file_size=max_size)
        await self.refresh()
        self.message.emit("Folder settings saved; they apply from the next indexing.")

    async def remove_flow(self, source_id: int) -> bool:
        source = next((s for s in self.sources if s.id == source_id), None)
        if source is None or source.kind != "folder":
            return False
        ok = await self._confirm(
            "Remove folder",
            f"Remove “{source.name}” from Notes?",
            "Remove",
            "Its index (chunks and vectors) is deleted; the files on disk are not touched.",
        )
        if not ok:
            return False
        await self.service.remove_folder(source_id)
        await self.refresh()
        return True

    async def _watch(self, source_id: int, on: bool) -> None:
        await self.service.watch(source_id, on)
        await self.refresh()

    # -- indexing --

    async def index_flow(self, source_id: int | None) -> int | None:
        """Start indexing; before a folder's first indexing, say who receives how much text."""
        if self.spec is None:
            self.spec = await self.service.index_spec()
        if self.spec is None:
            self.message.emit(
                "Choose the index model first (provider and embedding model, below the folders): "
                "it decides who receives your notes' text."
            )
            self.panel.model_combo.setFocus()
            return None
        scope = [s for s in self.sources if source_id is None or s.id == source_id]
        first_time = any(s.kind == "folder" and s.last_indexed_at is None for s in scope)
        if first_time:
            estimate = await self.service.estimate(source_id)
            ok = await self._confirm(
                "Index notes",
                estimate_sentence(
                    estimate.files, estimate.tokens, estimate.provider, estimate.model
                ),
                "Index now",
                "Nothing is sent before you agree. Unchanged files are never sent again; "
                + (
                    f"{estimate.skipped:,} files are skipped (too big or not text)."
                    if estimate.skipped
                    else "you can pause or cancel at any time."
                ),
            )
            if not ok:
                self.message.emit("Not indexed. Press “Index now” when you are ready.")
                return None
        job_id = await self.service.index(source_id)
        self.indexingStarted.emit(job_id)
        return job_id

    # -- index model --

    async def apply_model_flow(self, profile_id: str, model: str, dim: int) -> bool:
        """Make (profile, model, dim) the index model; when it replaces another, offer the rebuild
        with its cost, and go back to the old model if the user declines."""
        if not profile_id or not model:
            self.message.emit("Pick a provider and type or choose an embedding model.")
            return False
        wanted_dim = dim or None
        old = self.spec if self.spec is not None else await self.service.index_spec()
        if old is not None and (old.profile_id, old.model, old.dim) == (
            profile_id,
            model,
            wanted_dim,
        ):
            self.message.emit(f"{model} is already the index model.")
            return False
        cost = await self.service.set_index_model(profile_id, model, wanted_dim)
        if old is None:
            await self.refresh()
            self.message.emit(f"Index model set to {model}. Index your folders when ready.")
            if any(s.kind == "folder" or s.chunks for s in self.sources):
                await self.index_flow(None)
            return True
        if cost.chunks:
            ok = await self._confirm(
                "Rebuild the index",
                f"The {model} index lacks vectors for {cost.chunks:,} chunks: rebuilding sends about "
                f"{cost.tokens:,} tokens to {cost.provider}.",
                "Rebuild now",
                f"Vectors of different models are never compared. Cancel keeps {old.model}.",
            )
            if not ok:
                await self.service.set_index_model(old.profile_id, old.model, old.dim)
                await self.refresh()
                self.message.emit(f"Kept {old.model} as the index model.")
                return False
            await self.refresh()
            job_id = await self.service.index(None)
            self.indexingStarted.emit(job_id)
            return True
        await self.refresh()
        self.message.emit(f"Index model set to {model}; every chunk already has its vector.")
        return True
