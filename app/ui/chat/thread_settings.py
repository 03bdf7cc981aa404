"""Per-thread settings for the Chat tab: the side panel and the controller that makes them count.

`ChatTab` builds one `ThreadSettingsController` (kept as `tab.thread_settings`). It owns:

- the **draft** `ThreadSettings` of the conversation on screen (kind, profile, system prompt,
  parameters). It is loaded from the thread when one is opened and starts from the defaults for
  a new thread (the active profile, no system prompt, nothing set). The thread's settings are
  authoritative: `ChatTab.profile()` asks `profile()` here, and a send passes the draft's
  profile, model and parameters (`outgoing()`), so every reply records what was really used;
- the **panel** (`ThreadSettingsPanel`, toggled by the header's "Thread settings" button or
  Ctrl+Shift+S): provider profile (switching mid-thread is allowed), model (the header's combo
  and this one stay in step; the list comes from the profile's `/models`, loaded by the tab in
  the background), system prompt, the sampling parameters each with an explicit "set" box (an
  unset parameter is `None` and never sent), a context estimate "≈ N / W tokens", personas, and
  the composer's "Ctrl+Enter sends" preference (SettingsRepository key `chat.ctrl_enter_sends`).
  It is built, and its modules imported, on first use (`panel`): until then the draft alone is
  the truth and the panel's fields are filled from it when it is built. With markdown's lazy
  import (markdown_render) this took ~200 M of the ~1100 M instructions (callgrind) between the
  window's first paint and the composer accepting typing;
- the **New thread menu** (the ▾ beside New thread): a chat thread, a completion thread
  (Ctrl+Shift+N; raw text to `/completions`, the profile's completion model), or a thread from
  a persona. A completion thread is not offered while the active profile (the one a new thread
  starts with) speaks the Gemini dialect, which has no `/completions`: the action is disabled
  with the reason as its tooltip, and Ctrl+Shift+N only says why;
- the **attachments** the composer offers (picked, dropped, pasted): files are read and checked
  off the GUI thread (`attachments.load_attachments`), refusals are shown under the chips;
- the **completion view** shown instead of the bubbles for completion threads (built when the
  first completion thread is shown, or asked for).

Edits are written with `ThreadRepository.update_thread_settings` a moment after the last change
(`SAVE_DELAY_MS`); `flush()` writes at once (before a send, on switching threads, in tests).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QMenu,
    QSplitter,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError
from app.core.protocol.types import ChatMessage
from app.core.providers import Dialect
from app.core.services.context_window import (
    IMAGE_TOKENS,
    context_window_for,
    estimate_message,
    estimate_tokens,
)
from app.core.store.personas import PersonaRepository
from app.core.store.records import Persona, Thread, ThreadKind
from app.core.store.settings import SettingsRepository
from app.ui import style
from app.ui.async_bridge import signal_future
from app.ui.chat.composer.attachment_flow import ATTACH_FILTER, read_files, read_image
from app.ui.chat.composer.attachments import (
    Attachment,
    build_content,
)
from app.ui.chat.model_combo import connect_model_chosen
from app.ui.chat.personas import PersonaManager
from app.ui.chat.thread_draft import (
    MAX_STOP_SEQUENCES,
    Outgoing,
    ThreadSettings,
    parse_stop,
)

if TYPE_CHECKING:
    from app.core.providers import ProviderProfile
    from app.ui.chat.composer.composer import Composer
    from app.ui.chat.messages.completion_view import CompletionView
    from app.ui.chat.messages.message_model import MessageModel
    from app.ui.chat.messages.message_view import MessageView
    from app.ui.chat.messages.reply_stream import Spawn
    from app.ui.chat.params_form import ParamsForm
    from app.ui.chat.thread_settings_panel import ThreadSettingsPanel
    from app.ui.context import AppContext

__all__ = [
    "COMPLETION_LABEL",
    "COMPLETION_TOOLTIP",
    "CTRL_ENTER_SETTING",
    "GEMINI_NO_COMPLETIONS",
    "MAX_STOP_SEQUENCES",
    "Outgoing",
    "ParamsForm",
    "TabHooks",
    "ThreadSettings",
    "ThreadSettingsController",
    "ThreadSettingsPanel",
    "parse_stop",
]



def __getattr__(name: str) -> Any:
    # The panel's modules load with the panel (on first open), not with the tab.
    if name == "ThreadSettingsPanel":
        from app.ui.chat.thread_settings_panel import ThreadSettingsPanel

        return ThreadSettingsPanel
    if name == "ParamsForm":
        from app.ui.chat.params_form import ParamsForm

        return ParamsForm
    raise AttributeError(name)


log = logging.getLogger(__name__)

CTRL_ENTER_SETTING = "chat.ctrl_enter_sends"
COMPLETION_LABEL = "Raw text (sent to /completions)"
COMPLETION_TOOLTIP = "Raw text continued by a completion model (/completions)"
GEMINI_NO_COMPLETIONS = (
    "The Gemini API has no /completions endpoint; pick an OpenAI-compatible profile"
)
SAVE_DELAY_MS = 400
CONTEXT_DELAY_MS = 120


# --- the controller ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TabHooks:
    """What the controller asks of the tab's header and open thread: callables, not the tab."""

    current_thread: Callable[[], int | None]
    current_model: Callable[[], str]
    set_model: Callable[[str], None]
    shown_profile_id: Callable[[], str]
    refresh_profile: Callable[[], None]
    start_new_thread: Callable[[], None]
    focus_composer: Callable[[], None]



