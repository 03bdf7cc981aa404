"""Folds a stream of ChatDeltas into the ChatResult a non-streamed request would have returned.

Dialect-neutral: the OpenAI and Gemini parsers both emit ChatDeltas. Used by the client for
non-streamed fallbacks and by the chat service for the final record of a streamed reply.

Text is collected as lists of fragments and joined once in `result()`, so folding a reply of N
fragments costs O(N) however often `result()` is not called mid-stream.

This is THE fold of a reply (the chat service folds with it too): per choice it keeps content,
reasoning, refusal, tool calls and the finish reason, plus the reply's usage, model and id; it can
start from a stored partial reply (`resume`, for Continue) and counts the characters this request
added (`new_chars`, for the output speed). Tool calls are never glued: a fragment that reuses an
index with a different `id` starts a new call. Notice deltas (retry waits) carry no reply and are
ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.core.errors import ContentBlockedError
from app.core.protocol.gemini import BLOCKED_FINISH_REASONS, content_blocked_error
from app.core.protocol.types import ChatDelta, ChatResult, Choice, ToolCall, ToolCallDelta, Usage

__all__ = ["ChatAccumulator", "merge_tool_call_fields"]


def merge_tool_call_fields(call: ToolCall | _ToolCallParts, delta: ToolCallDelta) -> None:
    """Fold a streamed tool-call fragment's id, type and name into `call` (arguments are the
    caller's: appended to a string or a list of fragments).

    Ids and names arrive once, on the first fragment; later fragments carry only arguments.
    OpenAI sends the name whole, once; some servers repeat it on every fragment (kept once) and
    a few stream it in pieces (joined).
    """
    if delta.id:
        call.id = delta.id
    if delta.type:
        call.type = delta.type
    if delta.name and delta.name != call.name:
        call.name += delta.name


@dataclass
class _ToolCallParts:
    """The pieces of one streamed tool call, joined as they arrive."""

    index: int
    id: str | None = None
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: ToolCallDelta) -> None:
        merge_tool_call_fields(self, delta)
        if delta.arguments:
            self.arguments.append(delta.arguments)

    def build(self) -> ToolCall:
        return ToolCall(
            index=self.index,
            id=self.id,
            type=self.type,
            name=self.name,
            arguments="".join(self.arguments),
        )


@dataclass
class _ChoiceParts:
    """The pieces of one streamed choice, joined as they arrive."""

    index: int
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    tool_calls: dict[int, _ToolCallParts] = field(default_factory=dict)
    finish_reason: str | None = None
    # Wire index of a streamed tool call -> the key it is folded under (see `_call_parts`).
    wire_calls: dict[int, int] = field(default_factory=dict)
    new_chars: int = 0

    def call_parts(self, delta: ToolCallDelta) -> _ToolCallParts:
        key = self.wire_calls.get(delta.index)
        parts = self.tool_calls.get(key) if key is not None else None
        if parts is None or (delta.id and parts.id and delta.id != parts.id):
            # A new call, or an index reused by a different call: never glue the two.
            key = max(self.tool_calls, default=-1) + 1 if parts is not None else delta.index
            while key in self.tool_calls:
                key += 1
            self.wire_calls[delta.index] = key
            parts = self.tool_calls[key] = _ToolCallParts(index=key)
        return parts

    def build(self) -> Choice:
        return Choice(
            index=self.index,
            content=_joined(self.content),
            reasoning=_joined(self.reasoning),
            refusal=_joined(self.refusal),
            tool_calls=[self.tool_calls[i].build() for i in sorted(self.tool_calls)],
            finish_reason=self.finish_reason,
        )


def _joined(fragments: list[str]) -> str:
    """The fragments as one string, kept as the only fragment: a reader that asks for the text
    after every delta (the chat service's progress) copies it once per ask, not re-joins all."""
    if len(fragments) > 1:
        fragments[:] = ["".join(fragments)]
    return fragments[0] if fragments else ""


def _is_usage_only(delta: ChatDelta) -> bool:
    return delta.usage is not None and not (
        delta.content or delta.reasoning or delta.refusal or delta.tool_calls or delta.finish_reason
    )


class ChatAccumulator:
    """Collects deltas by choice index (and tool calls by tool index) into one ChatResult."""

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceParts] = {}
        self._usage: Usage | None = None
        self._model: str | None = None
        self._id: str | None = None

    def add(self, delta: ChatDelta) -> None:
        if delta.notice is not None and delta.is_empty():
            return  # a retry wait or the switch to an unstreamed request: no reply in it
        if delta.model:
            self._model = delta.model
        if delta.id:
            self._id = delta.id
        if delta.usage is not None:
            # Providers report cumulative usage; the latest report is the whole reply's.
            self._usage = delta.usage
        if _is_usage_only(delta):
            return  # a usage-only chunk belongs to no choice
        choice = self._choices.get(delta.index)
        if choice is None:
            choice = self._choices[delta.index] = _ChoiceParts(index=delta.index)
        if delta.content_is_reasoning:
            # Reasoning without its opening tag was shown as content until `</think>` came.
            choice.reasoning.extend(choice.content)
            choice.content.clear()
        if delta.content:
            choice.content.append(delta.content)
        if delta.reasoning:
            choice.reasoning.append(delta.reasoning)
        if delta.refusal:
            choice.refusal.append(delta.refusal)
        choice.new_chars += len(delta.content) + len(delta.reasoning) + len(delta.refusal)
        for call in delta.tool_calls:
            choice.call_parts(call).add(call)
        if delta.finish_reason:
            choice.finish_reason = delta.finish_reason

    def add_all(self, deltas: list[ChatDelta]) -> None:
        for delta in deltas:
            self.add(delta)

    def resume(
        self,
        index: int = 0,
        *,
        content: str = "",
        reasoning: str = "",
        refusal: str = "",
        tool_calls: list[ToolCall] | None = None,
    ) -> None:
        """Start choice `index` from a stored partial reply (Continue appends to it)."""
        choice = self._choices[index] = _ChoiceParts(index=index)
        for text, parts in ((content, choice.content), (reasoning, choice.reasoning), (refusal, choice.refusal)):
            if text:
                parts.append(text)
        for call in tool_calls or []:
            parts = choice.tool_calls[call.index] = _ToolCallParts(
                index=call.index, id=call.id, type=call.type, name=call.name
            )
            if call.arguments:
                parts.arguments.append(call.arguments)
            choice.wire_calls[call.index] = call.index

    @property
    def indexes(self) -> list[int]:
        """The choice indexes seen so far, in order."""
        return sorted(self._choices)

    @property
    def usage(self) -> Usage | None:
        return self._usage

    @property
    def model(self) -> str | None:
        return self._model

    def choice(self, index: int = 0) -> Choice:
        """Choice `index` so far (an empty Choice when nothing arrived for it)."""
        parts = self._choices.get(index)
        return parts.build() if parts is not None else Choice(index=index)

    def finish_reason(self, index: int = 0) -> str | None:
        parts = self._choices.get(index)
        return parts.finish_reason if parts is not None else None

    def new_chars(self, index: int = 0) -> int:
        """Characters of text this fold received for `index` (not counting a resumed prefix)."""
        parts = self._choices.get(index)
        return parts.new_chars if parts is not None else 0

    def blocked_error(self, index: int = 0) -> ContentBlockedError | None:
        """The filter's error when choice `index` ended on a blocked finish reason with no text."""
        choice = self.choice(index)
        reason = (choice.finish_reason or "").lower()
        if reason in BLOCKED_FINISH_REASONS and not (choice.content or choice.refusal or choice.tool_calls):
            return content_blocked_error(choice.finish_reason)
        return None

    def tool_call_records(self, index: int = 0) -> list[dict[str, Any]]:
        """Choice `index`'s tool calls as plain dicts (how the store keeps them)."""
        return [asdict(call) for call in self.choice(index).tool_calls]

    def result(self) -> ChatResult:
        """What has arrived so far, as one reply (choices ordered by index)."""
        return ChatResult(
            id=self._id,
            model=self._model,
            choices=[self._choices[i].build() for i in sorted(self._choices)],
            usage=self._usage,
        )
