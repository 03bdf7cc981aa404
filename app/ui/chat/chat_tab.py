"""The Chat tab: thread sidebar, profile/model header, the message view and the composer.

The tab adapts `ChatService`'s async iterator of `ReplyProgress` to the view:

- a send runs as a task started through `ctx.spawn` and kept by the tab (so `aclose()` and Stop
  can cancel it); the newest progress is stored, and a 30 Hz timer copies it into the model's
  streaming row, so a fast stream costs at most ~30 re-renders a second, of one row only;
- Stop/Esc cancels the task at once: the row keeps its partial text and shows "cancelled"
  immediately, and the service records the same status in the database;
- a known error ends the reply as an *error row* (status `error`, the sentence and provider
  message, a Retry action) — never as assistant text; a cut-off stream ends `interrupted`
  ("the connection ended before the reply finished", Continue / Regenerate);
- while the client waits (a retry, a non-streamed reply) the pending row says so
  (`ReplyProgress.notice` -> `ChatRow.waiting`, a retry counted down by the tick);
- a write that fails while streaming (disk full, a value too large) ends the reply `error`
  with its whole text kept in the row (`ChatRow.unsaved`: Copy text / Save as…), and
  `storage_problem(sentence)` tells the main window ("" once a reply is recorded again);
- a bug in a stream still ends it (row `error`, Send enabled again), then goes on to the
  excepthook through the TaskOwner.

Signals (`replyStarted`, `replyFinished`, `threadOpened`, `threadsReloaded`, `modelsLoaded`,
`storage_problem`)
let tests and the main window await what the tab did instead of polling.

Extension points for the next version (search, branches, export): threads are opened by id
(`open_thread`), the visible path comes from `ThreadRepository.current_path`, and rows carry
`parent_id`, so a branch switcher only needs to call `select_leaf` and `open_thread` again.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import StorageError, SwitchboardError
from app.ui.async_bridge import close_if_unstarted
from app.ui.chat.composer import Composer, message_limit
from app.ui.chat.markdown_render import render_markdown
from app.ui.chat.message_actions import MessageActions
from app.ui.chat.message_model import (
    ChatRow,
    MessageModel,
    image_parts,
    new_temp_id,
    placeholder_row,
    row_from_message,
)
from app.ui.chat.message_view import MessageView
from app.ui.chat.sidebar_controller import SidebarController
from app.ui.chat.thread_list import ThreadList
from app.ui.chat.thread_settings import ThreadSettingsController

if TYPE_CHECKING:
    from app.core.protocol.types import StreamNotice
    from app.core.providers import ProviderProfile
    from app.core.services.chat import ReplyProgress
    from app.core.store.threads import PathEntry
    from app.ui.context import AppContext

__all__ = ["BUG_SENTENCE", "TICK_MS", "ChatTab", "title_from_text", "waiting_text"]

log = logging.getLogger(__name__)

# The streaming row is re-rendered at most this often (~30 times a second).
TICK_MS = 33
# Opening a thread reads this many of its newest messages first (the view opens at the bottom);
# the rest are placeholders filled in batches after the first paint, rows on screen first.
OPEN_TAIL = 60
LOAD_BATCH = 250
FIRST_PAINT_WAIT_S = 0.25  # a hidden view never paints: start filling anyway after this
DEMO_BADGE = "Demo (offline)"
# The row of a reply that a bug stopped (the details go to the crash dialog and the log).
BUG_SENTENCE = (
    "Something went wrong inside Switchboard, so this reply stopped ({kind}). The details are in "
    "the crash report and the log. Send again, or start a new chat."
)


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


def title_from_text(text: str, limit: int = 48) -> str:
    """A thread title from the first message: its first non-empty line, shortened."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return "New chat"


@dataclass
class _Stream:
    """One reply being streamed by this tab."""

    row_id: int  # the assistant row's id in the model (temporary until the first progress)
    user_row_id: int
    text: str
    thread_id: int | None = None
    task: asyncio.Future[Any] | None = None
    latest: ReplyProgress | None = None
    dirty: bool = False
    stopped: bool = False
    outgoing: Any = None  # thread_settings.Outgoing: content, kind, prompt, params of a send
    # The notice being counted down (a retry wait) and when its wait ends (time.monotonic).
    notice: StreamNotice | None = None
    notice_ends: float = 0.0
    shown_waiting: str = ""


