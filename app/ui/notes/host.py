"""The Notes tab's place in the main window, cheap until it is first shown.

The window's shell paints before any service exists, so the host starts empty. `attach(ctx)` takes
the NotesService (`ctx.notes`, built by app.main, which also runs its start-up recovery and shuts
it down). The `NotesTab` widgets are built on first show. `aclose()` is part of the staged
shutdown. The shared shape is `app.ui.tab_host.TabHost`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.ui.tab_host import TabHost

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


class NotesHost(TabHost):
    """Holds the Notes tab; builds it on first show once attached."""

    askInChatRequested = Signal(int, str)

    accessible_name = "Notes tab"
    tasks_name = "notes-tab"
    service: NotesService | None
    tab: NotesTab | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chat_target: Callable[[], tuple[str, str] | None] = lambda: None

    def attach(
        self, ctx: AppContext, *, chat_target: Callable[[], tuple[str, str] | None] | None = None
    ) -> None:
        if self.ctx is not None:
            return
        if chat_target is not None:
            self.chat_target = chat_target
        super().attach(ctx)

    def _tasks_on_error(self) -> Callable[[BaseException], None]:
        return _to_excepthook

    def _service_from(self, ctx: AppContext) -> NotesService:
        return ctx.notes

    def _make_tab(self, ctx: AppContext) -> NotesTab:
        from app.ui.notes.notes_tab import NotesTab

        assert self.service is not None
        tab = NotesTab(
            self.service,
            self._tasks,
            profiles=lambda: list(ctx.profile_list),
            list_models=embedding_models(ctx),
            chat_target=lambda: self.chat_target(),
            create_thread=ctx.chat.threads.create_thread,
        )
        tab.askInChatRequested.connect(self.askInChatRequested)
        return tab

    def ensure_tab(self) -> NotesTab | None:
        """Build the tab now (a chat message saved as a note, a citation clicked)."""
        return super().ensure_tab()

    async def save_as_note(self, title: str, text: str) -> AppNote | None:
        tab = self.ensure_tab()
        return await tab.save_as_note(title, text) if tab is not None else None

    async def open_note_link(self, url: str) -> NoteHit | None:
        tab = self.ensure_tab()
        return await tab.open_note_link(url) if tab is not None else None


def _to_excepthook(exc: BaseException) -> None:
    sys.excepthook(type(exc), exc, exc.__traceback__)
