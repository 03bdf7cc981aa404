"""The Notes tab's place in the main window, cheap until it is first shown.

The window's shell paints before any service exists, so the host starts empty. `attach(ctx)` gets
the NotesService (`ctx.notes`, built by app.main, which also runs its start-up recovery; without
one, a service made over the context's database, which the host then owns and recovers at once,
so an indexing run left by a crash resumes whether or not the tab is opened). The `NotesTab` widgets are built on
first show. If the service cannot be built, the honest "coming" card is shown instead.
`aclose()` is part of the staged shutdown.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.core.services.notes import AppNote, NoteHit, NotesService
    from app.ui.context import AppContext
    from app.ui.notes.notes_tab import NotesTab

__all__ = ["ContextProfiles", "NotesHost", "embedding_models", "notes_service_for"]

log = logging.getLogger(__name__)


class ContextProfiles:
    """`get(profile_id)` over the context's live profile list (what the service asks for)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def get(self, profile_id: str) -> Any:
        return self._ctx.profile(profile_id)


def notes_service_for(ctx: AppContext) -> tuple[NotesService, bool]:
    """The context's NotesService (built by app.main), or a new one over its database (then the
    caller owns it). Raises NotImplementedError when there is none and none can be made: a
    read-only database cannot hold an index."""
    if ctx.notes is not None:
        return ctx.notes, False
    if getattr(ctx.db, "read_only", False):
        raise NotImplementedError("no notes index on a read-only database")
    from app.core.jobs import JobEngine, JobStore
    from app.core.services.notes import NotesService

    engine = JobEngine(JobStore(ctx.db))
    return NotesService(ctx.db, engine, ctx.clients, profiles=ContextProfiles(ctx)), True


def embedding_models(ctx: AppContext) -> Callable[[str], Any]:
    """An async lister of a profile's embedding models (all models when the server gives no
    kinds: many OpenAI-compatible servers list embedding models without saying so)."""

    async def list_models(profile_id: str) -> list[str]:
        client = await ctx.clients.get(profile_id)
        models = await client.list_models()
        tagged = [m.id for m in models if "embedding" in m.capabilities]
        if tagged:
            return tagged
        named = [m.id for m in models if "embed" in m.id.lower()]
        return named or [m.id for m in models if not m.capabilities]

    return list_models


class NotesHost(QWidget):
    """Holds the Notes tab; builds it on first show once attached."""

    askInChatRequested = Signal(int, str)
    tabBuilt = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notes tab")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.ctx: AppContext | None = None
        self.service: NotesService | None = None
        self._owns_service = False
        self.tab: NotesTab | None = None
        self.placeholder: QWidget | None = None
        self._tasks: Any = None
        self.chat_target: Callable[[], tuple[str, str] | None] = lambda: None

    def build(self) -> None:
        """Called by the window with its other tabs; the real work waits for the first show."""
        if self.isVisible():
            self._build_tab()

    def attach(
        self, ctx: AppContext, *, chat_target: Callable[[], tuple[str, str] | None] | None = None
    ) -> None:
        if self.ctx is not None:
            return
        from app.core.services.tasks import TaskOwner

        self.ctx = ctx
        if chat_target is not None:
            self.chat_target = chat_target
        self._tasks = TaskOwner("notes-tab", on_error=_to_excepthook)
        try:
            self.service, self._owns_service = notes_service_for(ctx)
        except NotImplementedError:
            log.warning("the notes service is not available in this build")
            self.service = None
        if self.service is not None and self._owns_service:
            self._tasks.spawn(self._recover())
        if self.isVisible():
            self._build_tab()

    async def _recover(self) -> None:
        from app.core.errors import SwitchboardError

        assert self.service is not None
        try:
            await self.service.recover()
        except SwitchboardError as exc:
            log.warning("notes indexing could not be recovered: %s", exc)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._build_tab()

    def _build_tab(self) -> None:
        if self.tab is not None or self.placeholder is not None or self.ctx is None:
            return
        ctx = self.ctx
        if self.service is None:
            from app.ui.empty_tab import NOTES, EmptyTab

            self.placeholder = EmptyTab(NOTES)
            self._layout.addWidget(self.placeholder)
            self.placeholder.build()
            return
        from app.ui.notes.notes_tab import NotesTab

        self.tab = NotesTab(
            self.service,
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            list_models=embedding_models(ctx),
            chat_target=lambda: self.chat_target(),
            create_thread=ctx.chat.threads.create_thread,
        )
        self.tab.askInChatRequested.connect(self.askInChatRequested)
        ctx.events.profilesChanged.connect(self.tab.refresh_profiles)
        self._layout.addWidget(self.tab)
        self.tabBuilt.emit()

    def ensure_tab(self) -> NotesTab | None:
        """Build the tab now (a chat message saved as a note, a citation clicked)."""
        self._build_tab()
        return self.tab

    async def save_as_note(self, title: str, text: str) -> AppNote | None:
        tab = self.ensure_tab()
        return await tab.save_as_note(title, text) if tab is not None else None

    async def open_note_link(self, url: str) -> NoteHit | None:
        tab = self.ensure_tab()
        return await tab.open_note_link(url) if tab is not None else None

    async def aclose(self) -> None:
        if self.tab is not None:
            await self.tab.aclose()
        elif self._tasks is not None:
            await self._tasks.aclose()
        if self._owns_service and self.service is not None:
            await self.service.aclose()
            await self.service.engine.aclose()


def _to_excepthook(exc: BaseException) -> None:
    sys.excepthook(type(exc), exc, exc.__traceback__)
