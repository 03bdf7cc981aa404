"""Settings → Providers: list, add (from presets), duplicate, delete, activate and edit profiles.

The dialog edits a working copy of `ctx.profile_list`; nothing changes until Save, which stores
typed keys in the keychain (or session memory), writes `profiles.json` through
`profile_actions.commit_profiles` (that also drops stale clients and emits the app signals).
It is non-modal and never calls `exec()`: questions are asked with `open()` and awaited.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AuthenticationError, KeychainError, SwitchboardError
from app.core.providers import (
    KeySource,
    ProfileRepository,
    ProviderProfile,
    new_profile_from_preset,
    preset_choices,
    validate_profile,
)
from app.ui import style
from app.ui.async_bridge import Spawner, choose_file, confirm
from app.ui.labels import DEMO_NAME, keychain_sentence
from app.ui.profile_actions import (
    choose_profiles_file,
    commit_profiles,
    export_profiles_to,
    read_import,
)

if TYPE_CHECKING:
    from app.core.secrets import KeychainStatus
    from app.ui.context import AppContext

log = logging.getLogger(__name__)


WRONG_KEY = (
    "Wrong API key: the provider refused it (HTTP {status}). Check the key (or the named "
    "environment variable) and test again."
)


def describe_error(error: Any) -> str:
    """The sentence for a failed test: a refused key is said to be a wrong key, whatever path
    the test used (a 401/403 is never "model or path not found")."""
    status = getattr(error, "status", None)
    if isinstance(error, AuthenticationError) or status in (401, 403):
        text = WRONG_KEY.format(status=status or 401)
    else:
        text = getattr(error, "user_message", None) or str(error)
    provider = getattr(error, "provider_message", None)
    if provider and provider not in text:
        text += f"\nThe provider said: {provider}"
    return text


def describe_report(report: Any) -> tuple[str, bool, list[str]]:
    """(sentence, ok, model ids) for a ConnectionReport."""
    error = getattr(report, "error", None)
    if error is not None:
        return describe_error(error), False, []
    models = [getattr(m, "id", str(m)) for m in (getattr(report, "models", None) or [])]
    latency = getattr(report, "latency_ms", None)
    note = str(getattr(report, "note", "") or "")  # "no model list; a test reply worked in N ms"
    parts = ["Connected"]
    if latency is not None and not note:
        parts[0] += f" in {float(latency):.0f} ms"
    if note:
        parts.append(note)
    if models:
        first = ", ".join(models[:5]) + ("…" if len(models) > 5 else "")
        parts.append(f"{len(models)} model{'s' if len(models) != 1 else ''}: {first}")
    elif not note:
        parts.append("the server listed no models; type model names below")
    text = " · ".join(parts)
    return (text if text.endswith(("…", ".")) else text + "."), True, models


class SettingsDialog(QDialog):
    """Provider profiles editor."""

    saved = Signal()
    testFinished = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Settings — Providers")
        self.setAccessibleName("Provider settings")
        self.setModal(False)
        self.resize(980, 700)

        self._profiles: list[ProviderProfile] = [copy.deepcopy(p) for p in ctx.profile_list]
        self._active_id = ctx.active_profile_id
        self._pending_keys: dict[str, str] = {}
        self._remove_keys: set[str] = set()
        self._stored: dict[str, bool] = {}
        self._deleted: list[ProviderProfile] = []
        self._changed: set[str] = set()
        self._dirty = False
        self._force_close = False
        self._current = -1
        self._keychain: KeychainStatus | None = None
        self._test_task: asyncio.Task[Any] | None = None
        # profile id -> (sentence, ok, "HH:MM") of its last connection test in this dialog.
        self._last_test: dict[str, tuple[str, bool, str]] = {}
        # The wall clock used for "Last tested 14:02" (tests replace it).
        self.clock: Callable[[], datetime] = datetime.now
        # The dialog's own TaskOwner and the one guarded spawn (async_bridge.Spawner) over it.
        self.tasks = ctx.task_owner("settings dialog")
        self._spawner = Spawner(
            self.tasks, on_known_error=lambda exc: self.show_message(exc.user_message, error=True), widget=self
        )

        root = QVBoxLayout(self)

        # --- keychain banner ---
        self.banner = QFrame()
        self.banner.setProperty("role", "banner")
        self.banner.setAccessibleName("Keychain unavailable")
        bl = QHBoxLayout(self.banner)
        self.banner_label = QLabel("")
        self.banner_label.setWordWrap(True)
        self.banner_label.setAccessibleName("Keychain unavailable")
        self.use_session_button = QPushButton("Use a session-only key")
        self.use_session_button.setAccessibleName("Use a session-only key for this profile")
        self.use_env_button = QPushButton("Use an environment variable")
        self.use_env_button.setAccessibleName(
            "Read this profile's key from an environment variable"
        )
        bl.addWidget(self.banner_label, 1)
        bl.addWidget(self.use_session_button)
        bl.addWidget(self.use_env_button)
        self.banner.hide()
        root.addWidget(self.banner)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        root.addWidget(splitter, 1)

        # --- left: profile list ---
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        heading = QLabel("Providers")
        heading.setProperty("role", "subheading")
        heading.setAccessibleName("Providers")
        # Where keys go on this machine, as a badge beside the heading (worded by refresh()).
        self.keychain_badge = style.badge("Keychain", "muted")
        self.keychain_badge.setObjectName("keychainBadge")
        self.keychain_badge.setAccessibleName("Key storage")
        self.keychain_badge.hide()
        heading_row = QHBoxLayout()
        heading_row.addWidget(heading)
        heading_row.addStretch(1)
        heading_row.addWidget(self.keychain_badge)
        ll.addLayout(heading_row)
        self.list = QListWidget()
        self.list.setAccessibleName("Provider profiles")
        self.list.setMinimumWidth(220)
        ll.addWidget(self.list, 1)
        grid = QGridLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setAccessibleName("Add a provider from a preset")
        self.add_menu = QMenu(self.add_button)
        self.add_menu.setAccessibleName("Provider presets")
        for preset_id, label in preset_choices():
            action = self.add_menu.addAction(label)
            action.setData(preset_id)
        self.add_menu.triggered.connect(lambda action: self.add_from_preset(str(action.data())))
        self.add_button.setMenu(self.add_menu)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setAccessibleName("Duplicate the selected profile")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setAccessibleName("Delete the selected profile")
        self.activate_button = QPushButton("Set active")
        self.activate_button.setAccessibleName("Make the selected profile active")
        self.import_button = QPushButton("Import…")
        self.import_button.setAccessibleName("Import profiles from a JSON file")
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export profiles to a JSON file")
        grid.addWidget(self.add_button, 0, 0)
        grid.addWidget(self.duplicate_button, 0, 1)
        grid.addWidget(self.delete_button, 1, 0)
        grid.addWidget(self.activate_button, 1, 1)
        grid.addWidget(self.import_button, 2, 0)
        grid.addWidget(self.export_button, 2, 1)
        ll.addLayout(grid)
        # Worded by refresh() once the keychain status is known (see labels.keychain_sentence).
        io_note = QLabel("Exports never include API keys.")
        self.io_note = io_note
        io_note.setWordWrap(True)
        io_note.setProperty("role", "muted")
        io_note.setAccessibleName("About export")
        ll.addWidget(io_note)
        splitter.addWidget(left)

        # --- right: the form ---
        from app.ui.profile_form import ProfileForm

        self.form = ProfileForm()
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.form_scroll.setAccessibleName("Profile settings")
        self.form_scroll.setWidget(self.form)
        # With no profile yet, the right side is the preset list itself (first run lands here).
        self.empty_panel = QWidget()
        self.empty_panel.setAccessibleName("Add your first provider")
        el = QVBoxLayout(self.empty_panel)
        el.setContentsMargins(0, 0, 0, 0)
        empty_heading = QLabel("Add your first provider")
        empty_heading.setProperty("role", "subheading")
        el.addWidget(empty_heading)
        self.empty_label = QLabel(
            "Pick a preset (OpenAI, Gemini, Ollama, …) or “Custom” for any OpenAI-compatible "
            "endpoint, then press Add (or double-click it)."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAccessibleName("No providers yet")
        el.addWidget(self.empty_label)
        self.preset_list = QListWidget()
        self.preset_list.setAccessibleName("Provider presets")
        for preset_id, label in preset_choices():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, preset_id)
            self.preset_list.addItem(item)
        if self.preset_list.count():
            self.preset_list.setCurrentRow(0)
        el.addWidget(self.preset_list, 1)
        preset_row = QHBoxLayout()
        self.add_preset_button = QPushButton("Add this provider")
        self.add_preset_button.setAccessibleName("Add the selected preset")
        preset_row.addWidget(self.add_preset_button)
        preset_row.addStretch(1)
        el.addLayout(preset_row)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        # The selected profile's state: active, the offline demo.
        self.active_badge = style.badge("Active", "ok")
        self.active_badge.setObjectName("activeBadge")
        self.active_badge.setToolTip("New threads use this provider")
        self.demo_badge = style.badge(DEMO_NAME, "demo")
        self.demo_badge.setObjectName("demoProfileBadge")
        badge_row = QHBoxLayout()
        badge_row.setSpacing(style.SPACE["s"])
        badge_row.addWidget(self.active_badge)
        badge_row.addWidget(self.demo_badge)
        badge_row.addStretch(1)
        self.active_badge.hide()
        self.demo_badge.hide()
        rl.addLayout(badge_row)
        rl.addWidget(self.empty_panel, 1)
        rl.addWidget(self.form_scroll, 1)
        self._right_layout = rl
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 720])

        # --- bottom ---
        bottom = QHBoxLayout()
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("Settings message")
        bottom.addWidget(self.message_label, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        # Save has the Apply role, not Accept: a button box makes its first Accept button the
        # dialog's default when shown, and Enter in any field would then save.
        self.save_button = self.buttons.addButton(
            "&Save", QDialogButtonBox.ButtonRole.ApplyRole
        )
        self.save_button.setAccessibleName("Save provider settings")
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.setToolTip("Save the provider settings (Ctrl+S)")
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName("Close settings")
        bottom.addWidget(self.buttons)
        root.addLayout(bottom)
        # No default button: Enter in a field, or a stray Space/Enter, must not save. Saving
        # is a click on Save or Ctrl+S. (A QDialog makes every push button "auto default",
        # so Enter would press whichever one had focus last.)
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        # One primary action per place (docs/VISUAL.md): Save, and Add on the empty state.
        for button in self.findChildren(QPushButton):
            if button is self.save_button or button is self.add_preset_button:
                style.primary(button)
            else:
                style.secondary(button)

        # --- signals ---
        self.list.currentRowChanged.connect(self._on_row_changed)
        self.add_preset_button.clicked.connect(self._add_chosen_preset)
        self.preset_list.itemActivated.connect(lambda _item: self._add_chosen_preset())
        self.duplicate_button.clicked.connect(self.duplicate_current)
        self.delete_button.clicked.connect(lambda: self._spawn(self.delete_current()))
        self.activate_button.clicked.connect(self.set_current_active)
        self.import_button.clicked.connect(lambda: self._spawn(self._import_flow()))
        self.export_button.clicked.connect(lambda: self._spawn(self._export_flow()))
        self.save_button.clicked.connect(lambda: self._spawn(self.save()))
        self.close_button.clicked.connect(self.reject)
        self.use_session_button.clicked.connect(lambda: self._switch_key_source(KeySource.SESSION))
        self.use_env_button.clicked.connect(lambda: self._switch_key_source(KeySource.ENV))
        f = self.form
        f.changed.connect(self._on_form_changed)
        f.keyEdited.connect(self._on_key_edited)
        f.removeKeyRequested.connect(self._on_remove_key)
        f.testRequested.connect(self.start_test)
        f.cancelTestRequested.connect(self.cancel_test)
        f.browseCaRequested.connect(lambda: self._spawn(self._browse_ca()))

        self._rebuild_list()
        if self._profiles:
            active_row = next(
                (i for i, p in enumerate(self._profiles) if p.id == self._active_id), 0
            )
            self.list.setCurrentRow(active_row)
        self._update_buttons()
        self._set_tab_order()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # built outside the loop (tests): the caller awaits refresh()
        else:
            self._spawn(self.refresh())

    # -- plumbing --

    def _spawn(self, coro: Any) -> asyncio.Task[Any] | None:
        return self._spawner(coro)

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setProperty("role", "error" if error else "ok")
        self.message_label.style().unpolish(self.message_label)
        self.message_label.style().polish(self.message_label)

    def _set_tab_order(self) -> None:
        order: list[QWidget] = [
            self.preset_list,
            self.add_preset_button,
            self.list,
            self.add_button,
            self.duplicate_button,
            self.delete_button,
            self.activate_button,
            self.import_button,
            self.export_button,
        ]
        f = self.form
        order += [
            f.name_edit,
            f.dialect_combo,
            f.base_url_edit,
            f.trailing_slash_check,
            f.stream_check,
            f.key_source_combo,
            f.env_var_edit,
            f.key_edit,
            f.show_key_button,
            f.replace_key_button,
            f.remove_key_button,
            f.test_button,
            f.cancel_test_button,
            f.headers_table.table,
            f.headers_table.add_button,
            f.headers_table.remove_button,
            *f.model_combos.values(),
            f.video_combo,
            f.size_combo,
            f.response_format_combo,
            f.top_k_check,
            f.context_table.table,
            f.context_table.add_button,
            f.context_table.remove_button,
            f.connect_timeout_spin,
            f.read_timeout_spin,
            f.retries_spin,
            f.proxy_edit,
            f.ca_edit,
            f.ca_browse_button,
            self.save_button,
            self.close_button,
        ]
        for a, b in itertools.pairwise(order):
            QWidget.setTabOrder(a, b)

    def current_profile(self) -> ProviderProfile | None:
        if 0 <= self._current < len(self._profiles):
            return self._profiles[self._current]
        return None

    def profiles(self) -> list[ProviderProfile]:
        """The working copy (what Save would write)."""
        return list(self._profiles)

    # -- list --

    def _item_text(self, p: ProviderProfile) -> str:
        text = p.name or "(unnamed)"
        if p.id == self._active_id:
            text += "  — active"
        return text

    def _rebuild_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for p in self._profiles:
            item = QListWidgetItem(self._item_text(p))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            if p.id == self._active_id:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            if p.is_demo:
                item.setToolTip("Built-in offline demo, for this session only")
            self.list.addItem(item)
        self.list.blockSignals(False)
        if 0 <= self._current < len(self._profiles):
            self.list.setCurrentRow(self._current)
        has = bool(self._profiles)
        self.form_scroll.setVisible(has)
        self.empty_panel.setVisible(not has)
        # Lay out now: the form must not first paint in the half the preset list left.
        self._right_layout.activate()

    def _add_chosen_preset(self) -> None:
        item = self.preset_list.currentItem()
        if item is not None:
            self.add_from_preset(str(item.data(Qt.ItemDataRole.UserRole)))

    def show_presets(self) -> None:
        """Land on the preset list: the empty state's list when there is no profile yet, else
        the Add… menu (used by the first-run "Add a provider…")."""
        if not self._profiles:
            self.preset_list.setFocus()
        else:
            # popup(), not QPushButton.showMenu(): that runs the menu's own nested event loop.
            below = self.add_button.rect().bottomLeft()
            self.add_menu.popup(self.add_button.mapToGlobal(below))

    def _on_row_changed(self, row: int) -> None:
        self._current = row
        p = self.current_profile()
        if p is not None:
            self.form.load(p)
            last = self._last_test.get(p.id)
            if last is not None:
                self.form.set_test_result(last[0], last[1], at=last[2])
            self._show_key_state()
            self._validate_current()
        self._update_buttons()

    def _update_buttons(self) -> None:
        p = self.current_profile()
        editable = p is not None and not p.is_demo
        self.active_badge.setVisible(p is not None and p.id == self._active_id)
        self.demo_badge.setVisible(p is not None and p.is_demo)
        self.duplicate_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)
        self.use_session_button.setEnabled(editable)
        self.use_env_button.setEnabled(editable)
        self.activate_button.setEnabled(p is not None and p.id != self._active_id)
        self.export_button.setEnabled(any(not q.is_demo for q in self._profiles))

    def select_profile(self, profile_id: str) -> None:
        for i, p in enumerate(self._profiles):
            if p.id == profile_id:
                self.list.setCurrentRow(i)
                return

    # -- editing --

    def _mark_dirty(self, profile_id: str | None = None) -> None:
        self._dirty = True
        if profile_id:
            self._changed.add(profile_id)

    def _on_form_changed(self) -> None:
        p = self.current_profile()
        if p is None or p.is_demo:
            return
        edited = self.form.profile()
        self._profiles[self._current] = edited
        self._mark_dirty(edited.id)
        item = self.list.item(self._current)
        if item is not None:
            item.setText(self._item_text(edited))
        self._validate_current()
        self._show_key_state()

    def problems_for(self, p: ProviderProfile, *, include_form: bool = False) -> list[str]:
        problems = validate_profile(p)
        if include_form:
            problems += self.form.form_problems()
        no_keychain = self._keychain is not None and not self._keychain.available
        if p.key_source == KeySource.KEYCHAIN and p.id in self._pending_keys and no_keychain:
            problems.append(
                "No keychain is available to store the key: choose “Session only” or an "
                "environment variable."
            )
        return problems

    def _validate_current(self) -> list[str]:
        p = self.current_profile()
        problems = [] if p is None or p.is_demo else self.problems_for(p, include_form=True)
        self.form.set_validation(problems)
        return problems

    def add_from_preset(self, preset_id: str) -> ProviderProfile:
        names = {p.name for p in self._profiles}
        profile = new_profile_from_preset(preset_id)
        base, n = profile.name, 2
        while profile.name in names:
            profile.name = f"{base} {n}"
            n += 1
        if (
            self._keychain is not None
            and not self._keychain.available
            and profile.key_source == KeySource.KEYCHAIN
        ):
            profile.key_source = KeySource.SESSION
        self._profiles.append(profile)
        self._mark_dirty(profile.id)
        if not any(p.id == self._active_id for p in self._profiles):
            self._active_id = profile.id
        self._current = len(self._profiles) - 1
        self._rebuild_list()
        self._on_row_changed(self._current)
        self.form.name_edit.setFocus()
        self.show_message(f"Added “{profile.name}”. Fill in the key, test it, then Save.")
        return profile

    def duplicate_current(self) -> ProviderProfile | None:
        p = self.current_profile()
        if p is None or p.is_demo:
            return None
        copy_ = ProfileRepository.duplicate(p)
        self._profiles.insert(self._current + 1, copy_)
        self._mark_dirty(copy_.id)
        self._current += 1
        self._rebuild_list()
        self._on_row_changed(self._current)
        self.show_message("Duplicated. The API key is not copied: enter it for the copy.")
        return copy_

    async def delete_current(self) -> bool:
        """Ask, then remove the selected profile from the working copy (applied on Save)."""
        p = self.current_profile()
        if p is None or p.is_demo:
            return False
        ok = await confirm(
            self,
            "Delete profile",
            f"Delete the provider profile “{p.name}”?",
            informative="Its stored API key is removed from the keychain when you save. "
            "Chats made with it are kept.",
        )
        if not ok:
            return False
        index = next((i for i, q in enumerate(self._profiles) if q.id == p.id), -1)
        if index < 0:
            return False
        del self._profiles[index]
        self._deleted.append(p)
        self._pending_keys.pop(p.id, None)
        self._mark_dirty()
        if self._active_id == p.id:
            self._active_id = next((q.id for q in self._profiles if not q.is_demo), "")
        self._current = min(index, len(self._profiles) - 1)
        self._rebuild_list()
        self._on_row_changed(self._current)
        self.show_message(f"“{p.name}” will be deleted when you save.")
        return True

    def set_current_active(self) -> None:
        p = self.current_profile()
        if p is None:
            return
        self._active_id = p.id
        self._mark_dirty()
        self._rebuild_list()
        self._update_buttons()

    # -- keys --

    def _show_key_state(self) -> None:
        p = self.current_profile()
        if p is None:
            return
        self.form.set_key_state(
            stored=self._stored.get(p.id, False) and p.id not in self._remove_keys,
            pending=p.id in self._pending_keys,
            removing=p.id in self._remove_keys and self._stored.get(p.id, False),
            keychain_available=self._keychain.available if self._keychain else True,
        )

    def _on_key_edited(self, text: str) -> None:
        p = self.current_profile()
        if p is None:
            return
        if text.strip():
            self._pending_keys[p.id] = text.strip()
            self._remove_keys.discard(p.id)
        else:
            self._pending_keys.pop(p.id, None)
        self._mark_dirty(p.id)
        self._validate_current()

    def _on_remove_key(self) -> None:
        p = self.current_profile()
        if p is None:
            return
        self._remove_keys.add(p.id)
        self._pending_keys.pop(p.id, None)
        self._mark_dirty(p.id)
        self._show_key_state()

    def _switch_key_source(self, source: KeySource) -> None:
        p = self.current_profile()
        if p is None or p.is_demo:
            return
        self.form.set_key_source(source)
        if source == KeySource.ENV:
            self.form.env_var_edit.setFocus()
        else:
            self.form.key_edit.setFocus()

    async def refresh(self) -> None:
        """Check the keychain and which profiles have a stored key (off the Qt thread)."""
        status = await self.ctx.secrets.abackend_status()
        self._keychain = status
        if not status.available:
            self.banner_label.setText(
                "No system keychain is available, so API keys cannot be saved permanently. "
                f"{status.reason}"
            )
            self.banner_label.setToolTip(status.reason)
        self.banner.setVisible(not status.available)
        self.keychain_badge.setText("Keychain" if status.available else "No keychain")
        style.set_badge_tone(self.keychain_badge, "ok" if status.available else "warn")
        self.keychain_badge.setToolTip(
            keychain_sentence(status.available, status.name)
        )
        self.keychain_badge.show()
        self.io_note.setText(
            "Exports never include API keys: they stay in the keychain."
            if status.available
            else "Exports never include API keys (keys here are session-only or read from "
            "environment variables)."
        )
        for p in list(self._profiles):
            if p.key_source in (KeySource.KEYCHAIN, KeySource.SESSION):
                try:
                    self._stored[p.id] = await self.ctx.secrets.ahas_key(p)
                except KeychainError:
                    self._stored[p.id] = False
        self._show_key_state()
        self._validate_current()

    # -- test connection --

    def start_test(self) -> None:
        if self._test_task is not None and not self._test_task.done():
            return
        self.form.set_test_busy(True)  # at once, not when the task gets its first turn
        self._test_task = self._spawn(self.test_connection())
        self._test_task.add_done_callback(self._test_done)

    def _test_done(self, _task: asyncio.Task[Any]) -> None:
        if shiboken6.isValid(self.form):
            self.form.set_test_busy(False)

    def _show_test_result(self, profile_id: str, text: str, ok: bool) -> None:
        """Show a result with the time it was obtained, and keep it for when the profile is
        shown again."""
        at = self.clock().strftime("%H:%M")
        self._last_test[profile_id] = (text, ok, at)
        shown = self.current_profile()
        if shown is not None and shown.id == profile_id:
            self.form.set_test_result(text, ok, at=at)

    def cancel_test(self) -> None:
        if self._test_task is not None and not self._test_task.done():
            self._test_task.cancel()
            if shiboken6.isValid(self.form):
                self.form.set_test_result("Test cancelled.", None)

    async def test_connection(self) -> Any:
        """Test the profile as edited (with a typed, unsaved key); show and return the report."""
        from app.core.client import ProviderClient

        p = self.current_profile()
        if p is None:
            return None
        problems = self._validate_current()
        if problems:
            self.form.set_test_result("Fix the problems listed at the top first.", False)
            return None
        key: str | None = self._pending_keys.get(p.id)
        if key is None and p.id not in self._remove_keys:
            try:
                key = await self.ctx.secrets.aget_key(p)
            except KeychainError as exc:
                self.form.set_test_result(exc.user_message, False)
                return None
        self.form.set_test_busy(True)
        client = ProviderClient(p, key)
        try:
            report = await client.test_connection()
        except asyncio.CancelledError:
            self.form.set_test_result("Test cancelled.", None)
            raise
        except SwitchboardError as exc:
            self._show_test_result(p.id, describe_error(exc), False)
            return None
        finally:
            self.form.set_test_busy(False)
            await client.aclose()
        text, ok, models = describe_report(report)
        self._show_test_result(p.id, text, ok)
        shown = self.current_profile()
        if models and shown is not None and shown.id == p.id:
            self.form.set_models(models)
        self.testFinished.emit(report)
        return report

    # -- CA file --

    async def _browse_ca(self) -> None:
        path = await choose_file(
            self,
            "Choose a CA certificate",
            name_filter="Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        if path:
            self.form.ca_edit.setText(path)
            self._on_form_changed()

    # -- import / export --

    async def import_from(self, path: Path) -> list[ProviderProfile]:
        imported = await read_import(self.ctx, path)
        taken = {p.id for p in self._profiles}
        for p in imported:
            if p.id in taken:
                p.id = ProviderProfile(name="", base_url="").id
            self._profiles.append(p)
            self._mark_dirty(p.id)
        if imported:
            self._current = len(self._profiles) - len(imported)
        self._rebuild_list()
        self._on_row_changed(self._current)
        self.show_message(
            f"Imported {len(imported)} profile(s). Enter their API keys, then Save "
            "(exports never contain keys)."
        )
        return imported

    async def export_to(self, path: Path) -> int:
        n = await export_profiles_to(self.ctx, path, self._profiles)
        self.show_message(f"Exported {n} profile(s) to {path}. No API keys were written.")
        return n

    async def _import_flow(self) -> None:
        path = await choose_profiles_file(self, save=False)
        if path is not None:
            await self.import_from(path)

    async def _export_flow(self) -> None:
        path = await choose_profiles_file(self, save=True)
        if path is not None:
            await self.export_to(path)

    # -- save / close --

    async def save(self) -> bool:
        """Validate, store keys, write profiles and notify the app. False (with a message) if not."""
        for i, p in enumerate(self._profiles):
            if p.is_demo:
                continue
            problems = self.problems_for(p, include_form=(i == self._current))
            if problems:
                self.list.setCurrentRow(i)
                self._validate_current()
                self.show_message(
                    f"“{p.name or '(unnamed)'}” has problems: fix them, then Save.", error=True
                )
                return False
        secrets = self.ctx.secrets
        by_id = {p.id: p for p in self._profiles}
        originals = {p.id: p for p in self.ctx.profile_list}
        try:
            for p in self._deleted:
                await secrets.adelete_key(p)
            for pid in self._remove_keys:
                if pid in by_id:
                    await secrets.adelete_key(by_id[pid])
            for p in self._profiles:
                old = originals.get(p.id)
                if (
                    old is not None
                    and old.key_source == KeySource.KEYCHAIN
                    and p.key_source != KeySource.KEYCHAIN
                ):
                    await secrets.adelete_key(old)
            for pid, key in self._pending_keys.items():
                target = by_id.get(pid)
                if target is not None and target.key_source in (
                    KeySource.KEYCHAIN,
                    KeySource.SESSION,
                ):
                    await secrets.aset_key(target, key)
            changed = self._changed | set(self._pending_keys) | self._remove_keys
            await commit_profiles(self.ctx, self._profiles, self._active_id, changed_ids=changed)
        except SwitchboardError as exc:
            self.show_message(exc.user_message, error=True)
            return False
        for pid in self._pending_keys:
            self._stored[pid] = True
        for pid in self._remove_keys:
            self._stored[pid] = False
        self._active_id = self.ctx.active_profile_id
        self._pending_keys.clear()
        self._remove_keys.clear()
        self._deleted.clear()
        self._changed.clear()
        self._dirty = False
        shown = self.current_profile()
        self._rebuild_list()
        if shown is not None:
            self.form.load(shown)
            self._show_key_state()
        self._update_buttons()
        self.show_message("Saved.")
        self.saved.emit()
        return True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def reject(self) -> None:
        if self._dirty and not self._force_close:
            self._spawn(self._confirm_discard())
            return
        self.cancel_test()
        super().reject()

    async def _confirm_discard(self) -> None:
        ok = await confirm(
            self,
            "Unsaved changes",
            "Discard the changes made to the provider profiles?",
            yes_text="Discard",
        )
        if ok:
            self._force_close = True
            self.reject()

    async def aclose(self) -> None:
        """Cancel the running test and other work (used at shutdown)."""
        self._force_close = True
        tasks = [t for t in self.tasks.tasks if not t.done() and t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
