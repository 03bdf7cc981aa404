"""The Notes tab's place in the main window, cheap until it is first shown.

The window's shell paints before any service exists, so the host starts empty. `attach(ctx)` takes
the NotesService (`ctx.notes`, built by app.main, which also runs its start-up recovery and shuts
it down). The `NotesTab` widgets are built on first show. `aclose()` is part of the staged
shutdown.
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

__all__ = ["NotesHost", "embedding_models"]

log = logging.getLogger(__name__)


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
        self.tab: NotesTab | None = None
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
        self.service = ctx.notes
        if self.isVisible():
            self._build_tab()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._build_tab()

    def _build_tab(self) -> None:
        if self.tab is not None or self.ctx is None or self.service is None:
            return
        ctx = self.ctx
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


def _to_excepthook(exc: BaseException) -> None:
    sys.excepthook(type(exc), exc, exc.__traceback__)
