"""Inline reasoning: splitting `<think>…</think>` (and `<thinking>`, `<reasoning>`) out of reply text.

Many open models (DeepSeek-R1 distills, Qwen3, QwQ) and some proxies write their reasoning into the
content. `ThinkSplitter` is incremental: `feed(text)` takes content fragments as they stream (a tag
may be split across fragments) and returns `(content, reasoning)` ready to show; `flush()` ends the
reply. `split_think(text)` does the same for a whole, non-streamed reply.

Rules:
- An opening tag outside a fenced code block starts reasoning; the matching family of closing tags
  (`</think>`, `</thinking>`, `</reasoning>`) ends it. Tags are matched case-insensitively and never
  appear in either output.
- A reply that starts with reasoning and a bare closing tag (the chat template already opened
  `<think>`) puts everything before that tag into reasoning. While streaming this can only be known
  when the tag arrives. The start of a reply is held back for at most `undecided_limit`
  characters (0 by default: no added latency); text released before the tag went out as content,
  so the splitter then sets `moved` (once): "everything this choice showed as content so far is
  reasoning". The stream reader passes that on as `ChatDelta.content_is_reasoning` and the fold
  (`ChatAccumulator`) moves the text. Not after a code fence or an opening tag (that text was an
  answer). A whole reply (`split_think`) needs none of this.
- Inside a fenced code block (```) of the answer, tags are text.
- Whitespace right after a closing tag (the "\n\n" models put there) is not content.
"""

from __future__ import annotations

__all__ = ["CLOSE_TAGS", "OPEN_TAGS", "ThinkSplitter", "split_think"]

OPEN_TAGS = ("<think>", "<thinking>", "<reasoning>")
CLOSE_TAGS = ("</think>", "</thinking>", "</reasoning>")
_FENCE = "```"
_ALL_MARKERS = OPEN_TAGS + CLOSE_TAGS + (_FENCE,)
_LONGEST = max(len(m) for m in _ALL_MARKERS)

_START, _CONTENT, _REASONING = "start", "content", "reasoning"


def _find_first(lowered: str, markers: tuple[str, ...], start: int = 0) -> tuple[int, str]:
    """(position, marker) of the earliest marker in `lowered`, or (-1, "")."""
    best, found = -1, ""
    for marker in markers:
        pos = lowered.find(marker, start)
        if pos != -1 and (best == -1 or pos < best or (pos == best and len(marker) > len(found))):
            best, found = pos, marker
    return best, found


def _partial_tail(lowered: str, markers: tuple[str, ...]) -> int:
    """Length of the longest suffix of `lowered` that is a proper prefix of some marker."""
    for size in range(min(len(lowered), _LONGEST - 1), 0, -1):
        tail = lowered[-size:]
        if any(m.startswith(tail) and m != tail for m in markers):
            return size
    return 0


class ThinkSplitter:
    """Incremental splitter of reply text into (content, reasoning)."""

    def __init__(self, *, undecided_limit: int | None = 0) -> None:
        self._state = _START
        self._opened = False  # an opening tag or a fence was seen: no bare close can move text
        self._emitted = False  # content was returned by an earlier call
        self._moved_once = False
        #: Set by the call that found a bare closing tag after content was released: the content
        #: returned by earlier calls is reasoning. The caller reads and clears it.
        self.moved = False
        self._pending = ""
        self._in_fence = False
        self._strip_leading = False  # just left reasoning: drop whitespace before the answer
        self._limit = undecided_limit

    @property
    def held(self) -> int:
        """Characters held back (bounded by `undecided_limit` plus one tag)."""
        return len(self._pending)

    def feed(self, text: str) -> tuple[str, str]:
        if not text:
            return "", ""
        if (
            self._state == _CONTENT
            and not self._pending
            and not self._strip_leading
            and "<" not in text
            and "`" not in text
        ):
            # The common case while an answer streams: nothing that could start a tag or fence.
            self._emitted = True
            return text, ""
        self._pending += text
        return self._run(final=False)

    def flush(self) -> tuple[str, str]:
        return self._run(final=True)

    # --- the state machine --------------------------------------------------------------------

    def _run(self, *, final: bool) -> tuple[str, str]:
        content: list[str] = []
        reasoning: list[str] = []
        buf = self._pending
        while buf:
            lowered = buf.lower()
            if self._state == _START:
                stripped = lowered.lstrip()
                lead = len(lowered) - len(stripped)
                opener = next((t for t in OPEN_TAGS if stripped.startswith(t)), "")
                if opener:
                    self._state = _REASONING
                    self._opened = True
                    buf = buf[lead + len(opener) :]
                    continue
                if not final and any(t.startswith(stripped) for t in OPEN_TAGS):
                    break  # maybe an opening tag split across fragments
                close_at, closer = _find_first(lowered, CLOSE_TAGS)
                fence_at = lowered.find(_FENCE)
                open_at, _ = _find_first(lowered, OPEN_TAGS)
                if close_at != -1 and (fence_at == -1 or close_at < fence_at) and (
                    open_at == -1 or close_at < open_at
                ):
                    # A bare closing tag: what came before it was reasoning.
                    reasoning.append(buf[:close_at])
                    buf = buf[close_at + len(closer) :]
                    self._state = _CONTENT
                    self._strip_leading = True
                    self._moved_once = True
                    continue
                if fence_at != -1 or open_at != -1 or final or (
                    self._limit is not None and len(buf.lstrip()) > self._limit
                ):
                    self._state = _CONTENT
                    continue
                break  # undecided: hold it
            if self._state == _REASONING:
                close_at, closer = _find_first(lowered, CLOSE_TAGS)
                if close_at != -1:
                    reasoning.append(buf[:close_at])
                    buf = buf[close_at + len(closer) :]
                    self._state = _CONTENT
                    self._strip_leading = True
                    continue
                keep = 0 if final else _partial_tail(lowered, CLOSE_TAGS)
                reasoning.append(buf[: len(buf) - keep])
                buf = buf[len(buf) - keep :]
                break
            # _CONTENT
            if self._strip_leading:
                trimmed = buf.lstrip()
                if not trimmed and not final:
                    buf = ""
                    break
                buf, lowered = trimmed, lowered[len(lowered) - len(trimmed) :]
                self._strip_leading = False
                if not buf:
                    break
            markers = (_FENCE,) if self._in_fence else _ALL_MARKERS
            at, marker = _find_first(lowered, markers)
            if at == -1:
                keep = 0 if final else _partial_tail(lowered, markers)
                content.append(buf[: len(buf) - keep])
                buf = buf[len(buf) - keep :]
                break
            content.append(buf[:at])
            buf = buf[at + len(marker) :]
            if marker == _FENCE:
                self._in_fence = not self._in_fence
                self._opened = True
                content.append(_FENCE)
            elif marker in OPEN_TAGS:
                self._state = _REASONING
                self._opened = True
            else:
                if not self._opened and not self._moved_once:
                    # Reasoning without its opening tag, already (partly) shown as content.
                    self._moved_once = True
                    reasoning.extend(content)
                    content.clear()
                    if self._emitted:
                        self.moved = True
                self._strip_leading = True  # the closing tag itself is never shown
        self._pending = buf
        if any(content):
            self._emitted = True
        return "".join(content), "".join(reasoning)


def split_think(text: str) -> tuple[str, str]:
    """(content, reasoning) of a whole reply's text."""
    if not text or "<" not in text:
        return text, ""
    splitter = ThinkSplitter(undecided_limit=None)
    content, reasoning = splitter.feed(text)
    tail_content, tail_reasoning = splitter.flush()
    return content + tail_content, reasoning + tail_reasoning
