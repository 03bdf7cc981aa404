"""Continuing a reply: how the continuation is asked for, per dialect, and how it is joined.

`ChatService.continue_reply` appends more text to a reply that was stopped, cut off or cut by
the length limit. What comes back depends on the server, not on us, so the asking and the
joining are decided here, once:

How it is asked for (`continuation_messages`), per dialect:

- **OpenAI-compatible**: the path up to and including the partial reply, which is the last
  (assistant) message. llama.cpp, Ollama, LM Studio and vLLM's chat templates (and Anthropic
  behind OpenRouter) continue a final assistant message as a prefix: the text that comes back
  is exactly the rest. OpenAI itself and some gateways accept the request but start a reply of
  their own, which often repeats the partial reply from its start or from its last line.
  A "continue" user turn is not sent here, because it would turn the literal continuation of
  every local server into a new answer.
- **Gemini**: the partial reply as the last `model` turn, then a user turn asking to continue
  (`CONTINUE_INSTRUCTION`). Recent Gemini models refuse a request that ends with a model turn
  ("Requests ending with a model turn are not supported", HTTP 400) and older ones only
  sometimes continue it, so the request always ends with a user turn. A model asked this way
  usually goes on, but may re-open the code block it was in, or repeat the unfinished line.

How it is joined (`ContinuationJoin`), the same for every dialect, as the text streams in:

- a repetition of the partial reply (all of it, the open code block's lines, or its last
  lines) at the start of the continuation is dropped;
- when the partial reply stopped inside a fenced code block, a fence the continuation opens
  first (```` ```python ````) is dropped, so the block is continued rather than nested (which
  would otherwise close the first block at the second's opening line and render the rest of
  the reply as code), and the continued code starts on a line of its own;
- so is a one-line lead-in before that fence ("Sure, here's the rest:", "Continuing from where
  I stopped:"): a line that opens like such a sentence and ends with a colon, followed (after
  blank lines, if any) by the fence. Anything else on the first line is kept as code: inside a
  block, a line ending with a colon and then a bare fence is code that closes the block.

The stored message is then the partial reply followed by the new text only: valid Markdown
with the code block continued. Text is held back only while it may still turn out to be such a
repetition or fence (a few tokens in the common case); `finish()` gives what is left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.core.protocol.types import ChatMessage

__all__ = [
    "CONTINUE_INSTRUCTION",
    "ContinuationJoin",
    "continuation_messages",
    "open_fence",
]

CONTINUE_INSTRUCTION = (
    "Continue your previous message exactly where it stopped, without repeating any of it and "
    "without an introduction. If it stopped inside a code block, continue the code without "
    "opening a new code block."
)

# A fence line as Python-Markdown's fenced_code reads it (the renderer of the view).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# How many line starts from the end of the partial reply a repetition may begin at.
_TAIL_LINES = 4
# A repeated line start shorter than this (ignoring spaces) is not taken for a repetition.
_MIN_REPEAT = 4
# A lead-in sentence a model writes before re-opening the code block it was asked to continue.
_LEAD_IN = re.compile(
    r"^(?:sure|okay|ok|certainly|of course|here|continuing|continued|continuation|"
    r"the rest|rest of|picking up|resuming)\b[^\n`]{0,200}:\s*$",
    re.IGNORECASE,
)


def open_fence(text: str) -> tuple[str, int] | None:
    """(marker, offset just after its line) of a code fence left open at the end of `text`."""
    marker: str | None = None
    body = 0
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line) + 1
        match = _FENCE.match(line)
        if match is not None:
            found = match.group(1)
            if marker is None:
                marker, body = found, end
            elif found[0] == marker[0] and len(found) >= len(marker) and not line.strip()[len(found) :]:
                marker = None
        pos = end
    return None if marker is None else (marker, min(body, len(text)))


def continuation_messages(messages: Sequence[ChatMessage], dialect: str) -> list[ChatMessage]:
    """The chat messages that ask to continue the partial reply, which is the last of
    `messages` (see the module docstring for the decision per dialect)."""
    out = list(messages)
    if dialect == "gemini":
        out.append(ChatMessage("user", CONTINUE_INSTRUCTION))
    return out


class ContinuationJoin:
    """Turns the raw text of a continuation into what is appended to `prefix`.

        join = ContinuationJoin(partial)
        for delta in stream:
            text = join.feed(delta.content)   # "" while it may still be a repetition
        text = join.finish()                   # what was held back, decided now

    Each `feed` compares only the new text with the repetitions still possible, so a long
    repetition costs its length, not its length squared.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        fence = open_fence(prefix)
        self._fence = fence[0] if fence is not None else None
        starts = _line_starts(prefix, fence[1] if fence is not None else None)
        # Texts a repetition could be, longest first: the whole reply, the open block's lines
        # to the end, the last lines.
        repeats = {prefix[s:] for s in starts if len(prefix[s:].strip()) >= _MIN_REPEAT}
        self._repeats = sorted(repeats, key=len, reverse=True)
        self._alive = list(self._repeats)  # the repetitions `_held` is still consistent with
        self._held = ""
        self._lead = ""  # a line break put before the text (a re-opened block's first line)
        self._decided = not prefix.strip()
        self._fence_pending = self._fence is not None

    def feed(self, text: str) -> str:
        """The part of the newly arrived `text` to append now."""
        if self._decided:
            return text
        if not self._fence_pending:
            self._narrow(text)
        self._held += text
        return self._decide(final=False)

    def finish(self) -> str:
        """The stream ended: what was held back, decided with what arrived."""
        if self._decided:
            return ""
        return self._decide(final=True)

    def _narrow(self, text: str) -> None:
        """Keep the repetitions that `_held + text` is still consistent with."""
        o, end = len(self._held), len(self._held) + len(text)
        self._alive = [
            r
            for r in self._alive
            if len(r) <= o
            or (r.startswith(text, o) if len(r) >= end else text.startswith(r[o:]))
        ]

    def _decide(self, *, final: bool) -> str:
        if self._fence_pending:
            stripped = self._held.lstrip("\n")
            newline = stripped.find("\n")
            marker = self._fence or "`"
            if newline < 0 and not final and (
                _may_become_fence(stripped, marker) or _may_become_lead_in(stripped)
            ):
                return ""
            if newline >= 0 and _LEAD_IN.match(stripped[:newline]):
                # A lead-in sentence: dropped with the fence that follows it, if one does.
                after = stripped[newline + 1 :].lstrip("\n")
                fence_end = after.find("\n")
                if fence_end < 0 and not final and _may_become_fence(after, marker):
                    return ""
                match = _FENCE.match(after[:fence_end]) if fence_end >= 0 else None
                if match is not None and match.group(1)[0] == marker[0]:
                    stripped = after
                    newline = fence_end
            self._fence_pending = False
            held = self._held
            match = _FENCE.match(stripped[:newline]) if newline >= 0 else None
            if match is not None and match.group(1)[0] == marker[0]:
                # The block is re-opened: drop the fence; its code goes on a line of its own
                # (unless it repeats the unfinished last line: dropped as a repetition below).
                held = stripped[newline + 1 :]
                if not self.prefix.endswith("\n"):
                    self._lead = "\n"
            self._held = ""
            self._narrow(held)
            self._held = held
        held = self._held
        pending = any(len(r) > len(held) for r in self._alive)
        if pending and not final:
            return ""
        self._decided = True
        self._held = ""
        matched = next((r for r in self._alive if len(r) <= len(held)), None)
        if matched is not None:
            return held[len(matched) :]
        if pending:  # the stream ended in the middle of a repetition: nothing new came
            return ""
        return self._lead + held


