"""The chat use case: send a message, stream the reply, and journal it to SQLite as it arrives.

    service = ChatService(db, client_for)          # client_for(profile_id) -> ProviderClient
    async with contextlib.aclosing(service.send(thread_id, "Hello")) as progress:
        async for p in progress:                   # a pending progress (content ""), one per
            view.show(p.content)                   # delta, then a final one with done=True

The reply's row is written with status `streaming` before the request goes out, and the first
progress (content "", `done` False) names it at once so a view can show a pending reply with its
id. Its text is saved at most every `journal_interval` seconds while it streams (so a crash or
kill leaves the partial reply on disk) and once more at the end with the final status:

- `complete`  the stream ended normally;
- `error`     a known error (`SwitchboardError`) stopped it: the partial text is kept, the error
              sentence is stored in `error`, a final progress carries the error, nothing is raised.
              A stream that ends on a filter's finish reason (Gemini `safety`, `recitation`...)
              with no text at all is recorded the same way, with the filter's sentence — never as
              model output; with partial text it stays `complete` with that finish reason;
- `cancelled` the consuming task was cancelled (Stop) or the iterator was closed early: the
              partial text is kept and the cancellation propagates;
- `interrupted` the stream was cut off: it ended with no finish reason and no `[DONE]`
              (`IncompleteReplyError`, its sentence in `error`, text kept); also set at the next
              start-up by `recover_interrupted()` for rows a crash left `streaming`.

A failed write while streaming (disk full, a value over SQLite's size limit) is a StorageError
like any known error: the reply ends `error` in the database as far as it can be written (at
least its status), and the final progress carries the whole text with `saved` False when the
record could not take it. A bug (any other exception) marks the row `error` and propagates.

The deltas are folded by `ChatAccumulator`, the same fold the client uses for non-streamed
replies. A delta's `notice` (a retry wait, a non-streamed request) is passed on in the progress
(`ReplyProgress.notice`) until output arrives.

The thread is a tree (see `store.threads`): `send` adds a user message under the current leaf,
`edit_and_resend` adds an edited user message beside the old one, `regenerate`/`retry` add a new
reply beside the old one, `continue_reply` appends to an existing reply (one cut by `length`, or
stopped early), and the new node always becomes the selected leaf. With `params.n > 1` the other
choices become sibling replies (alternatives) of the primary one, which stays selected.

A thread of kind `completion` sends raw text to the legacy completions endpoint: the prompt is
the text of the path from the root, concatenated without roles.

Chat contexts are fitted to the model's context window (`context_window.fit_to_window`): the
oldest turns are left out and every progress says how many (`dropped_turns`).

The reply fold, the Gemini block rules, the context fitting and the continuation joining are
imported where a reply first needs them, not with this module: the service is built at every
start before the composer accepts typing, and those modules (with the protocol's error tables
they pull in) are not needed until something is sent (issue 9).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import logging
import sqlite3
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from app.core.errors import (
    ConfigError,
    ContentBlockedError,
    IncompleteReplyError,
    StorageError,
    SwitchboardError,
)
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    Choice,
    ContentPart,
    GenerationParams,
    ImagePart,
    StreamNotice,
    TextPart,
    ToolCallDelta,
    Usage,
)
from app.core.services.titles import DEFAULT_TITLE, fallback_title, suggest_title
from app.core.store.db import Database
from app.core.store.records import Message, MessageStatus, Thread
from app.core.store.threads import ThreadRepository
from app.core.store.tree import subtree_ids

__all__ = [
    "CONTINUABLE_STATUSES",
    "DEFAULT_REPLY_RESERVE",
    "TOO_BIG_SENTENCE",
    "ChatService",
    "ChatStreamClient",
    "ReplyProgress",
    "build_context",
    "completion_prompt",
    "parts_from_records",
    "parts_to_records",
]

log = logging.getLogger(__name__)

# Tokens kept free for the reply when fitting the context and `max_tokens` is not set.
DEFAULT_REPLY_RESERVE = 1024
# Replies `continue_reply` accepts besides a `complete` one cut by `length`.
CONTINUABLE_STATUSES: frozenset[str] = frozenset({"interrupted", "cancelled", "error"})


class ChatStreamClient(Protocol):
    """What the service needs of a provider client (`app.core.client.ProviderClient` fits).

    `complete_stream` is only used for threads of kind `completion`, `chat` only for titles.
    A client may also offer `check_completions()`, raising ConfigError when its provider has no
    completions endpoint (Gemini): completion threads call it before writing anything.
    """

    def chat_stream(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[ChatDelta]: ...


ClientFor = Callable[[str], "ChatStreamClient | Awaitable[ChatStreamClient]"]


@dataclass
class ReplyProgress:
    """The state of a reply after one step (the pending start, a delta, or the end `done=True`).

    `content`/`reasoning` are the primary reply's whole text so far (for `continue_reply`, the
    earlier text included); `content_delta`/`reasoning_delta` only what this step added to it, for
    views that append (empty when the step belonged to another choice, see `choice_index`).
    `error` is set only on the final progress of a reply stopped by a known error.

    With `n > 1`, `alternatives` maps each other choice's index to its sibling message id and
    `alternative_contents` the index to its text so far. `dropped_turns` is how many of the
    oldest turns were left out of the request to fit the model's context window (known from the
    second progress on; the pending first one says 0).
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
    alternatives: dict[int, int] = field(default_factory=dict)
    alternative_contents: dict[int, str] = field(default_factory=dict)
    dropped_turns: int = 0
    choice_index: int = 0
    # What the client said that is not text (a retry wait, a non-streamed request), while no
    # output has arrived since; None once text flows.
    notice: StreamNotice | None = None
    # False on a final progress whose record could not be written whole (disk full, a value
    # over SQLite's size limit): `content` here is the only full copy, to offer for export.
    saved: bool = True


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


