"""The main window: Chat / Images / Notes / Videos tabs, menus, status bar and staged shutdown.

The window owns no services: it is given an AppContext (built in app.main) and, optionally, a
coroutine function that shuts the services down. Closing it is staged: the first close is
ignored while the tabs cancel their streams and the services finish; then it really closes and
emits `closed`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.card_layout import centered, fit_wrapped_labels
from app.ui.images.host import ImagesHost
from app.ui.labels import DEMO_NAME, keychain_sentence
from app.ui.notes.host import NotesHost
from app.ui.status_bar import StatusBar
from app.ui.theme import ThemeManager, ThemeMode
from app.ui.videos.host import VideosHost

if TYPE_CHECKING:
    import asyncio

    from app.core.providers import ProviderProfile
    from app.ui.context import AppContext
    from app.ui.settings_dialog import SettingsDialog

# Only what the first paint needs is imported at module level. The window is built in two steps
# (see app.main): a shell that paints at once, then `attach(ctx)` once the services (SQLite,
# keychain, HTTP) are loaded, so start-up costs about what a bare window costs.


log = logging.getLogger(__name__)

APP_TITLE = "Switchboard"
THEME_SETTING = "view/theme"
SIDEBAR_SETTING = "chat/sidebarWidth"
THEME_LABELS: tuple[tuple[ThemeMode, str], ...] = (
    ("system", "&System"),
    ("light", "&Light"),
    ("dark", "&Dark"),
)
DetectFn = Callable[[], Awaitable[list["ProviderProfile"]]]


def spawn_from_slot(ctx: AppContext, coro: Any) -> Any:
    from app.ui.async_bridge import spawn_from_slot as spawn

    return spawn(ctx, coro)


class FirstRunPanel(QWidget):
    """Shown on the Chat tab while there is no provider profile at all."""

    addProviderRequested = Signal()
    demoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 48, 48, 48)
        outer.addStretch(1)
        card = QFrame()
        # Fixed width: word-wrapped labels then get their full height (see card_layout.py).
        card.setFixedWidth(620)
        layout = QVBoxLayout(card)
        layout.setSpacing(14)

        heading = QLabel("Welcome to Switchboard")
        heading.setProperty("role", "heading")
        heading.setAccessibleName("Welcome to Switchboard")
        layout.addWidget(heading)

        intro = QLabel(
            "Chat with any OpenAI-compatible or Gemini endpoint, or with a model server on this "
            "computer such as Ollama or LM Studio. Add a provider to begin."
        )
        intro.setWordWrap(True)
        intro.setAccessibleName("What Switchboard does")
        layout.addWidget(intro)
        # Where keys go is said only once known (set_keychain_status), from the same check the
        # status bar uses: the two never contradict each other.
        self.keychain_label = QLabel(keychain_sentence(None))
        self.keychain_label.setWordWrap(True)
        self.keychain_label.setAccessibleName("Where API keys are kept")
        # Two lines reserved: the sentence for "no keychain" is longer than the others.
        self.keychain_label.setMinimumHeight(self.keychain_label.fontMetrics().lineSpacing() * 2)
        layout.addWidget(self.keychain_label)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add a provider…")
        self.add_button.setAccessibleName("Add a provider")
        self.add_button.setDefault(True)
        self.add_button.setMinimumHeight(34)
        self.demo_button = QPushButton("Try the offline demo")
        self.demo_button.setAccessibleName("Try the offline demo")
        self.demo_button.setMinimumHeight(34)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        demo_note = QLabel(
            "The demo starts a small server inside Switchboard on this computer. Its replies are "
            "canned and nothing is sent over the internet; it is labelled “Demo (offline)” "
            "wherever it appears."
        )
        demo_note.setWordWrap(True)
        demo_note.setProperty("role", "muted")
        demo_note.setAccessibleName("About the offline demo")
        layout.addWidget(demo_note)

        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("role", "error")
        self.error_label.setAccessibleName("Demo error")
        self.error_label.hide()
        layout.addWidget(self.error_label)

        fit_wrapped_labels(card, 620)
        # Centred by stretches, not an alignment flag: see app.ui.card_layout.centered.
        outer.addLayout(centered(card))
        outer.addStretch(2)
        self.add_button.clicked.connect(self.addProviderRequested)
        self.demo_button.clicked.connect(self.demoRequested)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def set_keychain_status(self, available: bool, backend: str = "", reason: str = "") -> None:
        self.keychain_label.setText(keychain_sentence(available, backend))
        self.keychain_label.setToolTip(reason)
        self.keychain_label.setProperty("role", "" if available else "warning")
        self.keychain_label.style().unpolish(self.keychain_label)
        self.keychain_label.style().polish(self.keychain_label)


class ChatPlaceholder(QWidget):
    """Stands in for the chat tab in builds without it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chat")
        layout = QVBoxLayout(self)
        label = QLabel("The chat view is not available in this build.")
        label.setAccessibleName("Chat not available")
        from PySide6.QtCore import Qt

        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)

    async def aclose(self) -> None:
        return None


