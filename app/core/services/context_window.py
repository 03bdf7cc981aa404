"""Token estimates and context-window fitting for chat requests.

Before a request goes out, the chat service needs to know roughly how many tokens the
conversation costs and how large the model's context window is, so it can drop the oldest turns
instead of letting the provider refuse the request with "context length exceeded".

The estimate is a heuristic, not a tokenizer (tokenizers differ per model and are large
downloads). It is deliberately simple and linear in the length of the text:

- CJK characters (Han, kana, Hangul, CJK punctuation and full-width forms) count 1 token each:
  BPE vocabularies usually spend about one token per such character;
- every other character counts a quarter of a token (the well-known "~4 characters per token"
  of English and other Latin-script text), rounded up per text;
- every message costs `MESSAGE_OVERHEAD` (4) more tokens for its role and separators, as in
  OpenAI's own counting recipe;
- every image part costs a fixed `IMAGE_TOKENS` (765, what a 1024x1024 image costs at OpenAI's
  "high" detail).

So `estimate_tokens("hello world") == 3` (11 characters / 4, rounded up) and
`estimate_messages([ChatMessage("user", "hello world")]) == 7`.

Fitting (`fit_to_window`) keeps every system message, keeps the last turn (the last user message
and whatever follows it), and drops whole turns from the oldest: a user message goes together
with the replies after it, so the model never sees an answer without its question.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.core.protocol.types import ChatMessage, ImagePart

__all__ = [
    "IMAGE_TOKENS",
    "KNOWN_CONTEXT_WINDOWS",
    "LATIN_CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD",
    "FitResult",
    "context_window_for",
    "estimate_message",
    "estimate_messages",
    "estimate_tokens",
    "fit_to_window",
]

MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 765
LATIN_CHARS_PER_TOKEN = 4

# Characters that cost about one token each. Compiled on first use (`_cjk`): the wide ranges
# make `re.compile` itself cost 8-40 ms, which start-up does not need (issue 9).
_CJK_CLASS = (
    "["
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # half-width and full-width forms
    "\U00020000-\U0003134f"  # CJK Extensions B-G
    "]"
)


@functools.cache
def _cjk() -> re.Pattern[str]:
    return re.compile(_CJK_CLASS)

# Model-id prefix (lower case, without a vendor prefix) -> context window in tokens.
# `context_window_for` picks the longest matching prefix, so "gpt-4o-mini" beats "gpt-4o" beats
# "gpt-4". Ollama-style names ("llama3.1:8b", "qwen2.5:7b") are listed beside the hyphenated ones.
KNOWN_CONTEXT_WINDOWS: dict[str, int] = {
    # OpenAI
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "chatgpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-1106": 128_000,
    "gpt-4-0125": 128_000,
    "gpt-4-vision": 128_000,
    "gpt-4": 8_192,
    "gpt-4-32k": 32_768,
    "gpt-4.1": 1_047_576,
    "gpt-3.5-turbo": 16_385,
    "gpt-3.5-turbo-instruct": 4_096,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o1-preview": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    # Anthropic
    "claude-2": 100_000,
    "claude-2.1": 200_000,
    "claude-3": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-opus-4": 200_000,
    # Google
    "gemini-pro": 32_760,
    "gemini-1.0-pro": 32_760,
    "gemini-1.5-pro": 2_097_152,
    "gemini-1.5-flash": 1_048_576,
    "gemini-2": 1_048_576,  # 2.0 and 2.5, pro and flash
    # Meta
    "llama-3": 8_192,
    "llama3": 8_192,
    "llama-3.1": 131_072,
    "llama-3.2": 131_072,
    "llama-3.3": 131_072,
    "llama3.1": 131_072,
    "llama3.2": 131_072,
    "llama3.3": 131_072,
    # Others
    "qwen2.5": 32_768,
    "qwen-2.5": 32_768,
    "mistral-large": 131_072,
    "mistral-small": 32_768,
    "mixtral-8x7b": 32_768,
    "deepseek-chat": 65_536,
    "deepseek-reasoner": 65_536,
}


@dataclass(frozen=True)
class FitResult:
    """What `fit_to_window` kept: the messages to send, in their original order."""

    messages: list[ChatMessage]
    dropped_count: int
    estimated_tokens: int
    over: bool  # True when even the kept minimum does not fit


# --- estimates --------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """Estimated tokens of `text` alone: 1 per CJK character, 1 per 4 other characters (ceil).

    Linear in `len(text)`; no per-message overhead (see `estimate_message`).
    """
    if not text:
        return 0
    if text.isascii():  # O(1) in CPython: no CJK to count (a 10 MB prompt took 75 ms here)
        return math.ceil(len(text) / LATIN_CHARS_PER_TOKEN)
    cjk = sum(1 for _ in _cjk().finditer(text))
    other = len(text) - cjk
    return cjk + math.ceil(other / LATIN_CHARS_PER_TOKEN)


def estimate_message(message: ChatMessage) -> int:
    """Estimated tokens of one message: overhead + its text + `IMAGE_TOKENS` per image."""
    images = 0
    if not isinstance(message.content, str):
        images = sum(1 for p in message.content if isinstance(p, ImagePart))
    return MESSAGE_OVERHEAD + estimate_tokens(message.text()) + images * IMAGE_TOKENS


def estimate_messages(messages: Sequence[ChatMessage]) -> int:
    """Estimated tokens of a whole request's messages."""
    return sum(estimate_message(m) for m in messages)