def completion_prompt(path: Sequence[Message]) -> str:
    """The prompt of a `completion` thread: the texts of the path root..leaf, joined as they are.

    Raw text, no roles and no separators: a completion model continues exactly this text.
    """
    return "".join(message.content for message in path)


def _count_turns(messages: Sequence[ChatMessage]) -> int:
    """Turns as `fit_to_window` counts them: one per user message, plus a leading non-user run."""
    turns = 0
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "user" or turns == 0:
            turns += 1
    return turns


# --- folding deltas ---------------------------------------------------------------------------


@dataclass
class _ChoiceTiming:
    """What the record needs of one choice besides its text: when output began, how much came."""

    first_output_at: float | None = None
    new_chars: int = 0  # characters this request added (for the output speed)


class _ReplyFold:
    """The deltas of one reply. `ChatAccumulator` folds them (the one fold of the app, also used
    for non-streamed replies); this only adds the per-choice timing and the seed of a continue."""

    def __init__(self, resume: Message | None = None) -> None:
        from app.core.protocol.chat_accumulator import ChatAccumulator

        self.acc = ChatAccumulator()
        self.timing: dict[int, _ChoiceTiming] = {}
        if resume is not None:
            # A continue appends to the stored reply: seed the fold with it as one delta.
            self.acc.add(_seed_delta(resume))

    def add(self, delta: ChatDelta, now: float) -> None:
        self.acc.add(delta)
        timing = self.timing.setdefault(delta.index, _ChoiceTiming())
        timing.new_chars += len(delta.content) + len(delta.reasoning) + len(delta.refusal)
        if timing.first_output_at is None and (
            delta.content or delta.reasoning or delta.refusal or delta.tool_calls
        ):
            timing.first_output_at = now

    def choice(self, index: int = 0) -> Choice:
        return self.acc.choice(index)

    def timing_of(self, index: int) -> _ChoiceTiming:
        return self.timing.get(index) or _ChoiceTiming()


def _seed_delta(message: Message) -> ChatDelta:
    """A stored reply as one delta (its text and tool calls), to continue it."""
    names = {f.name for f in dataclasses.fields(ToolCallDelta)}
    calls = [
        ToolCallDelta(**{k: v for k, v in record.items() if k in names})
        for record in message.tool_calls
        if isinstance(record, dict)
    ]
    return ChatDelta(
        content=message.content,
        reasoning=message.reasoning,
        refusal=message.refusal,
        tool_calls=calls,
    )


