"""Folds a stream of ChatDeltas into the ChatResult a non-streamed request would have returned.

Dialect-neutral: the OpenAI and Gemini parsers both emit ChatDeltas. Used by the client for
non-streamed fallbacks and by the chat service for the final record of a streamed reply.

Text is collected as lists of fragments and joined once in `result()`, so folding a reply of N
fragments costs O(N) however often `result()` is not called mid-stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    index: int
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    tool_calls: dict[int, _ToolCallParts] = field(default_factory=dict)
    finish_reason: str | None = None

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
        if delta.content:
            choice.content.append(delta.content)
        if delta.reasoning:
            choice.reasoning.append(delta.reasoning)
        if delta.refusal:
            choice.refusal.append(delta.refusal)
        for call in delta.tool_calls:
            parts = choice.tool_calls.get(call.index)
            if parts is None:
                parts = choice.tool_calls[call.index] = _ToolCallParts(index=call.index)
            parts.add(call)
        if delta.finish_reason:
            choice.finish_reason = delta.finish_reason

    def add_all(self, deltas: list[ChatDelta]) -> None:
        for delta in deltas:
            self.add(delta)

    def result(self) -> ChatResult:
        """What has arrived so far, as one reply (choices ordered by index)."""
        return ChatResult(
            id=self._id,
            model=self._model,
            choices=[self._choices[i].build() for i in sorted(self._choices)],
            usage=self._usage,
        )

    def choice(self, index: int = 0) -> Choice:
        """Choice `index` as it stands so far (an empty Choice before any of its deltas)."""
        parts = self._choices.get(index)
        return parts.build() if parts is not None else Choice(index=index)
