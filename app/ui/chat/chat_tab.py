"""The Chat tab: thread sidebar, profile/model header, the message view and the composer.

The tab builds the widgets and wires the collaborators; it holds no stream logic itself:

- `self.tasks` is the tab's own `TaskOwner` (passed in, or made from the app's), `self.spawn` the
  one guarded spawn over it (`async_bridge.Spawner`): closing the tab cancels all its work;
- `self.replies` (`reply_stream.ReplyStream`) owns the replies being streamed: start, the 30 Hz
  tick, Stop, the final state of the row, storage problems;
- `message_actions`, `sidebar`, `thread_settings` are controllers given what they use.

Signals (`replyStarted`, `replyFinished`, `threadOpened`, `rowsFetched`, `revealed`, `threadsReloaded`,
`modelsLoaded`, `storage_problem`, `openThreadChanged`) let tests and the main window await what
the tab did instead of polling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError
from app.ui.async_bridge import Spawner
from app.ui.chat.composer.composer import Composer, message_limit
from app.ui.chat.messages.message_actions import MessageActions
from app.ui.chat.messages.message_model import (
    ChatRow,
    MessageModel,
    new_temp_id,
    row_from_message,
)
from app.ui.chat.messages.message_view import MessageView
from app.ui.chat.messages.reply_stream import (
    BUG_SENTENCE,
    TICK_MS,
    ReplyStream,
    Stream,
    waiting_text,
)
from app.ui.chat.model_combo import connect_model_chosen, model_combo
from app.ui.chat.profile_banner import MissingProfileBanner, missing_profile_reason
from app.ui.chat.sidebar.sidebar_controller import SidebarController
from app.ui.chat.sidebar.thread_list import ThreadList
from app.ui.chat.thread_settings import CHAT_MIN_WIDTH, TabHooks, ThreadSettingsController

if TYPE_CHECKING:
    from app.core.providers import ProviderProfile
    from app.core.services.tasks import TaskOwner
    from app.core.store.threads import PathWindow
    from app.ui.context import AppContext

__all__ = ["BUG_SENTENCE", "TICK_MS", "ChatTab", "waiting_text"]

log = logging.getLogger(__name__)

# Opening a thread reads this many of its newest messages (the view opens at the bottom): more
# than fill a tall window, so the first screen never waits for a second read. Older ones are
# read this many at a time as the user scrolls up (and newer ones below an old search hit).
OPEN_TAIL = 50
LOAD_BATCH = 100
DEMO_BADGE = "Demo (offline)"


def citation_links(system_prompt: str) -> Callable[[str], str] | None:
    """For a thread made by Notes' "Ask about these" (its system prompt numbers the hits, each
    with its `switchboard-note://` link): a filter turning the replies' bare `[n]` citations
    into those links. None for any other thread."""
    if "switchboard-note://" not in system_prompt:
        return None
    from app.core.notes.citations import linkify_citations, numbering_from_prompt  # urllib: lazily

    numbering = numbering_from_prompt(system_prompt)
    if not numbering:
        return None
    return lambda text: linkify_citations(text, numbering)


class ChatTab(QWidget):
    """Chat with the active provider profile; one reply streams at a time."""

    replyStarted = Signal(int)  # assistant message id (stored)
    replyFinished = Signal(int)  # assistant message id (<0 when nothing was stored)
    threadOpened = Signal(int)  # thread id (0 for a new, not yet saved thread)
    rowsFetched = Signal(int)  # thread id: rows beyond the window were read and inserted
    revealed = Signal(int)  # message id: `reveal_message` put it on screen (perhaps after a read)
    threadsReloaded = Signal()
    modelsLoaded = Signal(list)  # model ids offered for the active profile
    # A write failed while a reply streamed (disk full, a value too large): the sentence, for the
    # main window's status bar; "" once a later reply was recorded again.
    storage_problem = Signal(str)

    # The open thread's (profile id, model); ("", "") when no thread is open. The status bar
    # shows the open thread's model this way, not the active profile's.
    openThreadChanged = Signal(str, str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, tasks: TaskOwner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatTab")
        self.setAccessibleName("Chat")
        self.ctx = ctx
        # The tab's own task owner: closing the tab cancels its work and nothing else's.
        self.tasks = tasks if tasks is not None else ctx.task_owner("chat tab")
        self.spawn = Spawner(
            self.tasks,
            on_known_error=lambda exc: ctx.events.statusMessage.emit(exc.user_message),
            widget=self,
        )
        self._announced_thread: tuple[str, str] | None = None
        self._thread_id: int | None = None
        self._open_generation = 0
        self._models_generation = 0
        self._closed = False
        self._shown_profile_id = ""
        self._leaf_id: int | None = None  # the leaf of the open path (its window's end)

        self._build_ui()
        self.replies = ReplyStream(
            spawn=self.spawn,
            threads=ctx.threads,
            model=self.message_model,
            view=self.message_view,
            after_reply=self._after_reply,
            parent=self,
        )
        self.replies.replyStarted.connect(self.replyStarted)
        self.replies.replyFinished.connect(self.replyFinished)
        self.replies.storageProblem.connect(self.storage_problem)
        self.replies.busyChanged.connect(self._on_busy)
        self._connect()
        # Per-message actions: edit, regenerate, continue, delete, versions (message_actions.py).
        self.message_actions = MessageActions(
            spawn=self.spawn,
            replies=self.replies,
            chat=ctx.chat,
            threads=ctx.threads,
            model=self.message_model,
            view=self.message_view,
            current_thread=lambda: self._thread_id,
            selection=self._selection,
            retry=self.retry,
            status=ctx.events.statusMessage.emit,
            thread_opened=self.threadOpened,
            reply_started=self.replyStarted,
            reply_finished=self.replyFinished,
            parent=self,
            # Looked up when used: the notes service is built after the composer is ready.
            save_note=lambda message_id: ctx.notes.save_message_as_note(message_id),
        )

        ctx.events.activeProfileChanged.connect(self._on_active_profile_changed)
        ctx.events.profilesChanged.connect(self._on_profiles_changed)
        self.refresh_profile()
        self.spawn(self.reload_threads())

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
        self.model_combo = model_combo(
            self, object_name="modelCombo", accessible="Model", edit_accessible="Model name",
            min_chars=22,
        )
        self.model_combo.setToolTip("The model for the next reply; pick one or type its name.")
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
        # Shown while the open thread's provider profile no longer exists (profile_banner.py).
        self.profile_banner = MissingProfileBanner(self)
        right_layout.addWidget(self.profile_banner)
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
        self.thread_settings = ThreadSettingsController(
            ctx=self.ctx,
            spawn=self.spawn,
            hooks=TabHooks(
                current_thread=lambda: self._thread_id,
                current_model=self.current_model,
                set_model=self.set_model,
                shown_profile_id=lambda: self._shown_profile_id,
                refresh_profile=self.refresh_profile,
                start_new_thread=self.start_new_thread,
                focus_composer=self.focus_composer,
            ),
            composer=self.composer,
            messages=self.message_model,
            view=self.message_view,
            model_combo=self.model_combo,
            new_button=self.thread_list.new_button,
            splitter=self.splitter,
            parent=self,
        )
        header.addWidget(self.thread_settings.toggle_button)
        # The settings panel joins the splitter (third column) when it is first opened.
        # An explicit minimum for the messages column: its size hint (~420 px, the header row)
        # made sidebar + messages + panel wider than the smallest window, and Qt then squeezed
        # the panel under its own minimum, cutting its right edge off.
        column = self.splitter.widget(1)
        if column is not None:
            column.setMinimumWidth(CHAT_MIN_WIDTH)

    def _connect(self) -> None:
        self._new_shortcut.activated.connect(self.start_new_thread)
        self._focus_shortcut.activated.connect(self.focus_composer)
        self._stop_shortcut.activated.connect(self.stop)
        self._retry_shortcut.activated.connect(self.retry_last)
        self.thread_list.newThreadRequested.connect(self.start_new_thread)
        self.thread_list.threadActivated.connect(self._on_thread_activated)
        self.thread_list.renameRequested.connect(lambda tid, title: self.spawn(self.rename_thread(tid, title)))
        self.thread_list.deleteRequested.connect(lambda tid: self.spawn(self.delete_thread(tid)))
        self.thread_list.pinRequested.connect(lambda tid, pinned: self.spawn(self.pin_thread(tid, pinned)))
        # Archive, delete-with-undo, search, export and automatic titles (sidebar_controller.py).
        self.sidebar = SidebarController(
            ctx=self.ctx,
            thread_list=self.thread_list,
            spawn=self.spawn,
            current_thread=lambda: self._thread_id,
            closed=lambda: self._closed,
            start_new_thread=self.start_new_thread,
            # Search hits and undo reopen threads without moving the focus (unless it is lost).
            open_thread=lambda tid: self.open_thread(tid, focus=False),
            reload_threads=self.reload_threads,
            reveal_message=self.reveal_message,
            parent=self,
        )
        self.profile_banner.profileChosen.connect(self._on_banner_profile)
        self.composer.sendRequested.connect(self.send)
        self.composer.stopRequested.connect(self.stop)
        self.composer.retryRequested.connect(self.retry_last)
        self.message_view.retryRequested.connect(self.retry)
        self.model_combo.currentTextChanged.connect(self._on_model_text_changed)
        connect_model_chosen(self.model_combo, self._announce_model)
        self.message_model.rowsInserted.connect(self._refresh_retry)
        self.message_model.modelReset.connect(self._refresh_retry)
        self.message_model.dataChanged.connect(self._refresh_retry)
        self.message_model.olderRequested.connect(self._fetch_older)
        self.message_model.newerRequested.connect(self._fetch_newer)

    # --- tasks -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Cancel this tab's streams and background work and wait until they have finished."""

        self._closed = True
        # The tab may already be destroyed (its owner deleted it first): its Python tasks still
        # need cancelling, but its Qt parts must not be touched.
        for signal, slot in (
            (self.ctx.events.activeProfileChanged, self._on_active_profile_changed),
            (self.ctx.events.profilesChanged, self._on_profiles_changed),
        ):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError, SystemError):
                # SystemError: PySide6 reports a slot bound to a destroyed tab this way.
                pass
        await self.replies.aclose()
        await self.tasks.aclose()
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
            *self.replies.emitters(),
            *self.thread_settings.emitters(),
        ]
        for emitter in emitters:
            if emitter is not None and shiboken6.isValid(emitter):
                emitter.blockSignals(True)

    # --- profile and model -----------------------------------------------------------------

    def profile(self) -> ProviderProfile | None:
        """The open thread's profile (its settings are authoritative), else the active one."""
        return self.thread_settings.profile()

    @property
    def storage_problem_text(self) -> str:
        """The last write failure's sentence, "" when the latest reply was recorded fine."""
        return self.replies.storage_problem_text

    @property
    def shown_profile_id(self) -> str:
        """The profile whose name and models the header shows ("" when none)."""
        return self._shown_profile_id

    def _selection(self) -> tuple[str, str]:
        """(profile id, model) a new reply would use; "" for what is not set."""
        profile = self.profile()
        return (profile.id if profile is not None else "", self.current_model())

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
        missing = self.thread_settings.missing_profile_id
        if profile is None and missing:
            self.profile_label.setText("Provider missing")
            self.profile_label.setToolTip(missing_profile_reason(missing))
            self.profile_label.show()
            self.demo_badge.hide()
        elif profile is None:
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
            self.spawn(self._load_models(profile.id, self._models_generation))

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
        missing = self.thread_settings.missing_profile_id
        self.profile_banner.show_missing(missing, [(p.id, p.name) for p in self.ctx.profile_list])
        if self.profile() is None and missing:
            reason = missing_profile_reason(missing)
        elif self.profile() is None:
            reason = "No provider profile is active. Add or pick one in Settings → Providers."
        elif not self.current_model():
            reason = "No model is set. Pick a model above or type its name."
        else:
            reason = ""
        self.composer.set_blocked_reason(reason)
        self.thread_settings.on_header_changed()
        self._announce_open_thread()

    def _on_banner_profile(self, profile_id: str) -> None:
        """The user chose which provider the thread (whose profile is gone) uses from now on."""
        self.thread_settings.set_profile(profile_id)
        self._update_blocked_reason()
        self.focus_composer()

    def _announce_open_thread(self) -> None:
        """Emit `openThreadChanged` when the open thread, its profile or its model changed."""
        if self._thread_id is None:
            state = ("", "")
        else:
            profile = self.profile()
            state = (profile.id if profile is not None else "", self.current_model())
        if state != self._announced_thread:
            self._announced_thread = state
            self.openThreadChanged.emit(*state)

    # --- threads ---------------------------------------------------------------------------

    @property
    def current_thread_id(self) -> int | None:
        return self._thread_id

    async def reload_threads(self) -> None:
        # The first page of the live and of the archived threads (light queries, no JSON);
        # the sidebar reads more pages as it scrolls (issue 9: 100,000 threads).
        await self.thread_list.reload(self.ctx.threads, self.spawn, current_id=self._thread_id)
        self.threadsReloaded.emit()

    def start_new_thread(self) -> None:
        """Show an empty conversation; the thread is stored when its first message is sent."""
        self._open_generation += 1
        self._thread_id = None
        self._leaf_id = None
        self.message_view.message_delegate.set_text_filter(None)
        self.message_view.message_delegate.forget()
        self.message_model.clear()
        self.thread_settings.reset_for_new_thread()
        self.thread_list.select_thread(None)
        self._update_blocked_reason()  # a missing profile's banner goes; openThreadChanged
        self.focus_composer()
        self.threadOpened.emit(0)

    async def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        """Show the thread's visible path (root to its selected leaf); with `focus` the composer
        gets the keyboard focus (else only when focus was nowhere in the tab).

        Only the newest `OPEN_TAIL` messages are read (the view opens at the bottom); older
        ones are read `LOAD_BATCH` at a time as the user scrolls up (`_fetch_older`).
        """
        self._open_generation += 1
        generation = self._open_generation
        thread = await self.ctx.threads.get_thread(thread_id, include_deleted=False)
        window: PathWindow | None = None
        if thread is not None:
            # A completion thread shows all its text as one document: read it whole.
            tail_size = OPEN_TAIL if thread.kind != "completion" else 2**31 - 1
            window = await self.ctx.threads.path_tail(thread_id, tail_size)
        if generation != self._open_generation or self._closed:
            return  # the user opened another thread meanwhile
        if thread is None or window is None:
            await self.reload_threads()
            return
        self._thread_id = thread_id
        self.thread_settings.load_thread(thread)  # its profile, prompt, params and kind
        self.message_view.message_delegate.set_text_filter(citation_links(thread.system_prompt))
        self._show_window(window)
        self.thread_list.select_thread(thread_id)
        profile = self.profile()
        if thread.model and profile is not None and thread.profile_id == profile.id:
            self.set_model(thread.model)
        self._update_blocked_reason()  # the banner of a missing profile; openThreadChanged
        self.message_view.follow_bottom()
        if focus or self._focus_is_lost():
            self.focus_composer()
        self.threadOpened.emit(thread_id)

    def _show_window(self, window: PathWindow) -> None:
        rows = [row_from_message(m) for m in window.messages]
        stream = self.replies.active
        if stream is not None and stream.latest is not None:
            # The reply streaming into this thread continues to update its row.
            for row in rows:
                if row.id == stream.latest.assistant_message_id:
                    row.status = "streaming"
        self.message_view.message_delegate.forget()
        self._leaf_id = window.leaf_id
        self.message_model.set_rows(rows, has_older=window.has_older, has_newer=window.has_newer)

    def _fetch_older(self) -> None:
        self.spawn(self._read_beyond(self._open_generation, older=True))

    def _fetch_newer(self) -> None:
        self.spawn(self._read_beyond(self._open_generation, older=False))

    async def _read_beyond(self, generation: int, *, older: bool) -> None:
        """Read `LOAD_BATCH` rows above the window's first row (or below its last, towards the
        leaf) by keyset and insert them; the view keeps what is on screen in place."""
        model = self.message_model
        thread_id = self._thread_id
        try:
            if not model.rows or thread_id is None:
                return
            if older:
                key = model.row(0).id
                messages = await self.ctx.threads.path_above(key, LOAD_BATCH)
            else:
                key = model.row(model.rowCount() - 1).id
                leaf = self._leaf_id
                messages = [] if leaf is None else await self.ctx.threads.path_below(leaf, key, LOAD_BATCH)
            if generation != self._open_generation or self._closed or not model.rows:
                return
            rows = [row_from_message(m) for m in messages]
            if older:
                if model.row(0).id != key:
                    return  # the window changed meanwhile (another branch, a reset)
                has_older = bool(messages) and messages[0].parent_id is not None
                model.fetching = False
                model.prepend_rows(rows, has_older=has_older)
            else:
                if model.row(model.rowCount() - 1).id != key:
                    return
                has_newer = bool(messages) and messages[-1].id != self._leaf_id
                model.fetching = False
                model.extend_rows(rows, has_newer=has_newer)
        finally:
            model.fetching = False
        self.rowsFetched.emit(thread_id)

    async def _return_to_tail(self) -> None:
        """A window opened around an old message goes back to the path's newest rows."""
        thread_id = self._thread_id
        if thread_id is None:
            return
        generation = self._open_generation
        window = await self.ctx.threads.path_tail(thread_id, OPEN_TAIL)
        if generation == self._open_generation and not self._closed:
            self._show_window(window)
            self.message_view.follow_bottom()

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
        active = self.replies.active
        if active is not None and active.thread_id == thread_id:
            self.stop()
        return await self.sidebar.delete_with_undo(thread_id)

    def reveal_message(self, message_id: int) -> bool:
        """Scroll the open thread to a message (centred) and select it.

        A message of the path outside the window (an old search hit) is read with the rows
        around it (`path_around`), then shown; `revealed` is emitted once it is on screen.
        False when no thread is open.
        """
        if self._scroll_to_message(message_id):
            self.revealed.emit(message_id)
            return True
        if self._thread_id is None:
            return False
        self.spawn(self._jump_to(message_id, self._open_generation))
        return True

    async def _jump_to(self, message_id: int, generation: int) -> None:
        thread_id = self._thread_id
        if thread_id is None:
            return
        window = await self.ctx.threads.path_around(thread_id, message_id, LOAD_BATCH // 2, LOAD_BATCH // 2)
        if generation != self._open_generation or self._closed or thread_id != self._thread_id:
            return
        if window is None:
            self.ctx.events.statusMessage.emit("That message is not in this conversation any more.")
            return
        self._show_window(window)
        self.message_view.stop_following()
        if self._scroll_to_message(message_id):
            self.revealed.emit(message_id)

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
        return self.replies.is_streaming

    @property
    def closed(self) -> bool:
        """True once `aclose()` began: controllers stop updating widgets then."""
        return self._closed

    def focus_composer(self) -> None:
        self.composer.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _focus_is_lost(self) -> bool:
        """True when keyboard focus is nowhere useful for this tab: on no widget, a hidden or
        disabled one (the first-run panel's button, the Stop button), or outside the tab."""
        focused = self.window().focusWidget()
        return (
            focused is None
            or not focused.isVisible()
            or not focused.isEnabled()
            or not (focused is self or self.isAncestorOf(focused))
        )

    def _focus_unless_typing_elsewhere(self) -> None:
        """Give the composer focus unless the user is typing in another text field of the tab
        (the search box, the system prompt, the edit panel): a reply ending must not steal it."""
        focused = self.window().focusWidget()
        typing = isinstance(focused, (QLineEdit, QPlainTextEdit, QTextEdit)) and focused is not self.composer.edit
        if self._focus_is_lost() or not typing:
            self.focus_composer()

    def showEvent(self, event: QShowEvent) -> None:
        """Shown (start-up, the demo started, back from another tab): typing goes to the composer
        without a click, unless focus is already somewhere in the tab."""
        super().showEvent(event)
        if self._focus_is_lost():
            self.focus_composer()

    def _on_thread_activated(self, thread_id: int) -> None:
        # Arrow keys in the sidebar open threads as they go: keep the focus there then; a click
        # (or any other way in) puts the cursor in the composer once the thread is open.
        browsing = self.thread_list.list.hasFocus() and QApplication.mouseButtons() == Qt.MouseButton.NoButton
        self.spawn(self.open_thread(thread_id, focus=not browsing))

    def send(self, text: str | None = None) -> bool:
        """Send `text` (default: the composer's) to the current thread. False when not possible."""
        text = self.composer.text if text is None else text
        # The thread's settings and the composer's attachments (thread_settings.Outgoing).
        outgoing = self.thread_settings.outgoing(text)
        profile = self.profile()
        model = self.current_model()
        if self._closed or self.replies.active is not None or outgoing.empty:
            return False
        if profile is None or not model:
            self._update_blocked_reason()
            return False
        # Too big to send: refused here, before anything is stored or sent (never half-sent).
        refusal = self.composer.size_refusal(outgoing.text)
        if refusal:
            self.composer.show_size_refusal(refusal)
            return False
        if self.message_model.has_newer:
            # A window around an old message: the reply goes below the newest one, shown first.
            self.spawn(self._send_after_tail(text))
            return True
        self.composer.clear()
        user_row = ChatRow(id=new_temp_id(), role="user", content=outgoing.text)
        reply_row = ChatRow(id=new_temp_id(), role="assistant", model=model, status="streaming")
        self.message_model.append_row(user_row)
        self.message_model.append_row(reply_row)
        stream = Stream(row_id=reply_row.id, user_row_id=user_row.id, text=text, thread_id=self._thread_id)
        stream.outgoing = outgoing
        self.replies.start(stream, lambda: self._send_progress(stream, profile.id, model))
        return True

    async def _send_after_tail(self, text: str | None) -> None:
        await self._return_to_tail()
        if not self.message_model.has_newer:
            self.send(text)

    def retry_last(self) -> None:
        rows = self.message_model.rows
        if rows and rows[-1].status == "error":
            self.retry(rows[-1].id)

    def retry(self, message_id: int) -> bool:
        """Ask again for a failed reply: a new sibling of a stored reply, else a fresh send."""
        if self.replies.active is not None or self._closed:
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
        stream = Stream(row_id=reply_row.id, user_row_id=parent_row, text="", thread_id=self._thread_id)
        profile_id = profile.id

        async def progress() -> Any:
            return self.ctx.chat.regenerate(message_id, profile_id=profile_id, model=model)

        self.replies.start(stream, progress)
        return True

    def stop(self) -> None:
        """Cancel the streaming reply now; its partial text stays, marked cancelled."""
        self.replies.stop()

    def _on_busy(self, busy: bool) -> None:
        if self._closed:
            return
        self.composer.set_streaming(busy)
        self._stop_shortcut.setEnabled(busy)
        self._refresh_retry()
        if not busy:
            self._focus_unless_typing_elsewhere()

    async def _after_reply(self, stream: Stream, failed: bool) -> None:
        """Name the thread after its first message, then show the sidebar's new state."""
        if stream.thread_id is not None:
            await self.sidebar.auto_title(stream.thread_id)
        await self._reload_threads_quietly()

    async def _send_progress(self, stream: Stream, profile_id: str, model: str) -> Any:
        """Store the thread (new) or its settings, then start the service's send."""
        thread_id = stream.thread_id
        if thread_id is None:
            # Named after its first message by ChatService.auto_title (see _after_reply).
            thread = await self.ctx.threads.create_thread(
                "New chat",
                profile_id=profile_id,
                model=model,
                **(stream.outgoing.thread_fields() if stream.outgoing is not None else {}),
            )
            thread_id = thread.id
            stream.thread_id = thread_id
            if self._thread_id is None and self.replies.active is stream:
                self._thread_id = thread_id
                self._announce_open_thread()
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

    async def _reload_threads_quietly(self) -> None:
        try:
            await self.reload_threads()
        except SwitchboardError as exc:
            log.warning("could not reload threads: %s", exc)

    def _refresh_retry(self, *_args: Any) -> None:
        rows = self.message_model.rows
        self.composer.set_retry_available(bool(rows) and rows[-1].status == "error" and self.replies.active is None)
