"""Thread titles: a quick one from the first message, or a short one the model suggests.

    fallback_title("## How do I *parse* JSON in Rust?\\nI tried serde...")
        -> "How do I parse JSON in"
    await suggest_title(client, "gpt-4o-mini", question, answer)
        -> "Parsing JSON in Rust"      (or the fallback title if the provider fails)

`fallback_title` needs no network: the first line of the text with markdown noise removed, at
most `MAX_TITLE_WORDS` words and `MAX_TITLE_CHARS` characters. `suggest_title` asks the chat model
once (non-streamed, low temperature, a few tokens) and cleans what comes back; any known error
(`SwitchboardError`: no key, offline, rate limit, refusal...) falls back quietly, since a title is
never worth an error dialog.
"""

from __future__ import annotations

import re
from typing import Protocol

from app.core.errors import SwitchboardError
from app.core.protocol.types import ChatMessage, ChatResult, GenerationParams

__all__ = [
    "DEFAULT_TITLE",
    "MAX_TITLE_CHARS",
    "MAX_TITLE_WORDS",
    "TITLE_INSTRUCTION",
    "TitleClient",
    "clean_model_title",
    "fallback_title",
    "suggest_title",
]

DEFAULT_TITLE = "New chat"
MAX_TITLE_WORDS = 6
MAX_TITLE_CHARS = 60
# How much of the first exchange is sent to the model: enough to name it, cheap to send.
_EXCERPT_CHARS = 1500

TITLE_INSTRUCTION = (
    "You name chat conversations. Reply with a short title of 2 to 6 words that says what the "
    "conversation is about, in the language of the conversation. Reply with the title only: no "
    "quotes, no trailing period, no prefix."
)


class TitleClient(Protocol):
    """What `suggest_title` needs of a provider client (`ProviderClient` fits)."""

    async def chat(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> ChatResult: ...


# --- cleaning ---------------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?(</think>|$)", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url), ![alt](src) -> text / alt
_LINE_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+")
_EMPHASIS = re.compile(r"[*_~`]+")
_TITLE_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:title|chat title|conversation title)\s*[:：-]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»„`"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith("```"):
            return line
    return ""


def _strip_markdown(line: str) -> str:
    line = _LINK.sub(r"\1", line)
    line = _LINE_PREFIX.sub("", line)
    line = _EMPHASIS.sub("", line)
    return " ".join(line.split())


def _shorten(text: str, max_words: int, max_chars: int) -> str:
    """At most `max_words` words and `max_chars` characters, cut at a word boundary."""
    words = text.split()[:max_words]
    title = " ".join(words)
    if len(title) <= max_chars:
        return title
    cut = title[: max_chars - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def fallback_title(text: str) -> str:
    """A title from a message's text: its first line, without markdown noise, ~6 words, <= 60 chars.

    Returns `DEFAULT_TITLE` when the text has nothing usable (empty, only a code fence...).
    """
    line = _strip_markdown(_first_line(_THINK.sub("", text or "")))
    title = _shorten(line, MAX_TITLE_WORDS, MAX_TITLE_CHARS).strip(_QUOTES + " ")
    return title or DEFAULT_TITLE


def clean_model_title(answer: str) -> str:
    """The title inside a model's answer, or "" when there is none.

    Drops a `<think>` block, takes the first non-empty line, removes a "Title:" prefix, markdown
    emphasis, surrounding quotes and a trailing period, and shortens to `MAX_TITLE_CHARS`
    (models asked for "2 to 6 words" sometimes give 8; only the character limit is enforced).
    """
    line = _first_line(_THINK.sub("", answer or ""))
    line = _TITLE_PREFIX.sub("", line)
    line = _strip_markdown(line)
    line = _TITLE_PREFIX.sub("", line)  # "**Title:** x" becomes "Title: x" once ** is gone
    line = line.strip(_QUOTES + " ").rstrip(".。!").strip(_QUOTES + " ")
    return _shorten(line, 12, MAX_TITLE_CHARS)


# --- asking the model -------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


async def suggest_title(
    client: TitleClient, model: str, first_user_text: str, first_reply: str
) -> str:
    """Ask `model` for a short title of the exchange; `fallback_title(first_user_text)` on failure.

    One non-streamed request (`temperature` 0.2, `max_tokens` 20). An answer that is empty after
    cleaning (e.g. a reasoning model that spent its tokens thinking) also falls back.
    """
    messages = [
        ChatMessage("system", TITLE_INSTRUCTION),
        ChatMessage(
            "user",
            "Conversation:\n"
            f"User: {_excerpt(first_user_text)}\n"
            f"Assistant: {_excerpt(first_reply)}\n\n"
            "Title:",
        ),
    ]
    try:
        result = await client.chat(model, messages, GenerationParams(temperature=0.2, max_tokens=20))
    except SwitchboardError:
        return fallback_title(first_user_text)
    return clean_model_title(result.text) or fallback_title(first_user_text)
