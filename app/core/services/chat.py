"""The chat use case: send a message, stream the reply, and journal it to SQLite as it arrives.

    service = ChatService(db, client_for)          # client_for(profile_id) -> ProviderClient
    async with contextlib.aclosing(service.send(thread_id, "Hello")) as progress:
        async for p in progress:                   # one ReplyProgress per delta, then a final
            view.show(p.content)                   # one with done=True (the UI throttles)

The reply's row is written with status `streaming` before the request goes out, its text is
saved at most every `journal_interval` seconds while it streams (so a crash or kill leaves the
partial reply on disk) and once more at the end with the final status:

- `complete`  the stream ended normally;
- `error`     a known error (`SwitchboardError`) stopped it: the partial text is kept, the error
              sentence is stored in `error`, a final progress carries the error, nothing is raised;
- `cancelled` the consuming task was cancelled (Stop) or the iterator was closed early: the
              partial text is kept and the cancellation propagates;
- `interrupted` set at the next start-up by `recover_interrupted()` for rows a crash left
              `streaming`.

A bug (any other exception) marks the row `error` and propagates.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from app.core.errors import ConfigError, StorageError, SwitchboardError
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ContentPart,
    GenerationParams,
    ImagePart,
    TextPart,
    ToolCall,
    Usage,
)
from app.core.store.db import Database
from app.core.store.records import Message, MessageStatus
from app.core.store.threads import ThreadRepository

__all__ = [
    "ChatService",
    "ChatStreamClient",
    "ReplyProgress",
    "build_context",
    "parts_from_records",
    "parts_to_records",
]

log = logging.getLogger(__name__)


class ChatStreamClient(Protocol):
    """What the service needs of a provider client (`app.core.client.ProviderClient` fits)."""

    def chat_stream(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[ChatDelta]: ...


ClientFor = Callable[[str], "ChatStreamClient | Awaitable[ChatStreamClient]"]


@dataclass
class ReplyProgress:
    """The state of a reply after one delta (or at the end, `done=True`).

    `content`/`reasoning` are the whole text so far; `content_delta`/`reasoning_delta` only what
    this step added, for views that append. `error` is set only on the final progress of a reply
    stopped by a known error.
    """

    user_message: Message
    assistant_message_id: int
    content: str
    reasoning: str
    finish_reason: str | None = None
    usage: Usage | None = None
    done: bool = False
    error: SwitchboardError | None = None
    content_delta: str = ""
    reasoning_delta: str = ""
    refusal: str = ""
    status: MessageStatus = "streaming"


# --- attachments ------------------------------------------------------------------------------


def parts_to_records(content: str | Sequence[ContentPart]) -> tuple[str, list[dict[str, Any]]]:
    """Split a user message into its text and its attachments as JSON-able dicts."""
    if isinstance(content, str):
        return content, []
    text = "".join(p.text for p in content if isinstance(p, TextPart))
    records: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, ImagePart):
            record: dict[str, Any] = {"type": "image", "mime": part.mime}
            if part.data is not None:
                record["data_b64"] = base64.b64encode(part.data).decode("ascii")
            if part.url:
                record["url"] = part.url
            records.append(record)
    return text, records


def parts_from_records(records: Sequence[dict[str, Any]]) -> list[ContentPart]:
    """The attachments stored with a message, as content parts (unknown kinds are skipped)."""
    parts: list[ContentPart] = []
    for record in records:
        if record.get("type") != "image":
            continue
        data = record.get("data_b64")
        parts.append(
            ImagePart(
                mime=record.get("mime", "image/png"),
                data=base64.b64decode(data) if data else None,
                url=record.get("url"),
            )
        )
    return parts


def build_context(system_prompt: str, path: Sequence[Message]) -> list[ChatMessage]:
    """The messages sent to the model: the system prompt, then the path root..leaf.

    Messages with neither text nor attachments (e.g. a reply that failed before any output)
    are left out; reasoning is never sent back.
    """
    messages: list[ChatMessage] = []
    if system_prompt.strip():
        messages.append(ChatMessage("system", system_prompt))
    for message in path:
        attachments = parts_from_records(message.parts)
        if not message.content and not attachments:
            continue
        if attachments:
            body: list[ContentPart] = []
            if message.content:
                body.append(TextPart(message.content))
            body.extend(attachments)
            messages.append(ChatMessage(message.role, body))
        else:
            messages.append(ChatMessage(message.role, message.content))
    return messages


# --- folding deltas ---------------------------------------------------------------------------


@dataclass
class _ReplyFold:
    """The first choice of a streamed reply, built up delta by delta."""

    content: str = ""
    reasoning: str = ""
    refusal: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)

    def add(self, delta: ChatDelta) -> None:
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.index != 0:  # the chat view shows one choice
            return
        self.content += delta.content
        self.reasoning += delta.reasoning
        self.refusal += delta.refusal
        if delta.finish_reason:
            self.finish_reason = delta.finish_reason
        for part in delta.tool_calls:
            call = self.tool_calls.setdefault(part.index, ToolCall(index=part.index))
            call.id = part.id or call.id
            call.type = part.type or call.type
            call.name += part.name or ""
            call.arguments += part.arguments

    def tool_call_records(self) -> list[dict[str, Any]]:
        return [asdict(self.tool_calls[i]) for i in sorted(self.tool_calls)]


# --- the service ------------------------------------------------------------------------------


class ChatService:
    """Sends chat messages and records the streamed replies."""

    def __init__(
        self,
        db_or_repo: Database | ThreadRepository,
        client_for: ClientFor,
        *,
        journal_interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threads = (
            db_or_repo if isinstance(db_or_repo, ThreadRepository) else ThreadRepository(db_or_repo)
        )
        self._client_for = client_for
        self.journal_interval = journal_interval
        self._clock = clock

    async def recover_interrupted(self) -> int:
        """At start-up: replies a crash left `streaming` become `interrupted`. Returns count."""
        return await self.threads.mark_streaming_interrupted()

    async def send(
        self,
        thread_id: int,
        content: str | list[ContentPart],
        *,
        parent_id: int | None = None,
        profile_id: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Add a user message (under `parent_id`, default the current leaf) and stream a reply.

        `profile_id`, `model` and `params` default to the thread's settings. Raises ConfigError
        before writing anything when no profile or model is known; every later known error ends
        in a final progress with `error` set.
        """
        thread = await self.threads.get_thread(thread_id, include_deleted=False)
        if thread is None:
            raise ValueError(f"no thread {thread_id}")
        profile_id = profile_id or thread.profile_id
        model = model or thread.model
        if not profile_id or not model:
            raise ConfigError("Pick a provider and a model for this chat before sending.")
        if params is None:
            params = thread.params
        if parent_id is None:
            leaf = await self.threads.default_leaf(thread_id)
            parent_id = leaf.id if leaf is not None else None
        text, attachments = parts_to_records(content)
        user_message = await self.threads.add_message(
            thread_id, parent_id, "user", text, parts=attachments
        )
        path = await self.threads.path_to(user_message.id)
        context = build_context(thread.system_prompt, path)
        async with aclosing(
            self._stream_reply(user_message, context, profile_id, model, params)
        ) as progress:
            async for step in progress:
                yield step

    async def regenerate(
        self,
        assistant_message_id: int,
        *,
        profile_id: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Stream a new reply as a sibling of `assistant_message_id` (same user message).

        Settings default to the old reply's, then the thread's.
        """
        old = await self.threads.get_message(assistant_message_id)
        if old is None or old.parent_id is None:
            raise ValueError(f"message {assistant_message_id} is not a reply")
        thread = await self.threads.get_thread(old.thread_id, include_deleted=False)
        if thread is None:
            raise ValueError(f"no thread {old.thread_id}")
        profile_id = profile_id or old.profile_id or thread.profile_id
        model = model or old.model or thread.model
        if not profile_id or not model:
            raise ConfigError("Pick a provider and a model for this chat before sending.")
        if params is None:
            params = old.params if old.params is not None else thread.params
        path = await self.threads.path_to(old.parent_id)
        user_message = path[-1]
        context = build_context(thread.system_prompt, path)
        async with aclosing(
            self._stream_reply(user_message, context, profile_id, model, params)
        ) as progress:
            async for step in progress:
                yield step

    async def _stream_reply(
        self,
        user_message: Message,
        context: list[ChatMessage],
        profile_id: str,
        model: str,
        params: GenerationParams,
    ) -> AsyncGenerator[ReplyProgress, None]:
        assistant = await self.threads.add_message(
            user_message.thread_id,
            user_message.id,
            "assistant",
            "",
            profile_id=profile_id,
            model=model,
            params=params,
            status="streaming",
        )
        reply_id = assistant.id
        fold = _ReplyFold()
        start = self._clock()
        last_journal = start
        first_output_at: float | None = None
        provider_name: str | None = None

        def progress(**kwargs: Any) -> ReplyProgress:
            return ReplyProgress(
                user_message=user_message,
                assistant_message_id=reply_id,
                content=fold.content,
                reasoning=fold.reasoning,
                finish_reason=fold.finish_reason,
                usage=fold.usage,
                refusal=fold.refusal,
                **kwargs,
            )

        async def finish(status: MessageStatus, error: str | None = None) -> None:
            end = self._clock()
            fields: dict[str, Any] = {
                "content": fold.content,
                "reasoning": fold.reasoning,
                "refusal": fold.refusal,
                "tool_calls": fold.tool_call_records(),
                "status": status,
                "error": error,
                "usage": fold.usage,
                "finish_reason": fold.finish_reason,
                "ttft_ms": None if first_output_at is None else (first_output_at - start) * 1000.0,
                "tokens_per_s": _tokens_per_s(fold, first_output_at, end),
            }
            if provider_name is not None:
                fields["provider_name"] = provider_name
            await self.threads.update_message(reply_id, **fields)

        async def finish_quietly(status: MessageStatus, error: str | None = None) -> None:
            # On the error and cancel paths a failed write must not hide the original cause.
            try:
                await finish(status, error)
            except StorageError as exc:
                log.error("could not record the end of reply %s: %s", reply_id, exc)

        try:
            client = self._client_for(profile_id)
            if inspect.isawaitable(client):
                client = await client
            provider_name = _provider_name(client)
            async with aclosing(client.chat_stream(model, context, params)) as stream:  # type: ignore[type-var]
                async for delta in stream:
                    fold.add(delta)
                    now = self._clock()
                    if first_output_at is None and (
                        delta.content or delta.reasoning or delta.refusal or delta.tool_calls
                    ):
                        first_output_at = now
                    if now - last_journal >= self.journal_interval:
                        await self.threads.journal_stream(reply_id, fold.content, fold.reasoning)
                        last_journal = now
                    yield progress(content_delta=delta.content, reasoning_delta=delta.reasoning)
        except (asyncio.CancelledError, GeneratorExit):
            await finish_quietly("cancelled")
            raise
        except SwitchboardError as err:
            await finish_quietly("error", str(err))
            yield progress(done=True, error=err, status="error")
            return
        except Exception as exc:
            await finish_quietly("error", f"Internal error: {type(exc).__name__}")
            raise
        try:
            await finish("complete")
        except StorageError as err:
            yield progress(done=True, error=err, status="error")
            return
        yield progress(done=True, status="complete")


def _provider_name(client: object) -> str | None:
    profile = getattr(client, "profile", None)
    name = getattr(profile, "name", None)
    return name if isinstance(name, str) else None


def _tokens_per_s(fold: _ReplyFold, first_output_at: float | None, end: float) -> float | None:
    """Output speed after the first token: usage's completion tokens, else ~4 chars a token."""
    if first_output_at is None:
        return None
    elapsed = end - first_output_at
    if elapsed <= 0:
        return None
    tokens: float | None = fold.usage.completion_tokens if fold.usage is not None else None
    if not tokens:
        tokens = (len(fold.content) + len(fold.reasoning)) / 4.0
    return tokens / elapsed if tokens else None