class ChatTab(QWidget):
    """Chat with the active provider profile; one reply streams at a time."""

    replyStarted = Signal(int)  # assistant message id (stored)
    replyFinished = Signal(int)  # assistant message id (<0 when nothing was stored)
    threadOpened = Signal(int)  # thread id (0 for a new, not yet saved thread)
    pathLoaded = Signal(int)  # thread id: every row of the opened path has its message read
    threadsReloaded = Signal()
    modelsLoaded = Signal(list)  # model ids offered for the active profile
    # A write failed while a reply streamed (disk full, a value too large): the sentence, for the
    # main window's status bar; "" once a later reply was recorded again.
    storage_problem = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatTab")
        self.setAccessibleName("Chat")
        self.ctx = ctx
        self._thread_id: int | None = None
        self._stream: _Stream | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._open_generation = 0
        self._models_generation = 0
        self._closed = False
        self._last_apply = 0.0
        self._shown_profile_id = ""
        self._wanted: list[int] = []  # placeholder rows to read next (on screen, revealed)
        self._reveal_pending: int | None = None
        self._storage_problem = ""

        self._build_ui()
        self._connect()
        # Per-message actions: edit, regenerate, continue, delete, versions (message_actions.py).
        self.message_actions = MessageActions(self)

        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._apply_progress)

        ctx.events.activeProfileChanged.connect(self._on_active_profile_changed)
        ctx.events.profilesChanged.connect(self._on_profiles_changed)
        self.refresh_profile()
        self._spawn(self.reload_threads())

    # --- construction ----------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.thread_list = ThreadList(self)

        self.profile_label = QLabel(self)
        self.profile_label.setObjectName("profileName")
        self.profile_label.setAccessibleName("Provider profile")
        self.profile_label.setProperty("role", "subheading")
        self.profile_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.demo_badge = QLabel(DEMO_BADGE, self)
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setAccessibleName("This is the offline demo provider")
        self.demo_badge.setProperty("role", "demoBadge")
        self.demo_badge.hide()

        self.model_label = QLabel("&Model", self)
        self.model_combo = QComboBox(self)
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setAccessibleName("Model")
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.setMinimumContentsLength(22)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setToolTip("The model for the next reply; pick one or type its name.")
        line_edit = self.model_combo.lineEdit()
        if line_edit is not None:
            line_edit.setPlaceholderText("model name")
            line_edit.setAccessibleName("Model name")
        self.model_label.setBuddy(self.model_combo)

        header = QHBoxLayout()
        header.setContentsMargins(12, 8, 12, 4)
        header.setSpacing(8)
        header.addWidget(self.profile_label)
        header.addWidget(self.demo_badge)
        header.addStretch(1)
        header.addWidget(self.model_label)
        header.addWidget(self.model_combo)

        self.message_model = MessageModel(self)
        self.message_view = MessageView(self)
        self.message_view.setModel(self.message_model)
        self.message_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.composer = Composer(self)
        self.composer.set_message_limit(message_limit(self.ctx.settings))

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addLayout(header)
        right_layout.addWidget(self.message_view, 1)
        right_layout.addWidget(self.composer)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(self.thread_list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 770])
        self.splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.splitter)

        # Keyboard order: threads, then header, conversation, composer and its buttons.
        QWidget.setTabOrder(self.thread_list.new_button, self.thread_list.list)
        QWidget.setTabOrder(self.thread_list.list, self.model_combo)
        QWidget.setTabOrder(self.model_combo, self.message_view)
        QWidget.setTabOrder(self.message_view, self.composer.edit)
        QWidget.setTabOrder(self.composer.edit, self.composer.send_button)
        QWidget.setTabOrder(self.composer.send_button, self.composer.stop_button)
        QWidget.setTabOrder(self.composer.stop_button, self.composer.retry_button)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self._new_shortcut = QShortcut(QKeySequence("Ctrl+N"), self, context=context)
        self._focus_shortcut = QShortcut(QKeySequence("Ctrl+L"), self, context=context)
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=context)
        self._stop_shortcut.setEnabled(False)
        self._retry_shortcut = QShortcut(QKeySequence("Ctrl+R"), self, context=context)

        # Per-thread settings panel, personas, completion threads, attachments (thread_settings.py).
        self.thread_settings = ThreadSettingsController(self)
        header.addWidget(self.thread_settings.toggle_button)
        self.splitter.addWidget(self.thread_settings.panel)
        self.splitter.setStretchFactor(self.splitter.indexOf(self.thread_settings.panel), 0)

    def _connect(self) -> None:
        self._new_shortcut.activated.connect(self.start_new_thread)
        self._focus_shortcut.activated.connect(self.focus_composer)
        self._stop_shortcut.activated.connect(self.stop)
        self._retry_shortcut.activated.connect(self.retry_last)
        self.thread_list.newThreadRequested.connect(self.start_new_thread)
        self.thread_list.threadActivated.connect(lambda tid: self._spawn(self.open_thread(tid)))
        self.thread_list.renameRequested.connect(lambda tid, title: self._spawn(self.rename_thread(tid, title)))
        self.thread_list.deleteRequested.connect(lambda tid: self._spawn(self.delete_thread(tid)))
        self.thread_list.pinRequested.connect(lambda tid, pinned: self._spawn(self.pin_thread(tid, pinned)))
        # Archive, delete-with-undo, search, export and automatic titles (sidebar_controller.py).
        self.sidebar = SidebarController(self)
        self.composer.sendRequested.connect(self.send)
        self.composer.stopRequested.connect(self.stop)
        self.composer.retryRequested.connect(self.retry_last)
        self.message_view.retryRequested.connect(self.retry)
        self.model_combo.currentTextChanged.connect(self._on_model_text_changed)
        self.model_combo.activated.connect(self._announce_model)
        line_edit = self.model_combo.lineEdit()
        if line_edit is not None:
            line_edit.editingFinished.connect(self._announce_model)
        self.message_model.rowsInserted.connect(self._refresh_retry)
        self.message_model.modelReset.connect(self._refresh_retry)
        self.message_model.dataChanged.connect(self._refresh_retry)
        self.message_view.message_delegate.loadRequested.connect(self._wanted.append)

    # --- tasks -----------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Future[Any] | None:
        """Start `coro` through the app's TaskOwner and keep it so `aclose()` can cancel it."""
        if self._closed:
            coro.close()
            return None

        async def guarded() -> Any:
            try:
                return await coro
            except SwitchboardError as exc:  # known errors go to the status bar, never lost
                log.info("chat: %s", exc)
                self.ctx.events.statusMessage.emit(exc.user_message)
                return None
            except RuntimeError:
                import shiboken6

                if self._closed and not shiboken6.isValid(self):
                    # The tab was destroyed while this task wound down: what it wrote to the
                    # database is done (the service records a cancelled reply itself); only its
                    # widgets are gone, so there is nothing left to update.
                    return None
                raise

        task = self.ctx.spawn(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Cancelled before its first step (e.g. by aclose): close `coro`, or it warns "never awaited".
        if inspect.iscoroutine(coro):
            task.add_done_callback(lambda _t: close_if_unstarted(coro))
        return task

    async def aclose(self) -> None:
        """Cancel this tab's streams and background work and wait until they have finished."""
        import shiboken6

        self._closed = True
        # The tab may already be destroyed (its owner deleted it first): its Python tasks still
        # need cancelling, but its Qt parts must not be touched.
        if shiboken6.isValid(self._tick):
            self._tick.stop()
        for signal, slot in (
            (self.ctx.events.activeProfileChanged, self._on_active_profile_changed),
            (self.ctx.events.profilesChanged, self._on_profiles_changed),
        ):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError, SystemError):
                # SystemError: PySide6 reports a slot bound to a destroyed tab this way.
                pass
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
        self._silence_children()

    def _silence_children(self) -> None:
        """Stop child signals reaching Python slots once closed.

        When the widget tree is destroyed, children being torn down still emit (the thread list's
        current item, the combo's text, the scroll range); a Python slot reached half-way
        through that destruction can touch an already deleted sibling and crash.
        """
        import shiboken6

        if not shiboken6.isValid(self) or not shiboken6.isValid(self.thread_list):
            return  # already destroyed (e.g. deleted before its async close): nothing can emit
        emitters = [
            self.thread_list.list,
            self.thread_list.list.selectionModel(),
            *self.thread_list.emitters(),
            self.model_combo,
            self.model_combo.lineEdit(),
            self.message_model,
            self.message_view.selectionModel(),
            self.message_view.verticalScrollBar(),
            self.message_view.message_delegate,
            *self.message_actions.emitters(),
            self.composer.edit,
            self.composer.edit.document(),
            self.composer.edit.document().documentLayout(),
            self._tick,
            *self.thread_settings.emitters(),
        ]
        for emitter in emitters:
            if emitter is not None and shiboken6.isValid(emitter):
                emitter.blockSignals(True)

    # --- profile and model -----------------------------------------------------------------

    def profile(self) -> ProviderProfile | None:
        """The open thread's profile (its settings are authoritative), else the active one."""
        return self.thread_settings.profile()

    def current_model(self) -> str:
        return self.model_combo.currentText().strip()

    def set_model(self, model: str) -> None:
        self.model_combo.setCurrentText(model)

    def _on_active_profile_changed(self, _profile_id: str) -> None:
        self.refresh_profile()

    def _on_profiles_changed(self) -> None:
        self.refresh_profile()

    def refresh_profile(self) -> None:
        """Show the active profile, reset the model to its default and list its models."""
        profile = self.profile()
        # An edit of the same profile keeps the model the user picked or typed.
        keep = self.current_model() if profile is not None and profile.id == self._shown_profile_id else ""
        self._shown_profile_id = profile.id if profile is not None else ""
        self._models_generation += 1
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        if profile is None:
            self.profile_label.setText("No provider")
            self.profile_label.setToolTip("Add or pick a provider in Settings → Providers.")
            self.demo_badge.hide()
        else:
            self.profile_label.setText(profile.name)
            self.profile_label.setToolTip(f"{profile.name} — {profile.base_url}")
            self.profile_label.setVisible(not (profile.is_demo and profile.name == DEMO_BADGE))
            self.demo_badge.setVisible(profile.is_demo)
            default = keep or self.thread_settings.default_model(profile)
            if default:
                self.model_combo.addItem(default)
            self.model_combo.setCurrentText(default)
        self.model_combo.blockSignals(False)
        self._update_blocked_reason()
        if profile is not None:
            self._spawn(self._load_models(profile.id, self._models_generation))

    async def _load_models(self, profile_id: str, generation: int) -> None:
        try:
            client = await self.ctx.clients.get(profile_id)
            models = await client.list_models()
        except SwitchboardError as exc:
            if generation == self._models_generation:
                self.model_combo.setToolTip(f"Could not list models: {exc.user_message} Type a model name.")
                self.modelsLoaded.emit([])
            return
        if generation != self._models_generation or self._closed:
            return
        # "chat" models, or "completion" ones in a completion thread.
        ids = [m.id for m in models if not m.capabilities or self.thread_settings.kind in m.capabilities]
        current = self.current_model()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        seen: set[str] = set()
        for model_id in ([current] if current else []) + ids:
            if model_id not in seen:
                seen.add(model_id)
                self.model_combo.addItem(model_id)
        self.model_combo.setCurrentText(current or (ids[0] if ids else ""))
        self.model_combo.blockSignals(False)
        self.model_combo.setToolTip("The model for the next reply; pick one or type its name.")
        self._update_blocked_reason()
        self.modelsLoaded.emit(ids)

    def _on_model_text_changed(self, _text: str) -> None:
        self._update_blocked_reason()

    def _announce_model(self, *_args: Any) -> None:
        profile = self.profile()
        if profile is not None and self.current_model():
            self.ctx.events.activeModelChanged.emit(profile.id, self.current_model())

    def _update_blocked_reason(self) -> None:
        if self.profile() is None:
            reason = "No provider profile is active. Add or pick one in Settings → Providers."
        elif not self.current_model():
            reason = "No model is set. Pick a model above or type its name."
        else:
            reason = ""
        self.composer.set_blocked_reason(reason)
        self.thread_settings.on_header_changed()

    # --- threads ---------------------------------------------------------------------------

    @property
    def current_thread_id(self) -> int | None:
        return self._thread_id

    async def reload_threads(self) -> None:
        # One light query (no JSON parsed), archived threads included: the sidebar's "Archived"
        # toggle filters them without another query.
        threads = await self.ctx.threads.list_thread_summaries(include_archived=True)
        self.thread_list.set_threads(threads, current_id=self._thread_id)
        self.threadsReloaded.emit()

    def start_new_thread(self) -> None:
        """Show an empty conversation; the thread is stored when its first message is sent."""
        self._open_generation += 1
        self._thread_id = None
        self.message_view.message_delegate.forget()
        self.message_model.clear()
        self.thread_settings.reset_for_new_thread()
        self.thread_list.select_thread(None)
        self.focus_composer()
        self.threadOpened.emit(0)

    async def open_thread(self, thread_id: int) -> None:
        """Show the thread's visible path (root to its selected leaf)."""
        self._open_generation += 1
        generation = self._open_generation
        thread = await self.ctx.threads.get_thread(thread_id, include_deleted=False)
        outline: list[PathEntry] = []
        tail: list[Any] = []
        if thread is not None:
            # A completion thread shows all its text as one document: read it whole.
            tail_size = OPEN_TAIL if thread.kind != "completion" else 2**31
            outline, tail = await self.ctx.threads.open_path(thread_id, tail_size)
        if generation != self._open_generation or self._closed:
            return  # the user opened another thread meanwhile
        if thread is None:
            await self.reload_threads()
            return
        self._thread_id = thread_id
        self.thread_settings.load_thread(thread)  # its profile, prompt, params and kind
        loaded = {m.id: m for m in tail}
        rows = [
            row_from_message(loaded[e.id]) if e.id in loaded
            else placeholder_row(e.id, e.parent_id, e.role, e.size, e.breaks)
            for e in outline
        ]
        stream = self._stream
        if stream is not None and stream.latest is not None:
            # The reply streaming into this thread continues to update its row.
            for row in rows:
                if row.id == stream.latest.assistant_message_id:
                    row.status = "streaming"
        self.message_view.message_delegate.forget()
        self._wanted.clear()
        self._reveal_pending = None
        self.message_model.set_rows(rows)
        self.thread_list.select_thread(thread_id)
        profile = self.profile()
        if thread.model and profile is not None and thread.profile_id == profile.id:
            self.set_model(thread.model)
        self.message_view.follow_bottom()
        if len(loaded) < len(rows):
            self._spawn(self._load_path(thread_id, generation))
        else:
            self.pathLoaded.emit(thread_id)
        self.threadOpened.emit(thread_id)

    async def _load_path(self, thread_id: int, generation: int) -> None:
        """Read the opened path's placeholder rows in batches: rows on screen or revealed
        first, then upward from the newest. Starts after the first paint, which it must not
        delay."""
        painted = asyncio.get_running_loop().create_future()

        def on_paint() -> None:
            if not painted.done():
                painted.set_result(None)

        self.message_view.painted.connect(on_paint)
        try:
            await asyncio.wait_for(painted, FIRST_PAINT_WAIT_S)
        except TimeoutError:
            pass
        finally:
            self.message_view.painted.disconnect(on_paint)
        model = self.message_model
        while generation == self._open_generation and not self._closed:
            ids = self._next_batch()
            if not ids:
                self.pathLoaded.emit(thread_id)
                return
            messages = await self.ctx.threads.messages_by_ids(ids)
            if generation != self._open_generation or self._closed:
                return
            rows = [row_from_message(m) for m in messages]
            found = {m.id for m in messages}
            # Deleted meanwhile: shown empty rather than "Loading…" for ever.
            rows += [ChatRow(id=i, role="system", loaded=True) for i in ids if i not in found]
            model.fill_rows(rows)
            pending = self._reveal_pending
            if pending is not None and pending in found:
                self._reveal_pending = None
                self._scroll_to_message(pending)

    def _next_batch(self) -> list[int]:
        """The next placeholder ids to read: around a wanted row, else the lowest ones left."""
        unloaded = self.message_model.unloaded_ids()
        if not unloaded:
            return []
        wanted, self._wanted[:] = list(self._wanted), []
        if self._reveal_pending is not None:
            wanted.append(self._reveal_pending)
        position = {message_id: i for i, message_id in enumerate(unloaded)}
        for message_id in reversed(wanted):
            at = position.get(message_id)
            if at is not None:
                start = max(0, min(at - LOAD_BATCH // 2, len(unloaded) - LOAD_BATCH))
                return unloaded[start : start + LOAD_BATCH]
        return unloaded[-LOAD_BATCH:]

    async def rename_thread(self, thread_id: int, title: str) -> None:
        await self.ctx.threads.rename(thread_id, title)
        await self.reload_threads()

    async def pin_thread(self, thread_id: int, pinned: bool) -> None:
        await self.ctx.threads.set_pinned(thread_id, pinned)
        await self.reload_threads()

    async def delete_thread(self, thread_id: int, *, confirmed: bool = False) -> bool:
        """Delete a thread at once, with Undo in the sidebar for a few seconds; True when deleted.

        `confirmed` is accepted for older callers; deleting no longer asks first.
        """
        if self._stream is not None and self._stream.thread_id == thread_id:
            self.stop()
        return await self.sidebar.delete_with_undo(thread_id)

    def reveal_message(self, message_id: int) -> bool:
        """Scroll the open thread to a message (centred) and select it; False if not shown."""
        if not self._scroll_to_message(message_id):
            return False
        row = self.message_model.row(self.message_model.find_row(message_id))
        if not row.loaded:
            # Not read yet (a long thread still filling in): read it next, then centre it again.
            self._reveal_pending = message_id
        return True

    def _scroll_to_message(self, message_id: int) -> bool:
        row = self.message_model.find_row(message_id)
        if row < 0:
            return False
        index = self.message_model.index(row, 0)
        self.message_view.doItemsLayout()
        self.message_view.scrollTo(index, self.message_view.ScrollHint.PositionAtCenter)
        self.message_view.setCurrentIndex(index)
        return True

    # --- sending ---------------------------------------------------------------------------

    @property
    def is_streaming(self) -> bool:
        return self._stream is not None

    def focus_composer(self) -> None:
        self.composer.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def send(self, text: str | None = None) -> bool:
        """Send `text` (default: the composer's) to the current thread. False when not possible."""
        text = self.composer.text if text is None else text
        # The thread's settings and the composer's attachments (thread_settings.Outgoing).
        outgoing = self.thread_settings.outgoing(text)
        profile = self.profile()
        model = self.current_model()
        if self._closed or self._stream is not None or outgoing.empty:
            return False
        if profile is None or not model:
            self._update_blocked_reason()
            return False
        # Too big to send: refused here, before anything is stored or sent (never half-sent).
        refusal = self.composer.size_refusal(outgoing.text)
        if refusal:
            self.composer.show_size_refusal(refusal)
            return False
        self.composer.clear()
        user_row = ChatRow(id=new_temp_id(), role="user", content=outgoing.text)
        reply_row = ChatRow(id=new_temp_id(), role="assistant", model=model, status="streaming")
        self.message_model.append_row(user_row)
        self.message_model.append_row(reply_row)
        stream = _Stream(row_id=reply_row.id, user_row_id=user_row.id, text=text, thread_id=self._thread_id)
        stream.outgoing = outgoing
        self._begin_stream(stream)
        stream.task = self._spawn(self._run_send(stream, profile.id, model))
        return True

    def retry_last(self) -> None:
        rows = self.message_model.rows
        if rows and rows[-1].status == "error":
            self.retry(rows[-1].id)

    def retry(self, message_id: int) -> bool:
        """Ask again for a failed reply: a new sibling of a stored reply, else a fresh send."""
        if self._stream is not None or self._closed:
            return False
        i = self.message_model.find_row(message_id)
        profile = self.profile()
        model = self.current_model()
        if i < 0 or profile is None or not model:
            return False
        row = self.message_model.row(i)
        if row.role != "assistant":
            return False
        if message_id < 0:
            # Nothing was stored (the send failed before it started): send the text again.
            user_text = self.message_model.row(i - 1).content if i > 0 else ""
            self.message_model.remove_rows_from(max(0, i - 1))
            return self.send(user_text)
        self.message_model.remove_rows_from(i)
        reply_row = ChatRow(id=new_temp_id(), role="assistant", model=model, status="streaming", parent_id=row.parent_id)
        self.message_model.append_row(reply_row)
        parent_row = self.message_model.row(i - 1).id if i > 0 else 0
        stream = _Stream(row_id=reply_row.id, user_row_id=parent_row, text="", thread_id=self._thread_id)
        self._begin_stream(stream)
        stream.task = self._spawn(self._run_regenerate(stream, message_id, profile.id, model))
        return True

    def stop(self) -> None:
        """Cancel the streaming reply now; its partial text stays, marked cancelled."""
        stream = self._stream
        if stream is None or stream.stopped:
            return
        stream.stopped = True
        self._apply_progress(force=True)
        i = self.message_model.find_row(stream.row_id)
        if i >= 0:
            self.message_model.update_row(i, status="cancelled")
        if stream.task is not None:
            stream.task.cancel()

    def _begin_stream(self, stream: _Stream) -> None:
        self._stream = stream
        self.composer.set_streaming(True)
        self._stop_shortcut.setEnabled(True)
        self.message_view.follow_bottom()
        self._tick.start()

    async def _run_send(self, stream: _Stream, profile_id: str, model: str) -> None:
        async def progress() -> Any:
            thread_id = stream.thread_id
            if thread_id is None:
                # Named after the first reply by ChatService.auto_title (see _finish_stream).
                thread = await self.ctx.threads.create_thread(
                    "New chat",
                    profile_id=profile_id,
                    model=model,
                    **(stream.outgoing.thread_fields() if stream.outgoing is not None else {}),
                )
                thread_id = thread.id
                stream.thread_id = thread_id
                if self._thread_id is None and self._stream is stream:
                    self._thread_id = thread_id
                await self.reload_threads()
            else:
                await self.ctx.threads.update_thread_settings(
                    thread_id,
                    profile_id=profile_id,
                    model=model,
                    **(stream.outgoing.update_fields() if stream.outgoing is not None else {}),
                )
            out = stream.outgoing
            return self.ctx.chat.send(
                thread_id,
                out.content if out is not None else stream.text,
                profile_id=profile_id,
                model=model,
                params=out.params if out is not None else None,
            )

        await self._consume(stream, progress)

    async def _run_regenerate(self, stream: _Stream, message_id: int, profile_id: str, model: str) -> None:
        async def progress() -> Any:
            return self.ctx.chat.regenerate(message_id, profile_id=profile_id, model=model)

        await self._consume(stream, progress)

    async def _consume(self, stream: _Stream, make_progress: Any) -> None:
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

    def _adopt_ids(self, stream: _Stream, step: ReplyProgress) -> None:
        """The first progress names the stored messages: give the temporary rows their ids."""
        reply = self.message_model.find_row(stream.row_id)
        if reply >= 0:
            self.message_model.update_row(reply, id=step.assistant_message_id, parent_id=step.user_message.id)
        if stream.user_row_id < 0:
            user = self.message_model.find_row(stream.user_row_id)
            if user >= 0:
                # The stored message's image parts: the row shows them as thumbnails.
                self.message_model.update_row(
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
        stream = self._stream
        if stream is None or stream.latest is None:
            return
        now = time.monotonic()
        waiting = self._waiting_for(stream, now)
        if not stream.dirty and waiting == stream.shown_waiting:
            return  # (a retry countdown changes the row without a new progress)
        if not force:
            cost = self.message_view.message_delegate.streaming_cost(stream.row_id)
            if now - self._last_apply < max(TICK_MS / 1000.0, 5 * cost):
                return
        self._last_apply = now
        stream.dirty = False
        i = self.message_model.find_row(stream.row_id)
        if i < 0:
            return  # another thread is on screen
        step = stream.latest
        row = self.message_model.row(i)
        if row.status != "streaming":
            return
        stream.shown_waiting = waiting
        self.message_model.update_row(
            i, content=step.content, reasoning=step.reasoning, refusal=step.refusal,
            dropped_turns=step.dropped_turns, alternatives_streaming=len(step.alternatives),
            waiting=waiting,
        )

    def _waiting_for(self, stream: _Stream, now: float) -> str:
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
        stream: _Stream,
        error: SwitchboardError | None,
        *,
        cancelled: bool,
        bug: BaseException | None = None,
    ) -> None:
        """End the reply in the view; whatever happens, the tab can send again afterwards."""
        try:
            await self._show_end(stream, error, cancelled=cancelled, bug=bug)
        finally:
            if self._stream is stream:
                self._stream = None
            if not self._closed:
                self.composer.set_streaming(False)
                self._stop_shortcut.setEnabled(False)
                self._refresh_retry()
        if not self._closed and stream.thread_id is not None and bug is None:
            if not cancelled and error is None:
                await asyncio.shield(self.sidebar.auto_title(stream.thread_id))
            await asyncio.shield(self._reload_threads_quietly())
        self.replyFinished.emit(stream.row_id)

    async def _show_end(
        self,
        stream: _Stream,
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
                final = await self.ctx.threads.get_message(step.assistant_message_id)
            except SwitchboardError as exc:
                log.warning("could not reload reply %s: %s", step.assistant_message_id, exc)
        bug_sentence = BUG_SENTENCE.format(kind=type(bug).__name__) if bug is not None else None
        i = self.message_model.find_row(stream.row_id)
        if i >= 0:
            row = self.message_model.row(i)
            if unsaved:
                assert step is not None
                self.message_model.update_row(
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
                self.message_model.update_row(i, **{k: v for k, v in vars(new).items() if k != "version"})
            elif cancelled:
                content = step.content if step is not None else row.content
                self.message_model.update_row(i, status="cancelled", content=content, waiting="")
            else:
                # The send failed before a reply was stored (e.g. no model, database error, a bug).
                if bug_sentence is not None:
                    message = bug_sentence
                else:
                    message = str(error) if error is not None else "The request failed."
                self.message_model.update_row(
                    i, status="error", error=message, waiting="",
                    content=step.content if step is not None else row.content,
                )
            if self.message_model.row(i).content and not self._closed:
                self._spawn(self._check_streamed_render(self.message_model.row(i).id))
        self._report_storage(step, error, cancelled=cancelled)

    def _report_storage(self, step: ReplyProgress | None, error: SwitchboardError | None, *, cancelled: bool) -> None:
        """Tell the main window (status bar) that writes fail, and when they work again."""
        problem = step.error if step is not None and isinstance(step.error, StorageError) else error
        if isinstance(problem, StorageError):
            self._storage_problem = problem.user_message
            self.storage_problem.emit(problem.user_message)
        elif self._storage_problem and not cancelled and step is not None and step.done and step.saved:
            self._storage_problem = ""
            self.storage_problem.emit("")

    @property
    def storage_problem_text(self) -> str:
        """The last write failure's sentence, "" when the latest reply was recorded fine."""
        return self._storage_problem

    async def _check_streamed_render(self, message_id: int) -> None:
        """A finished reply keeps the documents it streamed into (no full re-render on this
        thread); compare them with a full render made on a worker thread — markdown is pure
        Python, so the event loop keeps running — and show the full render if they differ."""
        i = self.message_model.find_row(message_id)
        if i < 0:
            return
        delegate = self.message_view.message_delegate
        self.message_view.row_layout(i)  # the finished body, if not painted yet
        pending = delegate.streamed_render(message_id)
        if pending is None:
            return
        content, dark = pending
        html = await asyncio.to_thread(render_markdown, content, dark=dark)
        if not self._closed:
            delegate.confirm_render(message_id, content, html)

    async def _reload_threads_quietly(self) -> None:
        try:
            await self.reload_threads()
        except SwitchboardError as exc:
            log.warning("could not reload threads: %s", exc)

    def _refresh_retry(self, *_args: Any) -> None:
        rows = self.message_model.rows
        self.composer.set_retry_available(bool(rows) and rows[-1].status == "error" and self._stream is None)
