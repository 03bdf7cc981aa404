"""Incremental readers of a streamed reply: bytes in (any chunking), deltas out, a verdict at close.

One `StreamReader` per response, for one dialect (`OPENAI_CHAT`, `OPENAI_COMPLETION`, `GEMINI`).
The client only moves bytes into it:

    reader = StreamReader(dialect, status=200, headers=response.headers)
    for chunk in body:
        yield from reader.feed(chunk)     # then: if reader.error: raise it; if reader.done: stop
    yield from reader.close()             # then: reader.error, or reader.verdict

What it decides, all pure:
- the body's kind from the content type, else sniffed from its first bytes: an event stream, a
  whole JSON reply (a server that ignored `stream: true`; folded into deltas), or a page of the
  wrong type (HTML from a captive portal, a CDN firewall) which is an error;
- SSE decoding (BOM, line endings, comments) with caps on one line, one event and the whole body;
- `[DONE]`; error events and error objects; a `data:` line that is not JSON is skipped (logged once
  per stream) and reading goes on: proxies re-wrap comments (`data: : OPENROUTER PROCESSING`);
- inline reasoning (`<think>…</think>`, see `think.py`) moved to `reasoning` per choice;
- tool calls never glued: a fragment that reuses an index with a different `id` gets a new index
  (Gemini sends each call whole, so each gets its own);
- empty deltas (keep-alive chunks, repeated role deltas) are dropped, so nothing accumulates for an
  endless stream of empty events; the first delta of each choice is kept (model, id);
- the verdict at close: COMPLETE (`[DONE]`, or a finish reason), INCOMPLETE (the body ended with
  neither: the text is kept, the caller raises IncompleteReplyError), or an error in `error` (an
  empty reply: no parsable event, an empty body, only a role delta before `[DONE]`).

`error` is set instead of raised so that deltas returned by the same call (an error chunk that
also carries `finish_reason: "error"`) still reach the caller first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from app.core.errors import (
    APIError,
    MalformedResponseError,
    ProviderError,
    redact,
)
from app.core.protocol import gemini, openai
from app.core.protocol.errors import (
    api_error_from_json,
    api_error_from_response,
    error_info_from_json,
)
from app.core.protocol.json_body import aloads_in_pieces
from app.core.protocol.sse import SSEDecoder, SSEEvent, SSELimitError
from app.core.protocol.think import ThinkSplitter
from app.core.protocol.types import ChatDelta, ChatResult, ToolCallDelta

__all__ = [
    "EMPTY_REPLY",
    "MB",
    "Dialect",
    "StreamLimits",
    "StreamReader",
    "Verdict",
    "adecode_json_body",
    "decode_json_body",
    "has_output",
    "result_deltas",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024
EMPTY_REPLY = (
    "The provider sent an empty reply (no text). Try again; if it keeps happening, check the model "
    "and that the base URL points at an OpenAI-compatible or Gemini API."
)
_SSE_FIELD_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
_BOM = b"\xef\xbb\xbf"
_MAX_WRONG_BODY = 64 * 1024
_MAX_CHOICES = 64


class Dialect(StrEnum):
    OPENAI_CHAT = "openai_chat"
    OPENAI_COMPLETION = "openai_completion"
    GEMINI = "gemini"


class Verdict(StrEnum):
    OPEN = "open"  # not closed yet
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    ERROR = "error"


class StreamLimits:
    """Caps on what one stream may make the client hold (bytes)."""

    def __init__(
        self,
        *,
        max_line: int = 8 * MB,
        max_event: int = 16 * MB,
        max_body: int = 256 * MB,
        max_json_body: int = 64 * MB,
    ) -> None:
        self.max_line = max_line
        self.max_event = max_event
        self.max_body = max_body
        self.max_json_body = max_json_body


def has_output(delta: ChatDelta) -> bool:
    """Text the user sees (or a tool call): once yielded, the request can no longer be retried."""
    return bool(delta.content or delta.reasoning or delta.refusal or delta.tool_calls)


def result_deltas(result: ChatResult) -> list[ChatDelta]:
    """A whole reply as deltas (a non-streamed reply shown through the streaming path)."""
    deltas = [
        ChatDelta(
            index=choice.index,
            content=choice.content,
            reasoning=choice.reasoning,
            refusal=choice.refusal,
            tool_calls=[
                ToolCallDelta(
                    index=call.index, id=call.id, type=call.type, name=call.name, arguments=call.arguments
                )
                for call in choice.tool_calls
            ],
            finish_reason=choice.finish_reason,
            model=result.model,
            id=result.id,
        )
        for choice in result.choices
    ]
    if result.usage is not None:
        deltas.append(ChatDelta(usage=result.usage, model=result.model, id=result.id))
    return deltas


def _json_text(status: int, body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if not text:
        raise MalformedResponseError(
            "The provider sent an empty reply. Check that the base URL points at an "
            "OpenAI-compatible or Gemini API.",
            status=status,
        )
    return text


def _unexpected_body(
    status: int, headers: Mapping[str, str], body: bytes, what: str
) -> ProviderError:
    """A reply body that is not what the request asked for. A firewall's or proxy's block page
    keeps its own error; anything else is a MalformedResponseError saying what came instead:
    `what` is a sentence with a `{content_type}` field."""
    summary = api_error_from_response(status, headers, body)
    if summary.code and summary.code.startswith("firewall"):
        return summary
    content_type = _content_type(headers) or "no content type"
    return MalformedResponseError(
        what.format(content_type=content_type)
        + " Check that the base URL points at an OpenAI-compatible or Gemini API.",
        status=status,
        provider_message=summary.provider_message,
    )


def _not_json(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return _unexpected_body(
        status, headers, body, "The server answered with {content_type} that is not valid JSON."
    )


def _checked(status: int, headers: Mapping[str, str], obj: Any) -> Any:
    if error_info_from_json(obj) is not None:
        raise api_error_from_json(status, obj, headers)
    return obj


def decode_json_body(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """The JSON of a whole reply body; an empty, non-JSON or error body raises its known error."""
    text = _json_text(status, body)
    try:
        obj = json.loads(text)
    except ValueError:
        raise _not_json(status, headers, body) from None
    return _checked(status, headers, obj)


async def adecode_json_body(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """`decode_json_body` for a big body (a batch of embeddings), decoded in slices on the running
    loop so it never stalls it (`json_body.aloads_in_pieces`): the same value, the same errors."""
    text = _json_text(status, body)
    try:
        obj = await aloads_in_pieces(text)
    except ValueError:
        raise _not_json(status, headers, body) from None
    return _checked(status, headers, obj)


def _content_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if str(name).lower() == "content-type":
            return str(value).split(";")[0].strip().lower()
    return ""


def wrong_type_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """A streaming request answered with a page that is neither an event stream nor JSON."""
    return _unexpected_body(
        status,
        headers,
        body,
        "The server answered a streaming request with {content_type} instead of an event stream.",
    )


class _Choice:
    """Per-choice state: the think splitter, tool-call index map, what was seen."""

    def __init__(self, index: int, split: bool) -> None:
        self.index = index
        self.splitter = ThinkSplitter() if split else None
        self.seen = False
        self.calls: dict[int, tuple[int, str | None]] = {}  # wire index -> (our index, id)
        self.next_call = 0


class StreamReader:
    """Bytes of one streamed reply in, ChatDeltas out; see the module docstring."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        limits: StreamLimits | None = None,
    ) -> None:
        self.dialect = dialect
        self.status = status
        self.headers: Mapping[str, str] = dict(headers or {})
        self.limits = limits or StreamLimits()
        content_type = _content_type(self.headers)
        if "json" in content_type and "ndjson" not in content_type:
            self._mode = "json"
        elif content_type in ("text/html", "application/xhtml+xml"):
            self._mode = "wrong"
        elif content_type == "text/event-stream":
            self._mode = "sse"
        else:
            self._mode = "sniff"  # no or an odd content type (some local servers): look at the bytes
        self._decoder = SSEDecoder(max_line=self.limits.max_line, max_event=self.limits.max_event)
        self._buffer = bytearray()  # sniffed head, a whole JSON body or a wrong page
        self._choices: dict[int, _Choice] = {}
        self._received = 0
        #: True after `[DONE]`: the caller may stop reading.
        self.done = False
        #: The error that ended the stream (set instead of raised; see the module docstring).
        self.error: ProviderError | None = None
        self.verdict = Verdict.OPEN
        #: Text or tool calls were returned (a retry would now duplicate them).
        self.produced = False
        self.skipped_lines = 0
        self.events = 0
        self._usable = False
        self._finish: str | None = None

    @property
    def finish_reason(self) -> str | None:
        return self._finish

    @property
    def buffered(self) -> int:
        """Bytes held for lines, events or a whole body not yet complete."""
        return len(self._buffer) + self._decoder.buffered

    # --- feeding ------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[ChatDelta]:
        if self.error is not None or self.verdict != Verdict.OPEN or not chunk:
            return []
        self._received += len(chunk)
        if self._mode == "json":
            if self._received > self.limits.max_json_body:
                self._fail(self._too_big(self.limits.max_json_body))
                return []
            self._buffer += chunk
            return []
        if self._mode == "wrong":
            self._buffer += chunk[: max(0, _MAX_WRONG_BODY - len(self._buffer))]
            if len(self._buffer) >= _MAX_WRONG_BODY:
                self._fail(wrong_type_error(self.status, self.headers, bytes(self._buffer)))
            return []
        if self._received > self.limits.max_body:
            self._fail(self._too_big(self.limits.max_body))
            return []
        if self._mode == "sniff":
            self._buffer += chunk
            start = bytes(self._buffer).lstrip(_BOM + b" \t\r\n")
            if len(start) < 6:
                if len(self._buffer) > _MAX_WRONG_BODY:  # endless whitespace
                    self._fail(self._empty())
                return []
            if start.startswith(_SSE_FIELD_STARTS):
                self._mode = "sse"
                chunk = bytes(self._buffer)
                self._buffer.clear()
            elif start[:1] in (b"{", b"["):
                self._mode = "json"
                return []
            else:
                self._mode = "wrong"
                head = bytes(self._buffer)
                self._buffer.clear()
                return self.feed_wrong(head)
        try:
            events = self._decoder.feed(chunk)
        except SSELimitError as exc:
            self._fail(self._limit_error(exc))
            return []
        return self._events(events)

    def feed_wrong(self, head: bytes) -> list[ChatDelta]:
        self._buffer += head[:_MAX_WRONG_BODY]
        if len(self._buffer) >= _MAX_WRONG_BODY:
            self._fail(wrong_type_error(self.status, self.headers, bytes(self._buffer)))
        return []

    def close(self) -> list[ChatDelta]:
        """End of body: the last deltas; then `error` or `verdict` says how the stream ended."""
        if self.error is not None or self.verdict != Verdict.OPEN:
            return []
        out: list[ChatDelta] = []
        if self._mode == "sniff":
            if bytes(self._buffer).strip(_BOM + b" \t\r\n"):
                self._mode = "wrong"
            else:
                self._fail(self._empty())
                return []
        if self._mode == "wrong":
            self._fail(wrong_type_error(self.status, self.headers, bytes(self._buffer)))
            return []
        if self._mode == "json":
            return self._close_json()
        if not self.done:
            try:
                out.extend(self._events(self._decoder.flush()))
            except SSELimitError as exc:
                self._fail(self._limit_error(exc))
                return out
            if self.error is not None:
                return out
        for choice in self._choices.values():
            if choice.splitter is not None:
                content, reasoning = choice.splitter.flush()
                if content or reasoning:
                    out.append(ChatDelta(index=choice.index, content=content, reasoning=reasoning))
                    self._usable = True
                    self.produced = True
        self._decide()
        return out

    def salvage(self) -> list[ChatDelta]:
        """Text still held back (a possible think tag) when the stream ends in an error: the
        caller yields it before raising, so what arrived is kept."""
        out: list[ChatDelta] = []
        for choice in self._choices.values():
            if choice.splitter is not None:
                content, reasoning = choice.splitter.flush()
                if content or reasoning:
                    out.append(ChatDelta(index=choice.index, content=content, reasoning=reasoning))
        return out

    # --- internals ----------------------------------------------------------------------------

    def _fail(self, error: ProviderError) -> None:
        self.error = error
        self.verdict = Verdict.ERROR
        self._buffer = bytearray()

    def _too_big(self, limit: int) -> MalformedResponseError:
        kept = " What arrived was kept." if self.produced else ""
        return MalformedResponseError(
            f"The reply grew larger than {limit // MB} MB, so the app stopped reading it.{kept} "
            "Check the server or proxy; it may be misbehaving.",
            status=self.status,
        )

    def _limit_error(self, exc: SSELimitError) -> MalformedResponseError:
        kept = " What arrived was kept." if self.produced else ""
        return MalformedResponseError(
            f"The server sent one stream {exc.what} larger than {exc.limit // MB} MB, so the app "
            f"stopped reading it.{kept} Check the server or proxy; it may be misbehaving.",
            status=self.status,
        )

    def _empty(self) -> MalformedResponseError:
        detail = None
        if self.skipped_lines:
            detail = f"{self.skipped_lines} stream line(s) were not JSON and were skipped"
        return MalformedResponseError(EMPTY_REPLY, status=self.status, detail=detail)

    def _close_json(self) -> list[ChatDelta]:
        try:
            obj = decode_json_body(self.status, self.headers, bytes(self._buffer))
            if self.dialect == Dialect.GEMINI:
                result = gemini.parse_generate_response(obj)
            elif self.dialect == Dialect.OPENAI_COMPLETION:
                result = openai.parse_completion_response(obj)
            else:
                result = openai.parse_chat_response(obj)
        except ProviderError as error:
            self._fail(error)
            return []
        self._buffer = bytearray()
        deltas = result_deltas(result)
        if not any(has_output(d) for d in deltas) and not any(
            d.finish_reason not in (None, "stop") for d in deltas
        ):
            self._fail(self._empty())
            return []
        self.produced = True
        self.verdict = Verdict.COMPLETE
        self._finish = result.finish_reason
        return deltas

    def _decide(self) -> None:
        # A finish reason other than "stop" explains an empty reply (length, a content filter,
        # "error"): the caller shows that reason, so it is not "empty".
        if not self._usable and self._finish in (None, "stop"):
            self._fail(self._empty())
            return
        if self.done or self._finish is not None:
            self.verdict = Verdict.COMPLETE
        else:
            self.verdict = Verdict.INCOMPLETE

    def _events(self, events: list[SSEEvent]) -> list[ChatDelta]:
        out: list[ChatDelta] = []
        for event in events:
            if self.done or self.error is not None:
                break
            self.events += 1
            try:
                out.extend(self._event(event))
            except ProviderError as error:
                self._fail(error)
                break
        return out

    def _event(self, event: SSEEvent) -> list[ChatDelta]:
        data = event.data
        if self.dialect != Dialect.GEMINI and openai.is_done(data):
            self.done = True
            return []
        try:
            obj = json.loads(data)
        except ValueError:
            if event.event == "error":
                raise api_error_from_response(self.status, {}, data.encode("utf-8")) from None
            self.skipped_lines += 1
            if self.skipped_lines == 1:
                log.warning("skipped a stream line that is not JSON: %.200s", redact(data))
            return []
        if event.event == "error" and error_info_from_json(obj) is not None:
            raise api_error_from_json(self.status, obj)
        failure: APIError | None = None
        if isinstance(obj, dict) and "error" in obj and isinstance(obj.get("choices"), list):
            # OpenRouter's mid-stream error: an `error` object next to a choice whose finish
            # reason is "error". The finish reason is recorded, then the error ends the stream.
            failure = api_error_from_json(self.status, obj)
            obj = {k: v for k, v in obj.items() if k != "error"}
        deltas = self._parse(obj)
        out = self._shape(deltas)
        if failure is not None:
            self.error = failure
            self.verdict = Verdict.ERROR
        return out

    def _parse(self, obj: Any) -> list[ChatDelta]:
        if self.dialect == Dialect.GEMINI:
            return gemini.parse_stream_chunk(obj)
        if self.dialect == Dialect.OPENAI_COMPLETION:
            return openai.parse_completion_chunk(obj)
        return openai.parse_chat_chunk(obj)

    def _choice(self, index: int) -> _Choice | None:
        choice = self._choices.get(index)
        if choice is None:
            if len(self._choices) >= _MAX_CHOICES:
                return None  # a server inventing choices without end
            choice = self._choices[index] = _Choice(index, self.dialect != Dialect.OPENAI_COMPLETION)
        return choice

    def _shape(self, deltas: list[ChatDelta]) -> list[ChatDelta]:
        out: list[ChatDelta] = []
        for delta in deltas:
            if delta.usage is not None and not (has_output(delta) or delta.finish_reason):
                out.append(delta)  # usage-only: belongs to no choice
                continue
            choice = self._choice(delta.index)
            if choice is None:
                continue
            if choice.splitter is not None and delta.content:
                content, inline = choice.splitter.feed(delta.content)
                delta.content = content
                delta.reasoning += inline
                if choice.splitter.moved:
                    choice.splitter.moved = False
                    delta.content_is_reasoning = True
            if delta.tool_calls:
                delta.tool_calls = [self._call(choice, call) for call in delta.tool_calls]
            if delta.finish_reason:
                self._finish = delta.finish_reason
            first = not choice.seen
            choice.seen = True
            if has_output(delta):
                self._usable = True
                self.produced = True
            elif delta.is_empty() and not first:
                continue  # a keep-alive or a repeated role delta: nothing to keep
            out.append(delta)
        return out

    def _call(self, choice: _Choice, call: ToolCallDelta) -> ToolCallDelta:
        if self.dialect == Dialect.GEMINI:
            # Each call arrives whole; positions restart at 0 in every chunk.
            call.index = choice.next_call
            choice.next_call += 1
            return call
        known = choice.calls.get(call.index)
        if known is None or (call.id and known[1] and call.id != known[1]):
            # A new call, or the index reused by a different call: never glue the two.
            ours = choice.next_call
            choice.next_call += 1
            choice.calls[call.index] = (ours, call.id)
        else:
            ours = known[0]
            if call.id and not known[1]:
                choice.calls[call.index] = (ours, call.id)
        call.index = ours
        return call