# The messages keep at least this width when the panel opens beside them.
CHAT_MIN_WIDTH = 220
PANEL_WIDTH = 340


def panel_sizes(sizes: list[int], panel_min: int, sidebar_min: int) -> list[int]:
    """Splitter sizes (sidebar, chat, panel) that open the panel within the same total width.

    The sum never grows: a sum larger than the splitter was scaled down by Qt below the panel's
    minimum, and the panel's right part (the close button, the spin boxes) went off the window.
    The chat keeps CHAT_MIN_WIDTH when it can, taking from the sidebar down to its minimum.
    """
    total = sum(sizes)
    side = sizes[0]
    panel = max(panel_min, min(PANEL_WIDTH, total - side - CHAT_MIN_WIDTH))
    chat = total - side - panel
    if chat < CHAT_MIN_WIDTH:
        side = max(sidebar_min, side - (CHAT_MIN_WIDTH - chat))
        chat = total - side - panel
    return [side, max(0, chat), panel, *[0] * (len(sizes) - 3)]

class ThreadSettingsController(QObject):
    """Per-thread settings, personas, completion threads and attachments for one ChatTab."""

    settingsChanged = Signal()  # the draft changed (profile, prompt, params, kind)
    saved = Signal(int)  # thread id whose settings were written
    contextUpdated = Signal(int, int)  # estimated tokens, window
    attachmentsProcessed = Signal(int, list)  # how many were added, the refusals' sentences
    personasReloaded = Signal(list)
    fileDialogShown = Signal(object)  # the QFileDialog of "Attach…", once open
    preferenceSaved = Signal(str)  # settings key written (e.g. CTRL_ENTER_SETTING)
    completionRefused = Signal(str)  # why no completion thread was started (Ctrl+Shift+N)

    def __init__(
        self,
        *,
        ctx: AppContext,
        spawn: Spawn,
        hooks: TabHooks,
        composer: Composer,
        messages: MessageModel,
        view: MessageView,
        model_combo: QComboBox,
        new_button: QWidget,
        splitter: QSplitter,
        parent: QWidget,
    ) -> None:
        """Given the tab's parts it works with and `hooks` for what it asks of the tab; `parent`
        holds the panel, menus and shortcuts."""
        super().__init__(parent)
        self.ctx = ctx
        self._spawn = spawn
        self._hooks = hooks
        self._composer = composer
        self._messages = messages
        self._view = view
        self._model_combo = model_combo
        self._new_button = new_button
        self._splitter = splitter
        self._parent = parent
        self.personas_repo: PersonaRepository = self.ctx.personas
        self.settings_repo: SettingsRepository = self.ctx.app_settings
        self.draft = ThreadSettings()
        self._missing_profile_id = ""  # the open thread's profile, gone (see `profile()`)
        self._loading = False
        self._pending: dict[str, Any] = {}
        self._pending_thread: int | None = None
        self._token_cache: dict[tuple[int, int], int] = {}
        self._profiles_shown: list[tuple[str, str]] = []
        self._startup: asyncio.Future[Any] | None = None
        # The file dialog open right now (tests pick files in it).
        self.file_dialog: QFileDialog | None = None
        # Built on first use (`panel`): an empty composer at start-up does not need it.
        self._panel: ThreadSettingsPanel | None = None
        self._ctrl_enter = False
        self._completion_view: CompletionView | None = None

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._save_soon)
        self._context_timer = QTimer(self)
        self._context_timer.setSingleShot(True)
        self._context_timer.setInterval(CONTEXT_DELAY_MS)
        self._context_timer.timeout.connect(self.update_context)

        self._build()
        self._wire()

    # --- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        tab = self._parent  # the widget holding the panel, menus and shortcuts
        # The personas fill the "New thread from persona" menu from the start; the manager's
        # widget moves into the panel when that is built.
        self.personas = PersonaManager(
            self.personas_repo, self._spawn, lambda: self.panel.system_edit.toPlainText(), tab
        )
        self.personas.hide()

        self.toggle_button = QToolButton(tab)
        self.toggle_button.setObjectName("threadSettingsButton")
        self.toggle_button.setCheckable(True)
        style.icon_button(
            self.toggle_button,
            "settings",
            "Thread settings: profile, model, system prompt and parameters (Ctrl+Shift+S)",
            "Thread settings",
        )

        # The ▾ beside "New thread": chat, completion, or from a persona.
        self.new_menu = QMenu(tab)
        self.new_menu.setObjectName("newThreadMenu")
        self.new_menu.setAccessibleName("New thread options")
        # The keys are the tab's shortcuts; shown here only ("\t"), so they stay unambiguous.
        self.new_chat_action = QAction("New chat thread\tCtrl+N", self.new_menu)
        self.new_completion_action = QAction("New completion thread\tCtrl+Shift+N", self.new_menu)
        self.new_completion_action.setToolTip(COMPLETION_TOOLTIP)
        self.persona_menu = QMenu("New thread from persona", self.new_menu)
        self.persona_menu.setObjectName("personaMenu")
        self.manage_personas_action = QAction("Manage personas…", self.new_menu)
        # Tooltips in the menu: a disabled "New completion thread" says why.
        self.new_menu.setToolTipsVisible(True)
        self.new_menu.addAction(self.new_chat_action)
        self.new_menu.addAction(self.new_completion_action)
        self.new_menu.addMenu(self.persona_menu)
        self.new_menu.addSeparator()
        self.new_menu.addAction(self.manage_personas_action)
        self._fill_persona_menu([])

        new_button = self._new_button
        self.new_menu_button = QToolButton(new_button.parentWidget())
        self.new_menu_button.setObjectName("newThreadMenuButton")
        self.new_menu_button.setText("▾")
        self.new_menu_button.setAccessibleName("More kinds of new thread")
        self.new_menu_button.setToolTip("New completion thread, or a thread from a persona")
        self.new_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.new_menu_button.setMenu(self.new_menu)
        self._place_beside(new_button, self.new_menu_button)


        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self._toggle_shortcut = QShortcut(QKeySequence("Ctrl+Shift+S"), tab, context=context)
        self._completion_shortcut = QShortcut(QKeySequence("Ctrl+Shift+N"), tab, context=context)

        QWidget.setTabOrder(self._composer.retry_button, self._composer.attach_button)

    @property
    def completion_view(self) -> CompletionView:
        """The completion thread's view (below the message view), built on first use."""
        if self._completion_view is None:
            from app.ui.chat.messages.completion_view import CompletionView

            view = self._completion_view = CompletionView(self._messages, self._parent)
            view.hide()
            view_parent = self._view.parentWidget()
            layout = view_parent.layout() if view_parent is not None else None
            if layout is not None:
                index = layout.indexOf(self._view)
                if isinstance(layout, QVBoxLayout) and index >= 0:
                    layout.insertWidget(index + 1, view, 1)
        return self._completion_view

    @property
    def panel(self) -> ThreadSettingsPanel:
        """The settings panel, built (hidden, showing the draft) on first use."""
        if self._panel is None:
            self._panel = self._build_panel()
        return self._panel

    def _build_panel(self) -> ThreadSettingsPanel:
        from app.ui.chat.thread_settings_panel import ThreadSettingsPanel

        panel = ThreadSettingsPanel(self._parent)
        panel.hide()
        panel.persona_layout.addWidget(self.personas)
        self.personas.show()
        splitter = self._splitter
        splitter.addWidget(panel)
        splitter.setStretchFactor(splitter.indexOf(panel), 0)
        QWidget.setTabOrder(self._composer.attach_button, panel.close_button)
        QWidget.setTabOrder(panel.close_button, panel.profile_combo)
        QWidget.setTabOrder(panel.profile_combo, panel.model_combo)
        QWidget.setTabOrder(panel.model_combo, panel.system_edit)

        panel.closeRequested.connect(lambda: self.set_panel_visible(False))
        panel.profile_combo.activated.connect(self._on_profile_picked)
        panel.model_combo.activated.connect(lambda _i: self._on_panel_model(panel.model_combo.currentText()))
        line_edit = panel.model_combo.lineEdit()
        if line_edit is not None:
            line_edit.textEdited.connect(self._on_panel_model)
        panel.system_edit.textChanged.connect(self._on_system_prompt)
        panel.params_form.changed.connect(self._on_params)
        panel.ctrl_enter_check.toggled.connect(self._on_ctrl_enter)

        # What the panel shows: the draft, the profiles, the header's models, the preference.
        self._panel = panel
        panel.ctrl_enter_check.blockSignals(True)
        panel.ctrl_enter_check.setChecked(self._ctrl_enter)
        panel.ctrl_enter_check.blockSignals(False)
        self._show_draft()
        self._mirror_models()
        return panel

    @staticmethod
    def _place_beside(anchor: QWidget, extra: QWidget) -> None:
        """Put `extra` right of `anchor` in the anchor's layout (a row of its own)."""
        parent = anchor.parentWidget()
        layout = parent.layout() if parent is not None else None
        if not isinstance(layout, QVBoxLayout | QHBoxLayout):
            return
        index = layout.indexOf(anchor)
        if index < 0:
            return
        if isinstance(layout, QHBoxLayout):
            layout.insertWidget(index + 1, extra)
            return
        layout.removeWidget(anchor)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(anchor, 1)
        row.addWidget(extra)
        layout.insertLayout(index, row)

    def _wire(self) -> None:
        self.toggle_button.toggled.connect(self.set_panel_visible)
        self._toggle_shortcut.activated.connect(self.toggle_panel)
        self._completion_shortcut.activated.connect(self.new_completion_thread)
        self.new_chat_action.triggered.connect(self._hooks.start_new_thread)
        self.new_completion_action.triggered.connect(self.new_completion_thread)
        self.manage_personas_action.triggered.connect(self.show_personas)

        connect_model_chosen(self._model_combo, self._model_chosen)
        self.personas.personasChanged.connect(self._fill_persona_menu)
        self.personas.personasChanged.connect(self.personasReloaded)
        self.personas.useRequested.connect(self.use_persona)

        composer = self._composer
        composer.attachRequested.connect(lambda: self._spawn(self.pick_files()))
        composer.filesOffered.connect(lambda paths: self._spawn(self.add_files(paths)))
        composer.imageOffered.connect(lambda image: self._spawn(self.add_image(image)))
        composer.attachmentsChanged.connect(self.schedule_context)
        composer.edit.textChanged.connect(self.schedule_context)
        self._messages.modelReset.connect(self.schedule_context)
        self._messages.rowsInserted.connect(self.schedule_context)
        self._messages.rowsRemoved.connect(self.schedule_context)
        self._messages.dataChanged.connect(self.schedule_context)

        self._apply_kind_ui()
        self._refresh_completion_action()
        self._startup = self._spawn(self._load_startup())

    async def _load_startup(self) -> None:
        """Read the stored preference and the personas (called once, in the background)."""
        try:
            ctrl_enter = bool(await self.settings_repo.get(CTRL_ENTER_SETTING, False))
        except SwitchboardError as exc:
            log.warning("could not read %s: %s", CTRL_ENTER_SETTING, exc)
            ctrl_enter = False
        self._ctrl_enter = ctrl_enter
        if self._panel is not None:
            self._panel.ctrl_enter_check.blockSignals(True)
            self._panel.ctrl_enter_check.setChecked(ctrl_enter)
            self._panel.ctrl_enter_check.blockSignals(False)
        self._composer.set_ctrl_enter_sends(ctrl_enter)
        await self.personas.reload()

    async def ready(self) -> None:
        """Await the start-up reads (preference, personas)."""
        if self._startup is not None:
            await asyncio.shield(self._startup)

    # --- what the tab asks ------------------------------------------------------------------

    def profile(self) -> ProviderProfile | None:
        """The thread's profile when it has one that still exists, else the active profile —
        but None while the open thread's own profile is missing: it must not silently go to
        another provider (`missing_profile_id`; the tab asks which one to use)."""
        if self.draft.profile_id:
            found = self.ctx.profile(self.draft.profile_id)
            if found is not None:
                return found
        if self.missing_profile_id:
            return None
        return self.ctx.active_profile()

    @property
    def missing_profile_id(self) -> str:
        """The open thread's profile id when that profile no longer exists, else ""."""
        missing = self._missing_profile_id
        return missing if missing and self.ctx.profile(missing) is None else ""

    def default_model(self, profile: ProviderProfile) -> str:
        """The profile's default model for this kind of thread (completion falls back to chat)."""
        if self.draft.kind == "completion":
            return profile.model_for("completion") or profile.model_for("chat")
        return profile.model_for("chat")

    @property
    def kind(self) -> ThreadKind:
        return self.draft.kind

    def outgoing(self, text: str) -> Outgoing:
        """The message the tab is about to send: the composer's attachments join it when `text`
        is the composer's own text (not a resend of an older message)."""
        composer = self._composer
        attachments = composer.attachments if text == composer.text else []
        shown, content = build_content(text, attachments)
        if not attachments:
            shown, content = text, text
        # Without a panel nothing edited the draft's parameters.
        params = self._panel.params_form.params(self.draft.params) if self._panel is not None else self.draft.params
        self.draft.params = params
        return Outgoing(
            text=shown,
            content=content,
            kind=self.draft.kind,
            system_prompt=self.draft.system_prompt if self.draft.kind == "chat" else "",
            params=params,
        )

    def on_header_changed(self) -> None:
        """The tab changed the profile shown or the model: mirror it in the panel."""
        self._sync_profiles()
        self._mirror_models()
        self.schedule_context()

    def _mirror_models(self) -> None:
        if self._panel is None:
            return
        panel_combo, header = self._panel.model_combo, self._model_combo
        items = [header.itemText(i) for i in range(header.count())]
        mine = [panel_combo.itemText(i) for i in range(panel_combo.count())]
        panel_combo.blockSignals(True)
        if items != mine:
            panel_combo.clear()
            panel_combo.addItems(items)
        if panel_combo.currentText() != header.currentText():
            panel_combo.setCurrentText(header.currentText())
        panel_combo.blockSignals(False)

    def reset_for_new_thread(self) -> None:
        """A new, unsaved chat thread: the active profile, no prompt, no parameters."""
        self._flush_pending()
        old_profile = self.profile()
        old_kind = self.draft.kind
        self._missing_profile_id = ""
        self.draft = ThreadSettings()
        self._show_draft()
        new_profile = self.profile()
        if (old_profile is None) != (new_profile is None) or (
            old_profile is not None and new_profile is not None and old_profile.id != new_profile.id
        ):
            self._hooks.refresh_profile()
        elif old_kind != "chat" and new_profile is not None:
            self._hooks.set_model(self.default_model(new_profile))
        self.settingsChanged.emit()

    def load_thread(self, thread: Thread) -> None:
        """An opened thread: its kind, profile, prompt and parameters become the draft."""
        self._flush_pending()
        profile_id = thread.profile_id if thread.profile_id and self.ctx.profile(thread.profile_id) else None
        self._missing_profile_id = (thread.profile_id or "") if profile_id is None else ""
        self.draft = ThreadSettings(
            kind=thread.kind,
            profile_id=profile_id,
            system_prompt=thread.system_prompt,
            params=dataclasses.replace(thread.params),
        )
        self._show_draft()
        shown = self._hooks.shown_profile_id()
        profile = self.profile()
        if (profile.id if profile is not None else "") != shown:
            self._hooks.refresh_profile()
        self.settingsChanged.emit()

    # --- new threads -----------------------------------------------------------------------

    def completion_refusal(self) -> str:
        """Why a new completion thread cannot be started now, or "" when it can.

        A new thread starts with the active profile; a Gemini-dialect one has no `/completions`.
        """
        profile = self.ctx.active_profile()
        if profile is not None and profile.dialect == Dialect.GEMINI:
            return GEMINI_NO_COMPLETIONS
        return ""

    def _refresh_completion_action(self) -> None:
        """Enable "New completion thread" only for a profile that has `/completions`."""
        refusal = self.completion_refusal()
        self.new_completion_action.setEnabled(not refusal)
        self.new_completion_action.setToolTip(refusal or COMPLETION_TOOLTIP)

    def new_completion_thread(self) -> None:
        """A new thread of raw text continued by the profile's completion model."""
        refusal = self.completion_refusal()
        if refusal:
            # Ctrl+Shift+N (or a caller) with a Gemini profile: nothing changes, the reason shows.
            self._refresh_completion_action()
            button = self.new_menu_button
            if button.isVisible():
                QToolTip.showText(button.mapToGlobal(button.rect().bottomLeft()), refusal, button)
            self.completionRefused.emit(refusal)
            return
        self._hooks.start_new_thread()
        self.draft.kind = "completion"
        self._show_draft()
        profile = self.profile()
        if profile is not None:
            model = self.default_model(profile)
            if model:
                self._hooks.set_model(model)
        self.settingsChanged.emit()

    def new_thread_from_persona(self, persona: Persona) -> None:
        """A new chat thread whose system prompt is the persona's."""
        self._hooks.start_new_thread()
        self.draft.system_prompt = persona.system_prompt
        self._show_draft()
        self._composer.set_mode_label(f"Persona: {persona.name}")
        self.settingsChanged.emit()

    def use_persona(self, persona: Persona) -> None:
        """Apply a persona's prompt to the thread on screen (kept as an edit of its settings)."""
        self.panel.system_edit.setPlainText(persona.system_prompt)  # -> _on_system_prompt
        self._composer.set_mode_label(f"Persona: {persona.name}")

    # --- the panel -------------------------------------------------------------------------

    def set_panel_visible(self, visible: bool) -> None:
        if visible or self._panel is not None:  # closing a panel never built builds none
            self.panel.setVisible(visible)
        if self.toggle_button.isChecked() != visible:
            self.toggle_button.blockSignals(True)
            self.toggle_button.setChecked(visible)
            self.toggle_button.blockSignals(False)
        if visible:
            self.update_context()
            sizes = self._splitter.sizes()
            panel_min = self.panel.minimumSizeHint().width()
            if len(sizes) >= 3 and sizes[-1] < panel_min:
                self._splitter.setSizes(panel_sizes(sizes, panel_min, self._sidebar_min()))
            self.panel.profile_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self._hooks.focus_composer()

    def _sidebar_min(self) -> int:
        first = self._splitter.widget(0)
        return first.minimumSizeHint().width() if first is not None else 0

    def toggle_panel(self) -> None:
        self.set_panel_visible(not self.panel.isVisible())

    def show_personas(self) -> None:
        self.set_panel_visible(True)
        self.panel.scroll_area.ensureWidgetVisible(self.panel.persona_box)
        self.personas.list.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_draft(self) -> None:
        """Put the draft into the panel and the composer (no saves)."""
        panel = self._panel
        if panel is not None:
            self._loading = True
            try:
                panel.system_edit.setPlainText(self.draft.system_prompt)
                panel.params_form.set_params(self.draft.params)
            finally:
                self._loading = False
        self._apply_kind_ui()
        self._sync_profiles()

    def _apply_kind_ui(self) -> None:
        completion = self.draft.kind == "completion"
        composer = self._composer
        if completion:
            composer.set_mode_label(COMPLETION_LABEL)
        else:
            prompt = " ".join(self.draft.system_prompt.split())
            composer.set_mode_label(
                f"System prompt: {prompt[:70]}{'…' if len(prompt) > 70 else ''}" if prompt else ""
            )
        panel = self._panel
        if panel is not None:
            panel.kind_label.setText(
                "Completion thread: the text is sent as it is to /completions and continued."
                if completion
                else "Chat thread"
            )
            panel.system_edit.setEnabled(not completion)
            panel.system_edit.setToolTip(
                "Completion threads send raw text; there is no system prompt." if completion else ""
            )
        self._view.setVisible(not completion)
        if completion or self._completion_view is not None:
            self.completion_view.set_active(completion)

    def _sync_profiles(self) -> None:
        if self._panel is not None:
            profiles = [(p.id, p.name) for p in self.ctx.profile_list]
            combo = self._panel.profile_combo
            combo.blockSignals(True)
            if profiles != self._profiles_shown:
                combo.clear()
                for pid, name in profiles:
                    combo.addItem(name, pid)
                self._profiles_shown = profiles
            profile = self.profile()
            combo.setCurrentIndex(combo.findData(profile.id) if profile is not None else -1)
            combo.blockSignals(False)
        # Called whenever the profile shown or the active one changes (or is edited).
        self._refresh_completion_action()

    # --- edits -----------------------------------------------------------------------------

    def set_profile(self, profile_id: str) -> None:
        """Switch this thread to another profile (its default model; later replies record it)."""
        if self.ctx.profile(profile_id) is None:
            return
        current = self.profile()
        self.draft.profile_id = profile_id
        self._missing_profile_id = ""
        if current is None or current.id != profile_id:
            self._hooks.refresh_profile()
        self._queue({"profile_id": profile_id, "model": self._hooks.current_model() or None})
        self.settingsChanged.emit()

    def _on_profile_picked(self, index: int) -> None:
        profile_id = self.panel.profile_combo.itemData(index)
        if isinstance(profile_id, str):
            self.set_profile(profile_id)

    def _on_panel_model(self, text: str) -> None:
        self._hooks.set_model(text.strip())
        self._model_chosen()

    def _model_chosen(self) -> None:
        model = self._hooks.current_model()
        profile = self.profile()
        if model and profile is not None:
            self._queue({"profile_id": profile.id, "model": model})
        self.schedule_context()

    def _on_system_prompt(self) -> None:
        if self._loading:
            return
        self.draft.system_prompt = self.panel.system_edit.toPlainText()
        self._apply_kind_ui()
        self._queue({"system_prompt": self.draft.system_prompt})
        self.schedule_context()
        self.settingsChanged.emit()

    def _on_params(self) -> None:
        if self._loading:
            return
        self.draft.params = self.panel.params_form.params(self.draft.params)
        self._queue({"params": self.draft.params})
        self.settingsChanged.emit()

    def _on_ctrl_enter(self, on: bool) -> None:
        self._composer.set_ctrl_enter_sends(on)
        self._spawn(self._save_preference(CTRL_ENTER_SETTING, on))

    async def _save_preference(self, key: str, value: Any) -> None:
        await self.settings_repo.set(key, value)
        self.preferenceSaved.emit(key)

    # --- saving ----------------------------------------------------------------------------

    def _queue(self, fields: dict[str, Any]) -> None:
        """Remember changed fields of the open thread and write them a moment later."""
        thread_id = self._hooks.current_thread()
        if thread_id is None or self._loading:
            return  # a new thread: the draft goes into create_thread on the first send
        if self._pending_thread not in (None, thread_id):
            self._flush_pending()
        self._pending_thread = thread_id
        self._pending.update(fields)
        self._save_timer.start()

    def _save_soon(self) -> None:
        self._flush_pending()

    def _flush_pending(self) -> asyncio.Future[Any] | None:
        self._save_timer.stop()
        thread_id, fields = self._pending_thread, self._pending
        self._pending, self._pending_thread = {}, None
        if thread_id is None or not fields:
            return None
        return self._spawn(self._save(thread_id, fields))

    async def _save(self, thread_id: int, fields: dict[str, Any]) -> None:
        await self.ctx.threads.update_thread_settings(thread_id, **fields)
        self.saved.emit(thread_id)

    async def flush(self) -> None:
        """Write pending edits now and wait for the write."""
        task = self._flush_pending()
        if task is not None:
            await task

    # --- context estimate ------------------------------------------------------------------

    def schedule_context(self, *_args: Any) -> None:
        if self._panel is not None and self._panel.isVisible() and not self._context_timer.isActive():
            self._context_timer.start()

    def context_estimate(self) -> tuple[int, int]:
        """(≈ tokens of the next request, the model's context window)."""
        profile = self.profile()
        model = self._hooks.current_model()
        window = context_window_for(model, profile.context_windows if profile is not None else None)
        rows = self._messages.rows
        composer = self._composer
        attachments = composer.attachments
        if self.draft.kind == "completion":
            text = "".join(r.content for r in rows) + composer.text
            return estimate_tokens(text), window
        cache: dict[tuple[int, int], int] = {}
        total = estimate_message(ChatMessage("system", self.draft.system_prompt)) if self.draft.system_prompt.strip() else 0
        for row in rows:
            if not row.content:
                continue
            key = (row.id, row.version)
            cost = self._token_cache.get(key)
            if cost is None:
                cost = estimate_message(ChatMessage(row.role, row.content))
            cache[key] = cost
            total += cost
        self._token_cache = cache
        shown, _content = build_content(composer.text, attachments)
        if shown.strip() or attachments:
            total += estimate_message(ChatMessage("user", shown))
            total += IMAGE_TOKENS * sum(1 for a in attachments if a.kind == "image")
        return total, window

    def update_context(self) -> None:
        tokens, window = self.context_estimate()
        label = self.panel.context_label
        label.setText(f"≈ {tokens:,} / {window:,} tokens")
        share = tokens / window if window else 0.0
        label.setProperty("role", "error" if share > 1 else "warning" if share > 0.8 else "muted")
        label.style().unpolish(label)
        label.style().polish(label)
        label.setToolTip(
            "An estimate (about 4 characters a token) of the next request: system prompt, the "
            "visible conversation and what is in the composer, against the model's context window "
            "(Settings → Providers → context windows)."
            + ("\nOver the window: the oldest turns will be left out." if share > 1 else "")
        )
        label.setAccessibleDescription(f"About {tokens} of {window} tokens")
        self.contextUpdated.emit(tokens, window)

    # --- attachments -----------------------------------------------------------------------

    async def pick_files(self) -> int:
        """Ask for files with a dialog shown by `open()`; returns how many were attached."""
        dialog = QFileDialog(self._parent, "Attach files")
        dialog.setObjectName("attachFileDialog")
        dialog.setAccessibleName("Attach files")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(ATTACH_FILTER)
        self.file_dialog = dialog
        chosen: list[str] = []
        dialog.filesSelected.connect(chosen.extend)  # emitted by an accepted dialog
        try:
            finished = signal_future(dialog.finished)
            dialog.open()
            self.fileDialogShown.emit(dialog)
            result = int(await finished)
            paths = (chosen or dialog.selectedFiles()) if result else []
        finally:
            self.file_dialog = None
            dialog.deleteLater()
        if not paths:
            return self._attach([], [])  # cancelled
        return await self.add_files(paths)

    async def add_files(self, paths: list[str]) -> int:
        """Read and check files off the GUI thread, attach those that pass, report the rest."""
        return self._attach(*await read_files(paths))

    async def add_image(self, image: QImage) -> int:
        """A pasted image, encoded as PNG off the GUI thread."""
        return self._attach(*await read_image(image))

    def _attach(self, loaded: list[Attachment], errors: list[str]) -> int:
        composer = self._composer
        for attachment in loaded:
            composer.add_attachment(attachment)
        composer.show_attachment_error("\n".join(errors))
        self.schedule_context()
        self.attachmentsProcessed.emit(len(loaded), errors)
        return len(loaded)

    # --- personas menu ---------------------------------------------------------------------

    def _fill_persona_menu(self, personas: list[Persona]) -> None:
        self.persona_menu.clear()
        if not personas:
            empty = self.persona_menu.addAction("No personas yet — save one in Thread settings")
            empty.setEnabled(False)
            return
        for persona in personas:
            action = self.persona_menu.addAction(persona.name)
            action.setToolTip(persona.system_prompt[:200])
            action.triggered.connect(lambda _checked=False, p=persona: self.new_thread_from_persona(p))

    def persona_actions(self) -> list[QAction]:
        return [a for a in self.persona_menu.actions() if a.isEnabled()]

    # --- closing ---------------------------------------------------------------------------

    def emitters(self) -> list[QObject]:
        """Objects whose signals must stop once the tab is closed."""
        panel = self._panel
        shown: list[QObject] = (
            []
            if panel is None
            else [
                panel.system_edit,
                panel.system_edit.document(),
                panel.params_form,
                panel.model_combo,
                panel.profile_combo,
            ]
        )
        if self._completion_view is not None:
            shown.append(self._completion_view.text)
        return [
            *shown,
            self._save_timer,
            self._context_timer,
        ]