def _tool_call_records(choice: Choice) -> list[dict[str, Any]]:
    return [asdict(call) for call in choice.tool_calls]


def _blocked_error(choice: Choice) -> ContentBlockedError | None:
    """The filter's error when the choice ended on a blocked finish reason with no text."""
    from app.core.protocol.gemini import BLOCKED_FINISH_REASONS, content_blocked_error

    reason = (choice.finish_reason or "").lower()
    if reason in BLOCKED_FINISH_REASONS and not (
        choice.content or choice.refusal or choice.tool_calls
    ):
        return content_blocked_error(choice.finish_reason)
    return None


@dataclass
class _Request:
    """What to ask the provider: chat `messages`, or a raw `prompt` for a completion thread."""

    messages: list[ChatMessage] | None = None
    prompt: str | None = None
    # A chat reply being continued: its partial text is the last message (see `continuation`).
    continuing: bool = False


# --- the service ------------------------------------------------------------------------------


class ChatService:
    """Sends chat messages, records the streamed replies, and edits the thread's message tree."""

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
        # Rows this service is streaming into right now (they must not be deleted or continued).
        self._active: set[int] = set()

    async def recover_interrupted(self) -> int:
        """At start-up: replies a crash left `streaming` become `interrupted`. Returns count."""
        return await self.threads.mark_streaming_interrupted()

    def is_streaming(self, message_id: int) -> bool:
        """True while this service is writing a reply into `message_id`."""
        return message_id in self._active

    # --- sending ------------------------------------------------------------------------------

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
        before writing anything when no profile or model is known, or when the thread is a
        completion thread and the provider has no completions endpoint (Gemini); every later
        known error ends in a final progress with `error` set.
        """
        thread = await self._live_thread(thread_id)
        profile_id, model = _require_settings(profile_id or thread.profile_id, model or thread.model)
        if params is None:
            params = thread.params
        if parent_id is None:
            leaf = await self.threads.default_leaf(thread_id)
            parent_id = leaf.id if leaf is not None else None
        text, attachments = parts_to_records(content)
        async with aclosing(
            self._ask(thread, parent_id, text, attachments, profile_id, model, params)
        ) as progress:
            async for step in progress:
                yield step

    async def edit_and_resend(
        self,
        user_message_id: int,
        new_content: str | list[ContentPart],
        *,
        profile_id: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Add `new_content` as a sibling of the user message (a new branch) and stream a reply.

        The old message and its replies stay as the other branch. A plain-text `new_content`
        keeps the old message's attachments; a list of parts replaces them. Settings default to
        the thread's.
        """
        old = await self.threads.get_message(user_message_id)
        if old is None or old.role != "user":
            raise ValueError(f"message {user_message_id} is not a user message")
        thread = await self._live_thread(old.thread_id)
        profile_id, model = _require_settings(profile_id or thread.profile_id, model or thread.model)
        if params is None:
            params = thread.params
        if isinstance(new_content, str):
            text, attachments = new_content, list(old.parts)
        else:
            text, attachments = parts_to_records(new_content)
        async with aclosing(
            self._ask(thread, old.parent_id, text, attachments, profile_id, model, params)
        ) as progress:
            async for step in progress:
                yield step

    async def _ask(
        self,
        thread: Thread,
        parent_id: int | None,
        text: str,
        attachments: list[dict[str, Any]],
        profile_id: str,
        model: str,
        params: GenerationParams,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Add the user message under `parent_id` (None: a new root) and stream its reply."""
        await self._check_kind(thread, profile_id)
        user_message = await self.threads.add_message(
            thread.id, parent_id, "user", text, parts=attachments
        )
        path = await self.threads.path_to(user_message.id)
        async with aclosing(
            self._stream_reply(
                user_message, _request_for(thread, path), profile_id, model, params
            )
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
        """Stream a new reply as a sibling of `assistant_message_id` (same user message); the new
        reply becomes the selected leaf.

        Settings default to the old reply's, then the thread's.
        """
        old = await self.threads.get_message(assistant_message_id)
        if old is None or old.parent_id is None or old.role != "assistant":
            raise ValueError(f"message {assistant_message_id} is not a reply")
        thread = await self._live_thread(old.thread_id)
        profile_id, model = _require_settings(
            profile_id or old.profile_id or thread.profile_id, model or old.model or thread.model
        )
        if params is None:
            params = old.params if old.params is not None else thread.params
        await self._check_kind(thread, profile_id)
        path = await self.threads.path_to(old.parent_id)
        async with aclosing(
            self._stream_reply(path[-1], _request_for(thread, path), profile_id, model, params)
        ) as progress:
            async for step in progress:
                yield step

    async def retry(
        self,
        assistant_message_id: int,
        *,
        profile_id: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Ask again for a reply that failed: `regenerate` (the failed reply stays a sibling)."""
        async with aclosing(
            self.regenerate(assistant_message_id, profile_id=profile_id, model=model, params=params)
        ) as progress:
            async for step in progress:
                yield step

    async def continue_reply(
        self,
        assistant_message_id: int,
        *,
        profile_id: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Stream more of a reply and APPEND it to the same message.

        For a reply cut by `finish_reason == 'length'`, or stopped (`interrupted`, `cancelled`,
        `error`) with partial text. A chat thread sends the path up to and including the partial
        reply as the last assistant message, and on Gemini a user turn asking to continue after
        it; what comes back is joined to the partial text by `ContinuationJoin`, which drops a
        repetition of it and a re-opened code block (the decision per dialect and why are in
        `app.core.services.continuation`). A completion thread re-prompts with the whole text so
        far and appends what comes back as it is. The row is journaled as usual, `content` of each progress is the
        whole text, and the usage's completion tokens add up. Only one choice is asked for
        (`n` is ignored). Settings default to the reply's, then the thread's.
        """
        reply = await self.threads.get_message(assistant_message_id)
        if reply is None or reply.parent_id is None or reply.role != "assistant":
            raise ValueError(f"message {assistant_message_id} is not a reply")
        if reply.id in self._active:
            raise ValueError(f"reply {assistant_message_id} is still streaming")
        if reply.status == "complete" and reply.finish_reason != "length":
            raise ValueError(f"reply {assistant_message_id} is complete; regenerate it instead")
        if reply.status not in CONTINUABLE_STATUSES | {"complete", "streaming"}:
            raise ValueError(f"reply {assistant_message_id} cannot be continued")
        thread = await self._live_thread(reply.thread_id)
        profile_id, model = _require_settings(
            profile_id or reply.profile_id or thread.profile_id, model or reply.model or thread.model
        )
        if params is None:
            params = reply.params if reply.params is not None else thread.params
        params = dataclasses.replace(params, n=None)
        await self._check_kind(thread, profile_id)
        path = await self.threads.path_to(reply.id)
        request = _request_for(thread, path)
        request.continuing = request.messages is not None and bool(reply.content)
        async with aclosing(
            self._stream_reply(path[-2], request, profile_id, model, params, resume=reply)
        ) as progress:
            async for step in progress:
                yield step

    # --- the stream ---------------------------------------------------------------------------

    async def _client(self, profile_id: str) -> Any:
        client = self._client_for(profile_id)
        if inspect.isawaitable(client):
            client = await client
        return client

    async def _check_kind(self, thread: Thread, profile_id: str) -> None:
        """Refuse a completion thread on a provider without a completions endpoint, up front.

        Without this the refusal would only come from the client once the stream opens: a user
        message and an empty failed reply would be left in the thread for every attempt. A
        client that cannot be built here is left to the normal path, which records its error.
        """
        if thread.kind != "completion":
            return
        try:
            client = await self._client(profile_id)
        except SwitchboardError:
            return
        check = getattr(client, "check_completions", None)
        if callable(check):
            check()

    def _open(
        self, client: Any, request: _Request, model: str, params: GenerationParams
    ) -> tuple[AsyncIterator[ChatDelta], int]:
        """The provider stream for `request`, and how many turns were left out to fit it."""
        if request.prompt is not None:
            return client.complete_stream(model, request.prompt, params), 0
        from app.core.services.context_window import context_window_for, fit_to_window
        from app.core.services.continuation import continuation_messages

        messages = request.messages or []
        profile = getattr(client, "profile", None)
        if request.continuing:
            messages = continuation_messages(messages, str(getattr(profile, "dialect", "openai")))
        overrides = getattr(profile, "context_windows", None)
        fit = fit_to_window(
            messages,
            window=context_window_for(
                model, overrides if isinstance(overrides, Mapping) else None
            ),
            reserve_for_reply=params.max_tokens or DEFAULT_REPLY_RESERVE,
        )
        dropped = _count_turns(messages) - _count_turns(fit.messages) if fit.dropped_count else 0
        return client.chat_stream(model, fit.messages, params), dropped

    async def _stream_reply(
        self,
        user_message: Message,
        request: _Request,
        profile_id: str,
        model: str,
        params: GenerationParams,
        *,
        resume: Message | None = None,
    ) -> AsyncGenerator[ReplyProgress, None]:
        """Stream a reply to `user_message` into a new row, or append to `resume`'s row."""
        if resume is None:
            assistant = await _written(
                self.threads.add_message(
                    user_message.thread_id,
                    user_message.id,
                    "assistant",
                    "",
                    profile_id=profile_id,
                    model=model,
                    params=params,
                    status="streaming",
                )
            )
            earlier_usage: Usage | None = None
            earlier_ttft: float | None = None
        else:
            assistant = await _written(
                self.threads.update_message(
                    resume.id,
                    status="streaming",
                    error=None,
                    finish_reason=None,
                    profile_id=profile_id,
                    model=model,
                )
            )
            earlier_usage, earlier_ttft = resume.usage, resume.ttft_ms
            await self.threads.select_leaf(assistant.thread_id, assistant.id)
        reply_id = assistant.id
        fold = _ReplyFold(resume)
        # A continued chat reply: what the server sends is joined to the partial text (a
        # repetition or a re-opened code block dropped); `continuation` says why, per dialect.
        from app.core.services.continuation import ContinuationJoin

        joiner = ContinuationJoin(resume.content) if resume is not None and request.continuing else None

        def flush_join() -> None:
            nonlocal joiner
            if joiner is not None:
                rest, joiner = joiner.finish(), None
                if rest:
                    fold.add(ChatDelta(content=rest), self._clock())
        row_ids: dict[int, int] = {0: reply_id}  # choice index -> message id
        usage: Usage | None = None
        notice: StreamNotice | None = None
        dropped_turns = 0
        start = self._clock()
        last_journal = start
        provider_name: str | None = None
        self._active.add(reply_id)

        def progress(**kwargs: Any) -> ReplyProgress:
            primary = fold.choice(0)
            return ReplyProgress(
                user_message=user_message,
                assistant_message_id=reply_id,
                content=primary.content,
                reasoning=primary.reasoning,
                finish_reason=primary.finish_reason,
                usage=_merge_usage(earlier_usage, usage),
                refusal=primary.refusal,
                alternatives={i: m for i, m in row_ids.items() if i},
                alternative_contents={i: fold.choice(i).content for i in row_ids if i},
                dropped_turns=dropped_turns,
                notice=notice,
                **kwargs,
            )

        async def journal() -> None:
            for index, message_id in row_ids.items():
                choice = fold.choice(index)
                await _written(
                    self.threads.journal_stream(message_id, choice.content, choice.reasoning)
                )

        async def finish(status: MessageStatus, error: str | None = None) -> ContentBlockedError | None:
            """Write every row's final state; returns the primary's filter error, if blocked."""
            end = self._clock()
            primary_blocked: ContentBlockedError | None = None
            for index, message_id in row_ids.items():
                choice = fold.choice(index)
                timing = fold.timing_of(index)
                row_status, row_error = status, error
                if status == "complete" and (blocked := _blocked_error(choice)) is not None:
                    row_status, row_error = "error", str(blocked)
                    if index == 0:
                        primary_blocked = blocked
                # Usage is per request: it goes on the primary row only; with alternatives the
                # speed is estimated from the text, since usage counts every choice.
                own_usage = usage if index == 0 and len(row_ids) == 1 else None
                fields: dict[str, Any] = {
                    "content": choice.content,
                    "reasoning": choice.reasoning,
                    "refusal": choice.refusal,
                    "tool_calls": _tool_call_records(choice),
                    "status": row_status,
                    "error": row_error,
                    "finish_reason": choice.finish_reason,
                    "tokens_per_s": _tokens_per_s(own_usage, timing, end),
                }
                ttft = (
                    None
                    if timing.first_output_at is None
                    else (timing.first_output_at - start) * 1000.0
                )
                if index == 0:
                    fields["usage"] = _merge_usage(earlier_usage, usage)
                    fields["ttft_ms"] = earlier_ttft if earlier_ttft is not None else ttft
                else:
                    fields["ttft_ms"] = ttft
                if provider_name is not None:
                    fields["provider_name"] = provider_name
                await _written(self.threads.update_message(message_id, **fields))
            return primary_blocked

        async def finish_or_mark(status: MessageStatus, error: str | None) -> bool:
            """Record the end of a reply stopped by `error`; True when its whole text was saved.

            When the full record cannot be written (disk full, a value over SQLite's size limit),
            the rows still get their final status and error, so none stays `streaming`: first
            with the text the last journal saved, then, if even that is refused (the search
            index of a finished reply is larger than its text), with a shorter and shorter head
            of it. The whole text is in the final progress for the view to offer for export.
            """
            try:
                await finish(status, error)
                return True
            except StorageError as exc:
                log.error("could not record the end of reply %s: %s", reply_id, exc)
            for index, message_id in row_ids.items():
                content = fold.choice(index).content
                heads = [None] + [content[: len(content) >> k] for k in range(1, 5)] + [""]
                for head in heads:
                    fields: dict[str, Any] = {"status": status, "error": error}
                    if head is not None:
                        fields["content"] = head
                    try:
                        await _written(self.threads.update_message(message_id, **fields))
                        break
                    except StorageError as exc:
                        log.error("could not mark reply %s as %s: %s", message_id, status, exc)
            return False

        async def finish_quietly(status: MessageStatus, error: str | None = None) -> None:
            # On the cancel and bug paths a failed write must not hide the original cause (and
            # the row still gets its status, as on the error path).
            await finish_or_mark(status, error)

        try:
            try:
                yield progress()  # the pending reply: its id, before any token
                client = await self._client(profile_id)
                provider_name = _provider_name(client)
                stream, dropped_turns = self._open(client, request, model, params)
                async with aclosing(stream) as deltas:  # type: ignore[type-var]
                    async for delta in deltas:
                        if delta.notice is not None:
                            # A retry wait or the switch to a non-streamed request: not text,
                            # shown as the pending reply's state until output arrives.
                            notice = delta.notice
                            yield progress(choice_index=delta.index)
                            if delta.is_empty():
                                continue
                        if delta.usage is not None:
                            usage = delta.usage
                        index = delta.index
                        if index not in row_ids:
                            if resume is not None:
                                continue  # a continuation has one choice
                            alternative = await _written(
                                self.threads.add_message(
                                    user_message.thread_id,
                                    user_message.id,
                                    "assistant",
                                    "",
                                    profile_id=profile_id,
                                    model=model,
                                    params=params,
                                    status="streaming",
                                    select=False,  # the primary choice stays on screen
                                )
                            )
                            row_ids[index] = alternative.id
                            self._active.add(alternative.id)
                        if joiner is not None and delta.content:
                            delta = dataclasses.replace(delta, content=joiner.feed(delta.content))
                        now = self._clock()
                        fold.add(delta, now)
                        if delta.content or delta.reasoning or delta.refusal or delta.tool_calls:
                            notice = None  # output arrived: the wait is over
                        if now - last_journal >= self.journal_interval:
                            await journal()
                            last_journal = now
                        primary_step = index == 0
                        yield progress(
                            content_delta=delta.content if primary_step else "",
                            reasoning_delta=delta.reasoning if primary_step else "",
                            choice_index=index,
                        )
            except (asyncio.CancelledError, GeneratorExit):
                flush_join()
                await finish_quietly("cancelled")
                raise
            except IncompleteReplyError as err:
                # Cut off with no finish reason and no [DONE]: kept as an incomplete reply, the
                # same state as one a crash left behind (Continue / Regenerate).
                flush_join()
                notice = None
                saved = await finish_or_mark("interrupted", str(err))
                yield progress(done=True, error=err, status="interrupted", saved=saved)
                return
            except SwitchboardError as err:
                flush_join()
                notice = None
                saved = await finish_or_mark("error", str(err))
                yield progress(done=True, error=err, status="error", saved=saved)
                return
            except Exception as exc:
                flush_join()
                await finish_quietly("error", f"Internal error: {type(exc).__name__}")
                raise
            flush_join()
            try:
                blocked = await finish("complete")
            except StorageError as err:
                # The reply arrived whole but could not be recorded: it ends as an error with
                # its text kept (in the view, and on disk as far as the journal got).
                saved = await finish_or_mark("error", str(err))
                yield progress(done=True, error=err, status="error", saved=saved)
                return
            if blocked is not None:
                yield progress(done=True, error=blocked, status="error")
            else:
                yield progress(done=True, status="complete")
        finally:
            self._active.difference_update(row_ids.values())

    # --- the tree -----------------------------------------------------------------------------

    async def select_sibling(self, thread_id: int, message_id: int) -> Message:
        """Show the branch of `message_id`: select the default leaf under it and return that leaf.

        The default leaf follows the latest reply at each level below `message_id`.
        """
        message = await self.threads.get_message(message_id)
        if message is None or message.thread_id != thread_id:
            raise ValueError(f"message {message_id} is not in thread {thread_id}")
        await self.threads.select_leaf(thread_id, message_id)
        leaf = await self.threads.default_leaf(thread_id)
        assert leaf is not None  # message_id itself exists, so there is a leaf under it
        await self.threads.select_leaf(thread_id, leaf.id)
        return leaf

    async def sibling_position(self, message_id: int) -> tuple[int, int]:
        """(index, count) of the message among its siblings, oldest first; `index` is 0-based
        (a view shows `index + 1` of `count`)."""
        siblings = await self.threads.siblings(message_id)
        for index, sibling in enumerate(siblings):
            if sibling.id == message_id:
                return index, len(siblings)
        raise ValueError(f"no message {message_id}")

    async def delete_branch(self, message_id: int) -> int:
        """Delete a message and everything under it; returns how many messages went.

        The thread then shows the latest remaining sibling's branch (or the parent). Refused with
        ValueError while a reply in that branch is still streaming (stop it first).
        """
        message = await self.threads.get_message(message_id)
        if message is None:
            return 0
        if self._active:
            doomed = subtree_ids(await self.threads.thread_tree(message.thread_id), message_id)
            if doomed & self._active:
                raise ValueError("stop the streaming reply before deleting its branch")
        return await self.threads.delete_subtree(message_id)

    # --- titles -------------------------------------------------------------------------------

    async def auto_title(self, thread_id: int, *, ask_model: bool) -> str | None:
        """Name a thread still titled "New chat" after its first reply; returns the new title.

        With `ask_model` the reply's model suggests one (`titles.suggest_title`), else (or when
        the provider fails, or when no reply completed: the first one failed or was stopped) the
        first message's first words are used. Returns None and changes nothing when the thread
        has another title (also if the user renamed it meanwhile), no message yet, or a reply
        still streaming.
        """
        thread = await self.threads.get_thread(thread_id, include_deleted=False)
        if thread is None or thread.title != DEFAULT_TITLE:
            return None
        path = await self.threads.current_path(thread_id)
        first_user = next((m for m in path if m.role == "user" and m.content.strip()), None)
        if first_user is None:
            return None
        first_reply = next(
            (
                m
                for m in path
                if m.role == "assistant"
                and m.id > first_user.id
                and m.status == "complete"
                and m.content.strip()
            ),
            None,
        )
        title = fallback_title(first_user.content)
        if first_reply is None:
            # No reply came back whole (it failed, was stopped or cut off): the first message
            # still names the thread, or it would stay "New chat" for ever. Never while a reply
            # is still streaming (its own end titles it).
            if any(m.status == "streaming" for m in path):
                return None
        profile_id = (first_reply.profile_id if first_reply else None) or thread.profile_id
        model = (first_reply.model if first_reply else None) or thread.model
        if first_reply is not None and ask_model and profile_id and model:
            try:
                client = await self._client(profile_id)
            except SwitchboardError as exc:
                log.info("no client for a title suggestion: %s", exc)
            else:
                title = await suggest_title(client, model, first_user.content, first_reply.content)
        current = await self.threads.get_thread(thread_id, include_deleted=False)
        if current is None or current.title != DEFAULT_TITLE:
            return None
        await self.threads.rename(thread_id, title)
        return title

    # --- helpers ------------------------------------------------------------------------------

    async def _live_thread(self, thread_id: int) -> Thread:
        thread = await self.threads.get_thread(thread_id, include_deleted=False)
        if thread is None:
            raise ValueError(f"no thread {thread_id}")
        return thread


def _require_settings(profile_id: str | None, model: str | None) -> tuple[str, str]:
    if not profile_id or not model:
        raise ConfigError("Pick a provider and a model for this chat before sending.")
    return profile_id, model


def _request_for(thread: Thread, path: Sequence[Message]) -> _Request:
    if thread.kind == "completion":
        return _Request(prompt=completion_prompt(path))
    return _Request(messages=build_context(thread.system_prompt, path))


def _merge_usage(earlier: Usage | None, new: Usage | None) -> Usage | None:
    """Usage of a continued reply: the latest prompt, the completion tokens of every request."""
    if earlier is None or new is None:
        return new if earlier is None else earlier

    def add(a: int | None, b: int | None) -> int | None:
        return None if a is None and b is None else (a or 0) + (b or 0)

    completion = add(earlier.completion_tokens, new.completion_tokens)
    return Usage(
        prompt_tokens=new.prompt_tokens,
        completion_tokens=completion,
        total_tokens=add(new.prompt_tokens, completion),
        reasoning_tokens=add(earlier.reasoning_tokens, new.reasoning_tokens),
    )


# A value over SQLite's length limit (SQLITE_LIMIT_LENGTH, 1e9 bytes by default).
TOO_BIG_SENTENCE = (
    "The reply is too large to be saved in the database. Its text is still shown: copy it or "
    "save it to a file."
)


async def _written[T](write: Awaitable[T]) -> T:
    """Await a database write of the stream; a value too large for SQLite is a StorageError.

    The database layer turns the failures a user can act on (disk full, read-only, locked) into
    StorageError already; "string or blob too big" (`sqlite3.DataError`) is added here, where a
    streamed reply can grow past SQLite's limit, so it ends the reply instead of reaching the
    crash dialog.
    """
    try:
        return await write
    except sqlite3.Error as exc:
        if isinstance(exc, sqlite3.DataError) or "too big" in str(exc).lower():
            raise StorageError(TOO_BIG_SENTENCE, detail=str(exc)) from exc
        raise


def _provider_name(client: object) -> str | None:
    profile = getattr(client, "profile", None)
    name = getattr(profile, "name", None)
    return name if isinstance(name, str) else None


def _tokens_per_s(usage: Usage | None, fold: _ChoiceTiming, end: float) -> float | None:
    """Output speed after the first token: usage's completion tokens, else ~4 chars a token."""
    if fold.first_output_at is None:
        return None
    elapsed = end - fold.first_output_at
    if elapsed <= 0:
        return None
    tokens: float | None = usage.completion_tokens if usage is not None else None
    if not tokens:
        tokens = fold.new_chars / 4.0
    return tokens / elapsed if tokens else None
