"""The `switchboard-note://` citation links of "Ask about these" (see `app.core.notes.citations`,
where they live so the chat view can use them too)."""

from __future__ import annotations

from app.core.notes.citations import (
    NOTE_SCHEME,
    is_note_link,
    linkify_citations,
    note_link,
    numbering_from_prompt,
    parse_note_link,
)

__all__ = [
    "NOTE_SCHEME",
    "is_note_link",
    "linkify_citations",
    "note_link",
    "numbering_from_prompt",
    "parse_note_link",
]
