"""Ask about these: a chat thread whose system prompt holds the top hits (numbered, each with its
`switchboard-note://` link) and the rule to cite them; the question is then sent by the chat tab,
which the main window switches to (`askReady(thread_id, question)`).

Given a spawn function, the thread creator (the ChatService's repository), the hits' reader and
the chat target (profile, model); never the tab or the chat tab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import ConfigError
from app.core.notes.citations import note_link
from app.ui.notes.results_model import hit_location, hit_title, snippet_text

if TYPE_CHECKING:
    from app.core.services.notes import HitPreview, NoteHit

__all__ = ["MAX_EXCERPT_CHARS", "AskController", "context_prompt", "excerpt_of"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]
ReadHit = Callable[["NoteHit"], Awaitable["HitPreview"]]
MAX_EXCERPT_CHARS = 2_000
TOP_HITS = 5


def excerpt_of(preview: HitPreview) -> str:
    """The hit's own lines (its chunk), trimmed to MAX_EXCERPT_CHARS."""
    lines = preview.text.splitlines()
    start = max(1, preview.line_start)
    end = max(start, preview.line_end)
    text = "\n".join(lines[start - 1 : end]).strip()
    if len(text) > MAX_EXCERPT_CHARS:
        text = text[:MAX_EXCERPT_CHARS].rstrip() + " …"
    return text


def context_prompt(excerpts: Sequence[tuple[NoteHit, str]]) -> str:
    """The system prompt: the numbered excerpts and how to cite them."""
    parts = [
        (
            "Answer the user's question using the notes below. Cite every note you use right after "
            "the sentence it supports, as a Markdown link whose text is its number in brackets, "
            "for example [[1]](switchboard-note://123). Only cite the notes given here; if they do "
            "not answer the question, say so."
        ),
        "",
    ]
    for n, (hit, text) in enumerate(excerpts, start=1):
        where = hit_location(hit)
        parts.append(f"[{n}] {hit_title(hit)} — {where} — link: {note_link(str(hit.chunk_id))}")
        parts.append(text or snippet_text(hit.snippet))
        parts.append("")
    return "\n".join(parts).strip()


class AskController(QObject):
    askReady = Signal(int, str)  # thread id, question (for the chat tab to send)
    message = Signal(str)

    def __init__(
        self,
        spawn: Spawn,
        *,
        create_thread: Callable[..., Awaitable[Any]],
        read_hit: ReadHit,
        chat_target: Callable[[], tuple[str, str] | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._spawn = spawn
        self._create_thread = create_thread
        self._read_hit = read_hit
        self._chat_target = chat_target
        # The numbering of each thread this made: thread id -> {n: chunk id}, so the chat view
        # can turn bare "[n]" citations into links (citations.linkify_citations).
        self.numbering: dict[int, dict[int, str]] = {}

    async def ask(self, question: str, hits: Sequence[NoteHit]) -> int | None:
        question = question.strip()
        if not question:
            self.message.emit("Type a question in the search box first.")
            return None
        if not hits:
            self.message.emit("Search first: the top results are what the model is given.")
            return None
        target = self._chat_target()
        if target is None:
            raise ConfigError(
                "No chat model to ask: add a provider with a chat model in Settings first."
            )
        profile_id, model = target
        chosen = list(hits[:TOP_HITS])
        excerpts: list[tuple[NoteHit, str]] = []
        for hit in chosen:
            try:
                excerpts.append((hit, excerpt_of(await self._read_hit(hit))))
            except (OSError, ValueError):
                excerpts.append((hit, snippet_text(hit.snippet)))
        title = f"Notes: {question}"[:80]
        thread = await self._create_thread(
            title, profile_id=profile_id, model=model, system_prompt=context_prompt(excerpts)
        )
        self.numbering[thread.id] = {n: str(h.chunk_id) for n, (h, _t) in enumerate(excerpts, 1)}
        self.askReady.emit(thread.id, question)
        return int(thread.id)