def _make_chat_tab(ctx: AppContext, parent: QWidget) -> QWidget:
    # Built inside its final parent: adding a finished tree to the stack would re-parent every
    # widget in it (a ParentChange and a font and palette resolve each, ~5-7 ms at start-up).
    try:
        from app.ui.chat import ChatTab
    except ImportError:
        log.warning("app.ui.chat.ChatTab is not available; showing a placeholder")
        return ChatPlaceholder(parent)
    return ChatTab(ctx, parent)


class MainWindow(QMainWindow):
    """Tabs, menus, status bar; staged close."""

    # Emitted once the staged close has finished and the window has really closed.
    closed = Signal()
    # Emitted when attach() has wired the window to the services (the chat tab exists then).
    attached = Signal()
    # Emitted when the Images, Notes and Videos tabs are attached to their services (at start-up
    # after the composer accepts typing; see attach_tabs()).
    tabsAttached = Signal()

    TAB_NAMES = ("Chat", "Images", "Notes", "Videos")

    def __init__(
        self,
        ctx: AppContext | None = None,
        *,
        settings: QSettings | None = None,
        services_shutdown: Callable[[], Awaitable[None]] | None = None,
        detect_local: DetectFn | None = None,
        log_path: Path | None = None,
    ) -> None:
        """Build the window. Without `ctx` only the shell is built; call `attach(ctx)` later."""
        super().__init__()
        self.ctx: AppContext = None  # type: ignore[assignment]  # set by attach()
        self._settings = settings if settings is not None else (ctx.settings if ctx else None)
        self._services_shutdown = services_shutdown
        self._detect_local = detect_local
        self.log_path = log_path
        self._closing: asyncio.Future[None] | None = None
        self._close_done = False
        self._settings_dialog: SettingsDialog | None = None
        self._theme: ThemeManager | None = None
        self._shortcuts_sheet: QWidget | None = None
        self._keychain: tuple[bool, str, str] | None = None

        self.setWindowTitle(APP_TITLE)
        self.setAccessibleName("Switchboard main window")
        self.resize(1100, 720)
        self.setMinimumSize(720, 480)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.tabs.setDocumentMode(True)
        self.chat_stack = QStackedWidget()
        self.chat_stack.setAccessibleName("Chat")
        self.loading = QWidget()
        self.loading.setAccessibleName("Loading")
        loading_label = QLabel("Opening your conversations…")
        loading_label.setProperty("role", "muted")
        loading_layout = QVBoxLayout(self.loading)
        loading_layout.addStretch(1)
        loading_layout.addLayout(centered(loading_label))
        loading_layout.addStretch(2)
        self.chat_stack.addWidget(self.loading)
        # The first-run panel is built when there is no profile to show (_ensure_first_run).
        self._first_run: FirstRunPanel | None = None
        self.chat_stack.setCurrentWidget(self.loading)
        self.chat_tab: QWidget | None = None
        self.tabs.addTab(self.chat_stack, "&Chat")
        self.images_tab = ImagesHost()
        self.images_tab.sendToChatRequested.connect(self._send_image_to_chat)
        self.notes_tab = NotesHost()
        self.notes_tab.askInChatRequested.connect(self._ask_in_chat)
        self.videos_tab = VideosHost()
        self.tabs.addTab(self.images_tab, "&Images")
        self.tabs.addTab(self.notes_tab, "&Notes")
        self.tabs.addTab(self.videos_tab, "Vi&deos")  # Alt+V is the View menu
        for i, name in enumerate(self.TAB_NAMES):
            self.tabs.setTabToolTip(i, f"{name} (Ctrl+{i + 1})")
        self.setCentralWidget(self.tabs)

        self.status = StatusBar()
        self.setStatusBar(self.status)

        self._build_menus()
        # Until the services are attached there is nothing these could act on.
        for action in (self.settings_action, self.export_action, self.import_action):
            action.setEnabled(False)

        # Read-only mode (see set_read_only): why nothing can be written, "" when it can.
        self.read_only_reason = ""
        self.read_only_banner: QFrame | None = None

        self.restore_window_state()
        if ctx is not None:
            self.attach(ctx)

    def set_read_only(self, reason: str) -> None:
        """Read-only mode: a banner above the tabs says why; the composer and the imports are
        disabled with that reason (reading, searching and exporting still work)."""
        self.read_only_reason = reason
        if self.read_only_banner is None:
            banner = QFrame()
            banner.setProperty("role", "banner")
            banner.setAccessibleName("Read-only mode")
            label = QLabel(f"Read-only: {reason}")
            label.setWordWrap(True)
            row = QHBoxLayout(banner)
            row.setContentsMargins(12, 6, 12, 6)
            row.addWidget(label, 1)
            tabs = self.takeCentralWidget()
            holder = QWidget()
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(0)
            column.addWidget(banner)
            column.addWidget(tabs, 1)
            self.setCentralWidget(holder)
            self.read_only_banner = banner
            self.read_only_label = label
        self._apply_read_only()

    def _apply_read_only(self) -> None:
        reason = self.read_only_reason
        if not reason:
            return
        composer = getattr(self.chat_tab, "composer", None)
        if composer is not None:
            # The whole composer: the chat tab toggles its buttons, never the composer itself.
            composer.setEnabled(False)
            composer.setToolTip(f"Sending is off: {reason}")
        if self.thread_transfer is not None:
            for action in self.thread_transfer.actions():
                if "import" in action.text().lower():
                    action.setEnabled(False)
                    action.setToolTip(reason)
        self.import_action.setEnabled(False)

    def attach(
        self,
        ctx: AppContext,
        *,
        services_shutdown: Callable[[], Awaitable[None]] | None = None,
        detect_local: DetectFn | None = None,
        tabs_later: bool = False,
    ) -> None:
        """Wire the window to the services: profiles, the chat tab, status, settings; and the
        Images, Notes and Videos tabs, unless `tabs_later` (app.main attaches those with
        `attach_tabs()` once the composer accepts typing: their services are built then)."""
        self.install_shortcuts()
        self.ctx = ctx
        if self._settings is None:
            self._settings = ctx.settings
        if services_shutdown is not None:
            self._services_shutdown = services_shutdown
        if detect_local is not None:
            self._detect_local = detect_local
        for action in (self.settings_action, self.export_action, self.import_action):
            action.setEnabled(True)
        ev = ctx.events
        ev.profilesChanged.connect(self._on_profiles_changed)
        ev.activeProfileChanged.connect(self._on_active_changed)
        ev.activeModelChanged.connect(self._on_model_changed)
        ev.rateLimitChanged.connect(self.status.on_rate_limit)
        # (A RateLimitError the client gave up on arrives here too, as a window with 0 left.)
        ev.statusMessage.connect(lambda text: self.status.showMessage(text, 8000))
        self._on_profiles_changed()
        if not tabs_later:
            self.attach_tabs()
        self.attached.emit()

    def attach_tabs(self) -> None:
        """Attach the Images, Notes and Videos tabs to the services (each host takes its
        service, building it if it was not yet; a host already shown builds its tab now), and
        what the composer accepting typing need not wait for (issue 9): the File menu's thread
        export and import, and the handler of Notes' citation links."""
        ctx = self.ctx
        self.attach_extras()
        self.images_tab.attach(ctx)
        self.videos_tab.attach(ctx)
        self.notes_tab.attach(ctx, chat_target=self._chat_target)
        for tab in (self.images_tab, self.notes_tab, self.videos_tab):
            tab.build()
        self.tabsAttached.emit()

    def attach_extras(self) -> None:
        """The File menu's thread export and import, and the citation-link handler (app.main
        calls this right after the composer accepts typing; attach_tabs() does too)."""
        if self.thread_transfer is not None and self.thread_transfer.ctx is self.ctx:
            return  # done already: app.main calls this before attach_tabs() does
        from PySide6.QtGui import QDesktopServices

        from app.core.notes.citations import NOTE_SCHEME
        from app.ui.chat.sidebar.export_actions import ThreadTransfer

        # A citation link in a chat reply (`switchboard-note://<chunk>`, written by Notes' "Ask
        # about these") opens the hit in the Notes tab; every view that opens URLs gets this.
        QDesktopServices.setUrlHandler(NOTE_SCHEME, self, "on_note_url")
        if self.thread_transfer is None:
            self.thread_transfer = ThreadTransfer(self, tab=lambda: self.chat_tab)
            self.file_menu.insertActions(self._threads_separator, self.thread_transfer.actions())
            self.file_menu.insertSeparator(self._threads_separator)
        self.thread_transfer.attach(self.ctx)
        # After attach(), which enables every action: its Import stays off in read-only mode.
        self._apply_read_only()

    # -- construction --

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.settings_action = QAction("&Settings…", self)
        # Shortcuts are installed by install_shortcuts() after the first paint: parsing a key
        # sequence builds every enum of PySide6's Qt namespace (~100 ms).
        self._shortcuts: list[tuple[QAction, str]] = [(self.settings_action, "Ctrl+,")]
        self.settings_action.triggered.connect(self.open_settings)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        self.export_action = QAction("&Export profiles…", self)
        self.export_action.setToolTip(
            "Save provider profiles to a JSON file (keys are never included)"
        )
        self.export_action.triggered.connect(self._on_export)
        self.import_action = QAction("&Import profiles…", self)
        self.import_action.triggered.connect(self._on_import)
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.import_action)
        # Chat threads: Export thread… / Export all threads… / Import threads… go here, added by
        # attach() (export_actions.py imports what the first paint need not wait for).
        self._threads_separator = file_menu.addSeparator()
        self.file_menu = file_menu
        self.thread_transfer: Any = None
        self.quit_action = QAction("&Quit", self)
        self._shortcuts.append((self.quit_action, "Ctrl+Q"))
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        self.tab_actions: list[QAction] = []
        for i, name in enumerate(self.TAB_NAMES):
            action = QAction(name, self)
            self._shortcuts.append((action, f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
            self.tab_actions.append(action)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for mode, label in THEME_LABELS:
            action = QAction(label, self)
            action.setCheckable(True)
            action.setData(mode)
            action.triggered.connect(lambda _=False, mode=mode: self.set_theme(mode))
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[mode] = action
        self.theme_actions["system"].setChecked(True)

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self._shortcuts.append((self.shortcuts_action, "Ctrl+/"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        self.about_action = QAction("&About Switchboard", self)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)
        # Actions only fire while they are in a widget: menus are, but keep them on the window
        # too so shortcuts work when the menu bar is hidden (e.g. a global menu bar).
        self.addActions(
            [self.settings_action, self.quit_action, self.shortcuts_action, *self.tab_actions]
        )

    def install_shortcuts(self) -> None:
        """Give the menu actions their key sequences (done once, right after the first paint)."""
        for action, keys in self._shortcuts:
            action.setShortcut(QKeySequence(keys))
        self._shortcuts = []

    # -- profiles --

    def _on_profiles_changed(self) -> None:
        # Read-only, the history is shown even without a profile to send with.
        has_profiles = bool(self.ctx.profile_list) or bool(self.read_only_reason)
        if has_profiles and self.chat_tab is None:
            self.chat_tab = _make_chat_tab(self.ctx, self.chat_stack)
            self.chat_tab.setAccessibleName(self.chat_tab.accessibleName() or "Chat")
            self.chat_stack.addWidget(self.chat_tab)
            self._wire_chat_tab(self.chat_tab)
        if has_profiles and self.chat_tab is not None:
            self.chat_stack.setCurrentWidget(self.chat_tab)
        else:
            self.chat_stack.setCurrentWidget(self._ensure_first_run())
        self._apply_read_only()
        self._refresh_active()

    @property
    def first_run(self) -> FirstRunPanel:
        """The first-run panel (in the chat stack), built when first needed: at start-up only
        when there is no profile to show."""
        return self._ensure_first_run()

    def _ensure_first_run(self) -> FirstRunPanel:
        if self._first_run is None:
            panel = self._first_run = FirstRunPanel()
            self.chat_stack.addWidget(panel)
            panel.addProviderRequested.connect(self.open_settings_on_presets)
            panel.demoRequested.connect(self._on_demo_clicked)
            if self._keychain is not None:
                panel.set_keychain_status(*self._keychain)
        return self._first_run

    def _wire_chat_tab(self, tab: QWidget) -> None:
        """Follow what the chat tab shows: the open thread's profile and model, and whether
        its replies can be stored."""
        tab.threadOpened.connect(lambda _tid: self._refresh_active())
        tab.openThreadChanged.connect(self._on_thread_context)
        tab.storage_problem.connect(self.status.set_storage_problem)
        self.restore_sidebar_width()

    def _on_thread_context(self, profile_id: str, model: str) -> None:
        self.status.set_profile(self.ctx.profile(profile_id), model)
        self._refresh_title()

    def _send_image_to_chat(self, path: str) -> None:
        # The chat composer's own "files offered" path checks and attaches the file.
        composer = getattr(self.chat_tab, "composer", None)
        if composer is not None:
            composer.filesOffered.emit([path])
            self.tabs.setCurrentWidget(self.chat_stack)

    def make_video_from_image(self, path: str) -> None:
        """Open the Videos tab with an image-to-video job prefilled from `path`."""
        self.tabs.setCurrentWidget(self.videos_tab)
        self.videos_tab.prefill_image(path)

    def _on_active_changed(self, _profile_id: str) -> None:
        self._refresh_active()
        # The chat tab hears the same signal after this window (it connected later) and only
        # then resets its model: read it again once it has.
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self, self._refresh_active)

    def _on_model_changed(self, profile_id: str, model: str) -> None:
        # The chat tab announces the model of the profile it shows (the open thread's).
        if profile_id == self.status.profile_id:
            self.status.set_model(model)

    def shown_profile(self) -> tuple[ProviderProfile | None, str | None]:
        """The profile and model the open thread uses (the chat tab knows), else the active
        profile and its default model (None)."""
        tab = self.chat_tab
        profile_of = getattr(tab, "profile", None)
        if tab is not None and callable(profile_of):
            profile = profile_of()
            model_of = getattr(tab, "current_model", None)
            model = model_of() if callable(model_of) else None
            return profile, (model or None)
        return self.ctx.active_profile(), None

    def _refresh_active(self) -> None:
        profile, model = self.shown_profile()
        self.status.set_profile(profile, model)
        self._refresh_title()

    def _refresh_title(self) -> None:
        profile = self.ctx.active_profile()
        title = APP_TITLE
        if profile is not None and profile.is_demo:
            title = f"{APP_TITLE} — {DEMO_NAME}"
        self.setWindowTitle(title)

    def _on_demo_clicked(self) -> None:
        panel = self._ensure_first_run()
        panel.demo_button.setEnabled(False)
        panel.show_error("")
        spawn_from_slot(self.ctx, self.start_demo())

    async def start_demo(self) -> ProviderProfile | None:
        """Start the offline demo and make it the active profile for this session."""
        from app.core.errors import SwitchboardError
        from app.ui.demo_session import activate_demo

        panel = self._ensure_first_run()
        try:
            return await activate_demo(self.ctx)
        except (OSError, SwitchboardError) as exc:
            text = getattr(exc, "user_message", None) or f"The demo server could not start: {exc}"
            panel.show_error(text)
            return None
        finally:
            panel.demo_button.setEnabled(True)

    # -- notes <-> chat --

    def _chat_target(self) -> tuple[str, str] | None:
        """The profile and model a Notes "Ask" thread uses: the chat tab's, else the active
        profile's default chat model."""
        profile, model = self.shown_profile()
        model = model or (profile.default_models.get("chat", "") if profile is not None else "")
        return (profile.id, model) if profile is not None and model else None

    def _ask_in_chat(self, thread_id: int, question: str) -> None:
        """Notes' "Ask about these": open the prepared thread in the chat tab and send."""
        tab: Any = self.chat_tab
        if tab is None:
            return
        self.tabs.setCurrentWidget(self.chat_stack)

        async def open_and_send() -> None:
            await tab.reload_threads()
            await tab.open_thread(thread_id)
            tab.send(question)

        spawn_from_slot(self.ctx, open_and_send())

    async def save_as_note(self, title: str, text: str) -> Any:
        """Save a chat message as a note ("Save as note" in the chat tab's message actions)."""
        return await self.notes_tab.save_as_note(title, text)

    @Slot(QUrl)
    def on_note_url(self, url: QUrl) -> None:
        """QDesktopServices' handler for `switchboard-note:` URLs."""
        self.open_note_link(url.toString())

    def open_note_link(self, url: str) -> None:
        """A `switchboard-note://` citation clicked in the chat view: show it in Notes."""
        self.tabs.setCurrentWidget(self.notes_tab)
        spawn_from_slot(self.ctx, self.notes_tab.open_note_link(url))

    # -- settings, import, export --

    def open_settings(self) -> SettingsDialog:
        """Show the (single, non-modal) settings dialog and bring it to the front."""
        from app.ui.settings_dialog import SettingsDialog

        if self._settings_dialog is None:
            dlg = SettingsDialog(self.ctx, self)
            dlg.finished.connect(self._forget_settings)
            self._settings_dialog = dlg
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        self._settings_dialog.activateWindow()
        return self._settings_dialog

    def open_settings_on_presets(self) -> SettingsDialog:
        """First run's "Add a provider…": Settings, landing on the list of presets."""
        dlg = self.open_settings()
        dlg.show_presets()
        return dlg

    def _forget_settings(self, _result: int = 0) -> None:
        dlg, self._settings_dialog = self._settings_dialog, None
        if dlg is not None:
            dlg.deleteLater()

    def _on_export(self) -> None:
        spawn_from_slot(self.ctx, self._export_flow())

    def _on_import(self) -> None:
        spawn_from_slot(self.ctx, self._import_flow())

    async def _export_flow(self) -> None:
        from app.ui.profile_actions import choose_profiles_file

        path = await choose_profiles_file(self, save=True)
        if path is not None:
            n = await self.export_profiles(path)
            self.status.showMessage(
                f"Exported {n} profile(s) to {path} (API keys are never exported).", 8000
            )

    async def _import_flow(self) -> None:
        from app.ui.profile_actions import choose_profiles_file

        path = await choose_profiles_file(self, save=False)
        if path is not None:
            n = await self.import_profiles(path)
            self.status.showMessage(
                f"Imported {n} profile(s). Add their API keys in Settings.", 8000
            )

    async def export_profiles(self, path: Path) -> int:
        from app.ui.profile_actions import export_profiles_to

        return await export_profiles_to(self.ctx, path)

    async def import_profiles(self, path: Path) -> int:
        from app.ui.profile_actions import commit_profiles, read_import

        imported = await read_import(self.ctx, path)
        active = self.ctx.active_profile()
        active_id = self.ctx.active_profile_id
        if (active is None or active.is_demo) and imported:
            active_id = imported[0].id
        await commit_profiles(self.ctx, [*self.ctx.profile_list, *imported], active_id)
        return len(imported)

    # -- theme --

    def set_theme_manager(self, theme: ThemeManager) -> None:
        """Use the app's ThemeManager for View → Theme (app.main's; else found on the app)."""
        self._theme = theme
        self._sync_theme_actions()

    def theme_manager(self) -> ThemeManager | None:
        if self._theme is None:
            from PySide6.QtWidgets import QApplication

            app = QApplication.instance()
            found = app.findChild(ThemeManager) if app is not None else None
            self._theme = found if isinstance(found, ThemeManager) else None
        return self._theme

    def set_theme(self, mode: ThemeMode) -> None:
        """View → Theme: apply `mode` ("system", "light", "dark") and remember it."""
        theme = self.theme_manager()
        if theme is None:
            from PySide6.QtWidgets import QApplication

            app = QApplication.instance()
            if not isinstance(app, QApplication):
                return
            theme = self._theme = ThemeManager(app, mode)
        else:
            theme.set_mode(mode)
        if self._settings is not None:
            self._settings.setValue(THEME_SETTING, mode)
        self._sync_theme_actions()

    def _sync_theme_actions(self) -> None:
        theme = self._theme
        mode = theme.mode if theme is not None else "system"
        action = self.theme_actions.get(mode)
        if action is not None:
            action.setChecked(True)

    def _restore_theme(self) -> None:
        s = self._settings
        mode = str(s.value(THEME_SETTING, "")) if s is not None else ""
        theme = self.theme_manager()
        if mode not in ("system", "light", "dark") or theme is None:
            self._sync_theme_actions()
            return
        # A --theme given on the command line (anything but the default) wins over the
        # remembered choice for that run.
        if theme.mode == "system" and mode != "system":
            theme.set_mode(mode)  # type: ignore[arg-type]
        self._sync_theme_actions()

    # -- shortcuts sheet --

    def show_shortcuts(self) -> QWidget:
        """Help → Keyboard shortcuts (Ctrl+/): the README's table, in a non-modal window."""
        from app.ui.shortcuts_sheet import ShortcutsSheet

        if self._shortcuts_sheet is None:
            self._shortcuts_sheet = ShortcutsSheet(self)
        self._shortcuts_sheet.show()
        self._shortcuts_sheet.raise_()
        self._shortcuts_sheet.activateWindow()
        return self._shortcuts_sheet

    # -- about --

    def show_about(self) -> QWidget:
        """Help → About: versions, data folder (openable), log file, bundled licences."""
        from app.ui.about_dialog import AboutDialog

        dialog = AboutDialog(
            self.ctx.data_dir, self.log_path or self.ctx.data_dir / "logs" / "switchboard.log", self
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    # -- background checks at start --

    def start_background_checks(self) -> None:
        """Keychain status and local-server detection, off the Qt thread; never blocks the window."""
        self.ctx.spawn(self._check_keychain())
        if self._detect_local is not None:
            self.ctx.spawn(self._offer_local_servers(self._detect_local))

    async def _check_keychain(self) -> None:
        status = await self.ctx.secrets.abackend_status()
        self.set_keychain_status(status.available, status.name, status.reason)

    def set_keychain_status(self, available: bool, backend: str = "", reason: str = "") -> None:
        """One keychain status for the status bar and the first-run panel (they must agree)."""
        self._keychain = (available, backend, reason)
        self.status.set_keychain_status(available, reason)
        if self._first_run is not None:
            self._first_run.set_keychain_status(available, backend, reason)

    async def _offer_local_servers(self, detect: DetectFn) -> None:
        try:
            found = await detect()
        except Exception:  # detection is a courtesy: never an error dialog
            log.warning("local server detection failed", exc_info=True)
            return
        known = {p.base_url.rstrip("/") for p in self.ctx.profile_list}
        for profile in found:
            if profile.base_url.rstrip("/") in known:
                continue
            self.status.offer_local_server(profile, self._add_offered)

    def _add_offered(self, profile: ProviderProfile) -> None:
        from app.ui.profile_actions import add_profile

        async def add() -> None:
            await add_profile(self.ctx, profile)
            self.status.showMessage(f"Added {profile.name}.", 6000)

        spawn_from_slot(self.ctx, add())

    # -- window state --

    def restore_window_state(self) -> None:
        s = self._settings
        if s is None:
            return
        geometry = s.value("mainWindow/geometry")
        if isinstance(geometry, (QByteArray, bytes)) and geometry:
            self.restoreGeometry(QByteArray(geometry))
        state = s.value("mainWindow/state")
        if isinstance(state, (QByteArray, bytes)) and state:
            self.restoreState(QByteArray(state))
        tab = str(s.value("mainWindow/tab", 0))
        if tab.isdigit():
            self.tabs.setCurrentIndex(int(tab))
        self._restore_theme()

    def _chat_splitter(self) -> Any:
        return getattr(self.chat_tab, "splitter", None)

    def restore_sidebar_width(self) -> None:
        """Give the chat sidebar the width it had when the app was last closed."""
        s, splitter = self._settings, self._chat_splitter()
        if s is None or splitter is None:
            return
        raw = str(s.value(SIDEBAR_SETTING, ""))
        if not raw.isdigit() or int(raw) < 120:
            return
        width = int(raw)
        sizes = splitter.sizes()
        total = sum(sizes) or max(self.width(), width + 400)
        rest = sizes[2:] if len(sizes) > 2 else []
        middle = max(200, total - width - sum(rest))
        splitter.setSizes([width, middle, *rest])

    def sidebar_width(self) -> int:
        splitter = self._chat_splitter()
        sizes = splitter.sizes() if splitter is not None else []
        return int(sizes[0]) if sizes else 0

    def save_window_state(self) -> None:
        s = self._settings
        if s is None:
            return
        s.setValue("mainWindow/geometry", self.saveGeometry())
        s.setValue("mainWindow/state", self.saveState())
        s.setValue("mainWindow/tab", self.tabs.currentIndex())
        width = self.sidebar_width()
        if width > 0 and self.chat_tab is not None and self.chat_tab.isVisible():
            s.setValue(SIDEBAR_SETTING, width)
        s.sync()

    # -- staged shutdown --

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._close_done:
            event.accept()
            return
        if self.ctx is None:
            self.save_window_state()
            self._close_done = True
            event.accept()
            return
        event.ignore()
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # No loop running (e.g. torn down by a test harness): close without the async stages.
            self.save_window_state()
            self._close_done = True
            event.accept()
            return
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._staged_close())

    async def aclose(self) -> None:
        """Run the staged close (as the close button does) and wait for it to finish."""
        if self._close_done:
            return
        import asyncio

        if self._closing is None:
            self._closing = asyncio.ensure_future(self._staged_close())
        await self._closing

    async def _staged_close(self) -> None:
        from PySide6.QtGui import QDesktopServices

        from app.core.notes.citations import NOTE_SCHEME

        QDesktopServices.unsetUrlHandler(NOTE_SCHEME)
        self.save_window_state()
        self.status.stop()
        self.hide()
        try:
            if self._settings_dialog is not None:
                await self._settings_dialog.aclose()
                self._settings_dialog.close()
            await self.images_tab.aclose()
            await self.videos_tab.aclose()
            await self.notes_tab.aclose()
            aclose: Any = getattr(self.chat_tab, "aclose", None)
            if aclose is not None:
                await aclose()
            if self._services_shutdown is not None:
                await self._services_shutdown()
        except Exception:
            log.exception("error during shutdown")
        finally:
            self._close_done = True
            self.close()
            self.closed.emit()
