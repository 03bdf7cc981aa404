"""The stream runner of a chat tab: it owns the replies being streamed (start, consume, stop,
aclose) and adapts `ChatService`'s async iterator of `ReplyProgress` to the message model.

The tab and every controller that starts a reply (send, retry, edit & resend, continue) hand it
a `Stream` and a coroutine function that returns the progress iterator; the runner does the rest:

- the task runs through the tab's spawn (its own `TaskOwner`), so Stop and `aclose()` cancel it;
  the newest progress is stored, and a 30 Hz timer copies it into the model's streaming row, so a
  fast stream costs at most ~30 re-renders a second, of one row only (long replies skip ticks so
  re-rendering takes at most about a fifth of the time the delegate measures);
- Stop/Esc cancels the task at once: the row keeps its partial text and shows "cancelled"
  immediately, and the service records the same status in the database;
- a known error ends the reply as an *error row* (status `error`, the sentence and provider
  message, a Retry action) — never as assistant text; a cut-off stream ends `interrupted`;
- while the client waits (a retry, a non-streamed reply) the pending row says so
  (`ReplyProgress.notice` -> `ChatRow.waiting`, a retry counted down by the tick);
- a write that fails while streaming (disk full, a value too large) ends the reply `error` with
  its whole text kept in the row (`ChatRow.unsaved`: Copy text / Save as…), and `storageProblem`
  carries the sentence ("" once a reply is recorded again);
- a bug in a stream still ends it (row `error`, Send enabled again), then goes on to the
  excepthook through the TaskOwner.

Signals: `replyStarted(assistant id)`, `replyFinished(row id, <0 when nothing was stored)`,
`busyChanged(bool)`, `storageProblem(sentence)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.errors import StorageError, SwitchboardError
from app.ui.chat.messages.markdown_render import render_markdown
from app.ui.chat.messages.message_model import MessageModel, image_parts, row_from_message

if TYPE_CHECKING:
    from app.core.protocol.types import StreamNotice
    from app.core.services.chat import ReplyProgress
    from app.core.store.threads import ThreadRepository
    from app.ui.chat.messages.message_view import MessageView

__all__ = ["BUG_SENTENCE", "TICK_MS", "ProgressFactory", "ReplyStream", "Spawn", "Stream", "waiting_text"]

log = logging.getLogger(__name__)

# The streaming row is re-rendered at most this often (~30 times a second).
TICK_MS = 33
# The row of a reply that a bug stopped (the details go to the crash dialog and the log).
BUG_SENTENCE = (
    "Something went wrong inside Switchboard, so this reply stopped ({kind}). The details are in "
    "the crash report and the log. Send again, or start a new chat."
)

# Start a coroutine through the tab's TaskOwner (an `async_bridge.Spawner`); None once closed.
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any] | None"]
# Returns the reply's progress iterator (a ChatService call), awaited inside the stream's task.
ProgressFactory = Callable[[], Awaitable[Any]]


def waiting_text(notice: StreamNotice | None, remaining_s: float | None = None) -> str:
    """What a pending reply row says while the client waits ("" for the usual first-token wait).

    A retry counts down: `remaining_s` is what is left of the notice's `delay_s` (None: all).
    """
    if notice is None:
        return ""
    if notice.kind == "retrying":
        left = notice.delay_s if remaining_s is None else max(0.0, remaining_s)
        attempt = f"{notice.attempt}/{notice.max_attempts}" if notice.max_attempts else f"{notice.attempt}"
        why = f" ({notice.reason})" if notice.reason else ""
        if left < 0.05:
            return f"Retrying {attempt} now{why}…"
        return f"Retrying {attempt} in {left:.1f} s{why}"
    if notice.kind == "unstreamed":
        return "Waiting for the whole reply (this provider sends it at once, not streamed)…"
    return ""


@dataclass
class Stream:
    """One reply being streamed."""

    row_id: int  # the assistant row's id in the model (temporary until the first progress)
    user_row_id: int
    text: str
    thread_id: int | None = None
    task: asyncio.Future[Any] | None = None
    latest: ReplyProgress | None = None
    dirty: bool = False
    stopped: bool = False
    outgoing: Any = None  # thread_draft.Outgoing: content, kind, prompt, params of a send
    # The notice being counted down (a retry wait) and when its wait ends (time.monotonic).
    notice: StreamNotice | None = None
    notice_ends: float = 0.0
    shown_waiting: str = ""


class ReplyStream(QObject):
    """Runs the replies of one tab, one at a time; see the module docstring."""

    replyStarted = Signal(int)  # assistant message id (stored)
    replyFinished = Signal(int)  # assistant message id (<0 when nothing was stored)
    busyChanged = Signal(bool)  # a reply started (True) / ended (False)
    storageProblem = Signal(str)

    def __init__(
        self,
        *,
        spawn: Spawn,
        threads: ThreadRepository,
        model: MessageModel,
        view: MessageView,
        after_reply: Callable[[Stream, bool], Awaitable[None]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`after_reply(stream, failed)` runs (shielded) once a reply in a stored thread ended
        without a bug: the tab names the thread and reloads the sidebar there."""
        super().__init__(parent)
        self._spawn = spawn
        self._threads = threads
        self._model = model
        self._view = view
        self._after_reply = after_reply
        self.active: Stream | None = None
        self.closed = False
        self._last_apply = 0.0
        self._storage_problem = ""
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._apply_progress)

    @property
    def is_streaming(self) -> bool:
        return self.active is not None

    @property
    def storage_problem_text(self) -> str:
        """The last write failure's sentence, "" when the latest reply was recorded fine."""
        return self._storage_problem

    def emitters(self) -> list[QObject]:
        """Objects whose signals reach Python slots here (silenced when the tab closes)."""
        return [self, self._tick]

    def start(self, stream: Stream, make_progress: ProgressFactory) -> asyncio.Future[Any] | None:
        """Show `stream` as the streaming reply and run it; its task, or None when closed."""
        self.active = stream
        self._on_busy(True)
        self._view.follow_bottom()
        self._tick.start()
        stream.task = self._spawn(self._consume(stream, make_progress))
        if stream.task is None and self.active is stream:
            self.active = None
            self._tick.stop()
        return stream.task

    async def aclose(self) -> None:
        """Stop the tick and cancel the running reply (its task is awaited by the TaskOwner)."""
        import shiboken6

        self.closed = True
        if shiboken6.isValid(self._tick):
            self._tick.stop()
        stream = self.active
        if stream is not None and stream.task is not None:
            stream.task.cancel()

    def _on_busy(self, busy: bool) -> None:
        self.busyChanged.emit(busy)

    def stop(self) -> None:
        """Cancel the streaming reply now; its partial text stays, marked cancelled."""
        stream = self.active
        if stream is None or stream.stopped:
            return
        stream.stopped = True
        self._apply_progress(force=True)
        i = self._model.find_row(stream.row_id)
        if i >= 0:
            self._model.update_row(i, status="cancelled")
        if stream.task is not None:
            stream.task.cancel()


    async def _consume(self, stream: Stream, make_progress: Any) -> None:
        """Drive one reply's progress iterator; always ends the stream in the UI."""
        error: SwitchboardError | None = None
        try:
            iterator = await make_progress()
            async with aclosing(iterator) as steps:
                async for step in steps:
                    first = stream.latest is None
                    stream.latest = step
                    stream.dirty = True
                    if first:
                        self._adopt_ids(stream, step)
        except asyncio.CancelledError:
            await self._finish_stream(stream, None, cancelled=True)
            raise
        except SwitchboardError as exc:
            error = exc
        except Exception as exc:
            # A bug: the stream still ends here (row marked error, Send enabled again, other
            # threads can send), then the exception goes on through the TaskOwner to the
            # excepthook (crash dialog, log).
            await self._finish_stream(stream, None, cancelled=False, bug=exc)
            raise
        await self._finish_stream(stream, error, cancelled=False)

    def _adopt_ids(self, stream: Stream, step: ReplyProgress) -> None:
        """The first progress names the stored messages: give the temporary rows their ids."""
        reply = self._model.find_row(stream.row_id)
        if reply >= 0:
            self._model.update_row(reply, id=step.assistant_message_id, parent_id=step.user_message.id)
        if stream.user_row_id < 0:
            user = self._model.find_row(stream.user_row_id)
            if user >= 0:
                # The stored message's image parts: the row shows them as thumbnails.
                self._model.update_row(
                    user,
                    id=step.user_message.id,
                    parent_id=step.user_message.parent_id,
                    images=image_parts(step.user_message.parts),
                )
        stream.row_id = step.assistant_message_id
        stream.user_row_id = step.user_message.id
        self.replyStarted.emit(step.assistant_message_id)

    def _apply_progress(self, *, force: bool = False) -> None:
        """The 30 Hz tick: copy the newest progress into the streaming row (that row only).

        For a very long reply, ticks are skipped so that re-rendering takes at most about a
        fifth of the time (the render cost is measured by the delegate).
        """
        stream = self.active
        if stream is None or stream.latest is None:
            return
        now = time.monotonic()
        waiting = self._waiting_for(stream, now)
        if not stream.dirty and waiting == stream.shown_waiting:
            return  # (a retry countdown changes the row without a new progress)
        if not force:
            cost = self._view.message_delegate.streaming_cost(stream.row_id)
            if now - self._last_apply < max(TICK_MS / 1000.0, 5 * cost):
                return
        self._last_apply = now
        stream.dirty = False
        i = self._model.find_row(stream.row_id)
        if i < 0:
            return  # another thread is on screen
        step = stream.latest
        row = self._model.row(i)
        if row.status != "streaming":
            return
        stream.shown_waiting = waiting
        self._model.update_row(
            i, content=step.content, reasoning=step.reasoning, refusal=step.refusal,
            dropped_turns=step.dropped_turns, alternatives_streaming=len(step.alternatives),
            waiting=waiting,
        )

    def _waiting_for(self, stream: Stream, now: float) -> str:
        """The streaming row's waiting text for the latest progress's notice, counted down."""
        step = stream.latest
        notice = step.notice if step is not None else None
        if notice is not stream.notice:
            stream.notice = notice
            stream.notice_ends = now + (notice.delay_s if notice is not None else 0.0)
        if notice is None:
            return ""
        return waiting_text(notice, stream.notice_ends - now)

    async def _finish_stream(
        self,
        stream: Stream,
        error: SwitchboardError | None,
        *,
        cancelled: bool,
        bug: BaseException | None = None,
    ) -> None:
        """End the reply in the view; whatever happens, the tab can send again afterwards."""
        try:
            await self._show_end(stream, error, cancelled=cancelled, bug=bug)
        finally:
            if self.active is stream:
                self.active = None
            if not self.closed:
                self._on_busy(False)
        if not self.closed and stream.thread_id is not None and bug is None and self._after_reply is not None:
            await asyncio.shield(self._after_reply(stream, cancelled or error is not None))
        self.replyFinished.emit(stream.row_id)

    async def _show_end(
        self,
        stream: Stream,
        error: SwitchboardError | None,
        *,
        cancelled: bool,
        bug: BaseException | None,
    ) -> None:
        """The streaming row's final state: as stored, or as kept in memory when it could not be."""
        self._tick.stop()
        self._apply_progress(force=True)
        step = stream.latest
        # The record could not be written whole (disk full, too large): the final progress has
        # the only full copy of the text; the database's row is shorter.
        unsaved = step is not None and step.done and not step.saved
        final: Any = None
        if step is not None and not cancelled and not unsaved:
            try:
                final = await self._threads.get_message(step.assistant_message_id)
            except SwitchboardError as exc:
                log.warning("could not reload reply %s: %s", step.assistant_message_id, exc)
        bug_sentence = BUG_SENTENCE.format(kind=type(bug).__name__) if bug is not None else None
        i = self._model.find_row(stream.row_id)
        if i >= 0:
            row = self._model.row(i)
            if unsaved:
                assert step is not None
                self._model.update_row(
                    i, status=step.status if step.status != "streaming" else "error",
                    content=step.content, reasoning=step.reasoning, refusal=step.refusal,
                    error=str(step.error) if step.error is not None else row.error,
                    unsaved=True, waiting="",
                )
            elif final is not None:
                new = row_from_message(final)
                new.reasoning_expanded = row.reasoning_expanded
                new.carry_view_state(row)  # dropped turns, version navigator
                if new.status == "streaming":
                    # Nothing recorded its end (a bug before the service's own handler): the row
                    # must not look alive.
                    new.status = "error"
                    new.error = bug_sentence or "The reply stopped before it was recorded."
                if new.status == "error" and not new.error and step is not None and step.error is not None:
                    new.error = str(step.error)
                self._model.update_row(i, **{k: v for k, v in vars(new).items() if k != "version"})
            elif cancelled:
                content = step.content if step is not None else row.content
                self._model.update_row(i, status="cancelled", content=content, waiting="")
            else:
                # The send failed before a reply was stored (e.g. no model, database error, a bug).
                if bug_sentence is not None:
                    message = bug_sentence
                else:
                    message = str(error) if error is not None else "The request failed."
                self._model.update_row(
                    i, status="error", error=message, waiting="",
                    content=step.content if step is not None else row.content,
                )
            if self._model.row(i).content and not self.closed:
                self._spawn(self._check_streamed_render(self._model.row(i).id))
        self._report_storage(step, error, cancelled=cancelled)

    def _report_storage(self, step: ReplyProgress | None, error: SwitchboardError | None, *, cancelled: bool) -> None:
        """Tell the main window (status bar) that writes fail, and when they work again."""
        problem = step.error if step is not None and isinstance(step.error, StorageError) else error
        if isinstance(problem, StorageError):
            self._storage_problem = problem.user_message
            self.storageProblem.emit(problem.user_message)
        elif self._storage_problem and not cancelled and step is not None and step.done and step.saved:
            self._storage_problem = ""
            self.storageProblem.emit("")


    async def _check_streamed_render(self, message_id: int) -> None:
        """A finished reply keeps the documents it streamed into (no full re-render on this
        thread); compare them with a full render made on a worker thread — markdown is pure
        Python, so the event loop keeps running — and show the full render if they differ."""
        i = self._model.find_row(message_id)
        if i < 0:
            return
        delegate = self._view.message_delegate
        self._view.row_layout(i)  # the finished body, if not painted yet
        pending = delegate.streamed_render(message_id)
        if pending is None:
            return
        content, dark = pending
        html = await asyncio.to_thread(render_markdown, content, dark=dark)
        if not self.closed:
            delegate.confirm_render(message_id, content, html)
