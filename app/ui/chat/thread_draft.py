"""The Chat tab's draft of a thread's settings, as plain records: no Qt, easy to test.

- `ThreadSettings`: what the conversation on screen sends with (kind, profile, system prompt,
  generation parameters);
- `Outgoing`: one message about to be sent, with the fields a thread is created or updated with;
- `parse_stop` / `format_stop`: stop sequences to and from the text box (`\\n` for a newline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.protocol.types import ContentPart, GenerationParams
from app.core.store.records import ThreadKind

__all__ = ["MAX_STOP_SEQUENCES", "Outgoing", "ThreadSettings", "format_stop", "parse_stop"]

# The most stop sequences a request carries (OpenAI's limit; others accept at least as many).
MAX_STOP_SEQUENCES = 4


@dataclass
class ThreadSettings:
    """What the conversation on screen sends with: `profile_id` None follows the active profile."""

    kind: ThreadKind = "chat"
    profile_id: str | None = None
    system_prompt: str = ""
    params: GenerationParams = field(default_factory=GenerationParams)


@dataclass
class Outgoing:
    """One message about to be sent: its shown text, its content, and the thread's settings."""

    text: str
    content: str | list[ContentPart]
    kind: ThreadKind
    system_prompt: str
    params: GenerationParams

    @property
    def empty(self) -> bool:
        return not self.text.strip() and isinstance(self.content, str)

    def thread_fields(self) -> dict[str, Any]:
        """Keyword arguments for `ThreadRepository.create_thread`."""
        return {"kind": self.kind, "system_prompt": self.system_prompt, "params": self.params}

    def update_fields(self) -> dict[str, Any]:
        """Keyword arguments for `ThreadRepository.update_thread_settings`."""
        return {"system_prompt": self.system_prompt, "params": self.params}


def parse_stop(text: str) -> list[str]:
    """Stop sequences from the text box: one per line, or comma-separated on a line.

    Escapes `\\n` and `\\t` are turned into the characters (a newline is a common stop).
    """
    out: list[str] = []
    for line in text.splitlines():
        for piece in line.split(","):
            piece = piece.strip()
            if piece:
                out.append(piece.replace("\\n", "\n").replace("\\t", "\t"))
    return out


def format_stop(stop: str | list[str] | None) -> str:
    if stop is None:
        return ""
    items = [stop] if isinstance(stop, str) else stop
    return "\n".join(s.replace("\n", "\\n").replace("\t", "\\t") for s in items)