# --- context windows --------------------------------------------------------------------------


def _candidates(model: str) -> list[str]:
    """`model` lower-cased, then without a vendor prefix ("meta-llama/", "models/", ...)."""
    name = model.strip().lower()
    out = [name]
    if "/" in name:
        out.append(name.rsplit("/", 1)[1])
    return out


def _longest_prefix(names: list[str], table: Mapping[str, int]) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, window)
    for name in names:
        for prefix, window in table.items():
            if name.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), window)
    return None if best is None else best[1]


def context_window_for(
    model: str, overrides: Mapping[str, int] | None = None, default: int = 8192
) -> int:
    """The context window of `model` in tokens.

    Order: the profile's `overrides` (its `context_windows`: an exact id first, then the longest
    matching prefix), then `KNOWN_CONTEXT_WINDOWS` by longest prefix, then `default`. Matching is
    case-insensitive and also tried without a vendor prefix ("meta-llama/Llama-3.3-70B" matches
    "llama-3.3"). Non-positive override values are ignored.
    """
    names = _candidates(model or "")
    if overrides:
        usable = {k.strip().lower(): int(v) for k, v in overrides.items() if int(v) > 0}
        for name in names:
            if name in usable:
                return usable[name]
        found = _longest_prefix(names, usable)
        if found is not None:
            return found
    found = _longest_prefix(names, KNOWN_CONTEXT_WINDOWS)
    return default if found is None else found


# --- fitting ----------------------------------------------------------------------------------


def _turns(messages: Sequence[ChatMessage]) -> list[list[int]]:
    """Indices of the non-system messages grouped into turns.

    A turn starts at a user message and holds the non-system messages after it up to the next
    user message. Messages before the first user message form a turn of their own.
    """
    turns: list[list[int]] = []
    for i, m in enumerate(messages):
        if m.role == "system":
            continue
        if m.role == "user" or not turns:
            turns.append([i])
        else:
            turns[-1].append(i)
    return turns


def fit_to_window(
    messages: Sequence[ChatMessage], window: int, reserve_for_reply: int
) -> FitResult:
    """Drop the oldest turns until the messages fit `window - reserve_for_reply` tokens.

    Every system message is kept, and so is the last turn (the last user message and the replies
    after it). If even those do not fit, they are returned with `over=True` and the caller
    decides (warn, or send anyway and let the provider answer). Linear in the total text size.
    """
    budget = window - reserve_for_reply
    costs = [estimate_message(m) for m in messages]
    total = sum(costs)
    turns = _turns(messages)
    dropped: set[int] = set()
    # The last turn is never dropped.
    for turn in turns[:-1]:
        if total <= budget:
            break
        dropped.update(turn)
        total -= sum(costs[i] for i in turn)
    kept = [m for i, m in enumerate(messages) if i not in dropped]
    return FitResult(
        messages=kept,
        dropped_count=len(dropped),
        estimated_tokens=total,
        over=total > budget,
    )