def _line_starts(text: str, block_start: int | None) -> list[int]:
    """Offsets a repetition may start at: 0, each line of the open code block, the last lines."""
    starts = [0]
    if block_start is not None:
        pos = block_start
        while 0 <= pos < len(text):
            starts.append(pos)
            nxt = text.find("\n", pos)
            pos = -1 if nxt < 0 else nxt + 1
    pos = len(text)
    for _ in range(_TAIL_LINES):
        nl = text.rfind("\n", 0, max(0, pos - 1))
        if nl < 0:
            break
        pos = nl + 1
        starts.append(pos)
    return starts


def _may_become_lead_in(text: str) -> bool:
    """True while `text` (no line break yet) could still become a lead-in line."""
    if len(text) > 240:
        return False
    head = text.lstrip().lower()
    words = ("sure", "okay", "ok", "certainly", "of course", "here", "continuing", "continued",
             "continuation", "the rest", "rest of", "picking up", "resuming")
    return any(w.startswith(head) or head.startswith(w) for w in words) and "`" not in text


def _may_become_fence(text: str, marker: str) -> bool:
    """True while `text` (no line break yet) could still be the start of a fence line."""
    body = text.lstrip(" ")
    if len(text) - len(body) > 3:
        return False
    char = marker[0]
    run = len(body) - len(body.lstrip(char))
    if run == len(body):
        return True  # only fence characters so far (or nothing)
    return run >= 3 and "`" not in body[run:]
