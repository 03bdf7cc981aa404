"""Status bar and main window, first-use polish: the rate-limit countdown, the storage notice,
the open thread's model, keychain wording that agrees, room for transient messages, the theme
switch, the shortcuts sheet and the remembered sidebar width."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.core.protocol.types import RateLimitInfo
from app.core.providers import new_profile_from_preset
from app.ui.labels import DISK_FULL, keychain_sentence
from app.ui.shortcuts_sheet import SHORTCUTS
from app.ui.status_bar import StatusBar, countdown


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_countdown_format() -> None:
    assert countdown(83) == "1:23"
    assert countdown(82.2) == "1:23"  # rounded up: never "0:00" before the reset
    assert countdown(5) == "0:05"
    assert countdown(3725) == "1:02:05"
    assert countdown(-3) == "0:00"


def test_rate_limit_countdown_runs_to_zero_and_clears(qtbot: Any) -> None:
    clock = FakeClock(1000.0)
    bar = StatusBar(clock=clock)
    qtbot.addWidget(bar)
    bar.set_rate_limited(1083.0)
    assert bar.limited_text() == "rate limited — resets in 1:23"
    assert bar._tick.isActive()
    clock.now = 1082.0
    bar._tick.timeout.emit()
    assert bar.limited_text() == "rate limited — resets in 0:01"
    clock.now = 1083.0
    bar._tick.timeout.emit()
    assert bar.limited_text() == ""
    assert not bar._tick.isActive()
    # A RateLimitError's retry_after counts down the same way.
    bar.on_rate_limited("", 90)
    assert bar.limited_text() == "rate limited — resets in 1:30"
    bar.stop()


def test_exhausted_window_from_headers_counts_down(qtbot: Any) -> None:
    clock = FakeClock(500.0)
    bar = StatusBar(clock=clock)
    qtbot.addWidget(bar)
    info = RateLimitInfo(limit_requests=60, remaining_requests=0, reset_requests_at=530.0)
    bar.on_rate_limit("", info)
    assert bar.limited_text() == "rate limited — resets in 0:30"
    assert "Requests 0/60" in bar.rate_text()
    clock.now = 531.0
    bar._tick.timeout.emit()
    # Reset: the notice and the stale "0 left" figures both go.
    assert bar.limited_text() == "" and bar.rate_text() == ""
    bar.stop()


def test_storage_notice_shown_until_cleared(qtbot: Any) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    sentence = (
        "The disk is full, so the database could not be written. Free some disk space and try "
        "again."
    )
    bar.set_storage_problem(sentence)
    assert bar.storage_text() == DISK_FULL
    assert bar.storage_label.toolTip() == sentence  # what to do, on hover
    bar.set_storage_problem("The data folder is read-only.")
    assert bar.storage_text() == "The data folder is read-only."
    long_one = "The database could not be written. Check free disk space and permissions of the data folder."
    bar.set_storage_problem(long_one)
    assert bar.storage_text() == "⚠ Replies can't be saved" and bar.storage_label.toolTip() == long_one
    bar.set_storage_problem("")
    assert bar.storage_text() == ""


def test_transient_messages_are_not_cut_off_by_the_keychain_notice(qtbot: Any) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.resize(700, 30)
    bar.show()
    bar.set_keychain_status(False, "There is no D-Bus session.")
    assert bar.keychain_label.isVisible()
    assert len(bar.keychain_label.text()) <= 16  # a short notice; the sentence is its tooltip
    assert keychain_sentence(False) in bar.keychain_label.toolTip()
    message = "Exported the thread as HTML to /home/someone/Documents/a-long-thread-name.html."
    bar.showMessage(message, 8000)
    assert not bar.keychain_label.isVisible()
    room = bar.width() - sum(
        w.sizeHint().width() for w in (bar.rate_label, bar.model_label, bar.profile_label, bar.demo_badge)
        if w.isVisible()
    )
    assert bar.fontMetrics().horizontalAdvance(message) < room
    bar.clearMessage()
    assert bar.keychain_label.isVisible()
    bar.stop()


def test_keychain_wording_agrees_in_first_run_and_status_bar(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    from keyring.backends import fail

    from app.core.secrets import SecretStore

    app_ctx.secrets = SecretStore("switchboard-test", keyring_backend=fail.Keyring(), environ={})
    win = make_window()
    assert "system keychain" not in win.first_run.keychain_label.text()  # not claimed before known
    arun(win._check_keychain())
    first_run = win.first_run.keychain_label.text()
    assert first_run == keychain_sentence(False)
    assert "cannot be saved" in first_run
    assert first_run in win.status.keychain_label.toolTip()
    assert not win.status.keychain_label.isHidden()


def test_keychain_available_says_so(window: Any, arun: Callable[..., Any]) -> None:
    arun(window._check_keychain())
    assert window.first_run.keychain_label.text().startswith("API keys are kept in your system keychain")
    assert window.status.keychain_label.isHidden()


def test_status_bar_shows_the_open_threads_profile_and_model(
    window: Any, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    from app.ui.async_bridge import signal_future
    from app.ui.profile_actions import add_profile, commit_profiles

    a = new_profile_from_preset("ollama")
    a.name = "Ollama here"
    a.default_models = {"chat": "llama-default"}
    b = new_profile_from_preset("lmstudio")
    b.name = "LM Studio here"
    b.default_models = {"chat": "lm-default"}
    arun(add_profile(app_ctx, a))
    arun(commit_profiles(app_ctx, [a, b], b.id))
    assert app_ctx.active_profile_id == b.id
    assert window.status.profile_label.text() == "LM Studio here"
    thread = arun(app_ctx.threads.create_thread("Old chat", profile_id=a.id, model="llama-special"))
    tab = window.chat_tab

    async def open_it() -> None:
        opened = signal_future(tab.threadOpened)
        await tab.open_thread(thread.id)
        await opened

    arun(open_it())
    assert window.status.profile_label.text() == "Ollama here"
    assert window.status.model_label.text() == "Model: llama-special"
    # The active profile's model changing does not overwrite the open thread's.
    app_ctx.events.activeModelChanged.emit(b.id, "lm-other")
    assert window.status.model_label.text() == "Model: llama-special"
    # A new thread uses the active profile again.
    tab.start_new_thread()
    assert window.status.profile_label.text() == "LM Studio here"


class _TabWithSignals(QObject):
    threadOpened = Signal(int)
    storage_problem = Signal(str)
    openThreadChanged = Signal(str, str)


def test_storage_problem_and_thread_context_signals_are_followed(window: Any, app_ctx: Any) -> None:
    profile = new_profile_from_preset("ollama")
    app_ctx.profile_list.append(profile)
    fake = _TabWithSignals()
    window._wire_chat_tab(fake)  # type: ignore[arg-type]
    fake.storage_problem.emit(DISK_FULL)
    assert window.status.storage_text() == DISK_FULL
    fake.storage_problem.emit("")
    assert window.status.storage_text() == ""
    fake.openThreadChanged.emit(profile.id, "qwen-7b")
    assert window.status.profile_label.text() == profile.name
    assert window.status.model_label.text() == "Model: qwen-7b"
    app_ctx.profile_list.remove(profile)


def test_theme_switch_in_view_menu_is_remembered(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before_palette, before_sheet = QPalette(app.palette()), app.styleSheet()
    win = make_window()
    try:
        assert win.theme_actions["system"].isChecked()
        win.theme_actions["dark"].trigger()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 128
        assert win.theme_actions["dark"].isChecked()
        win.theme_actions["light"].trigger()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 128
        win.theme_actions["dark"].trigger()
        arun(win.aclose())
        ini = QSettings(str(app_ctx.data_dir / "ui.ini"), QSettings.Format.IniFormat)
        assert ini.value("view/theme") == "dark"
        # The theme manager of the app is reused: set back to "system" (as a fresh start).
        win.theme_manager().set_mode("system")  # type: ignore[union-attr]
        second = make_window()
        assert second.theme_actions["dark"].isChecked()
        assert second.theme_manager().mode == "dark"  # type: ignore[union-attr]
    finally:
        theme = win.theme_manager()
        if theme is not None:
            theme.setParent(None)
            theme.deleteLater()
        app.setPalette(before_palette)
        app.setStyleSheet(before_sheet)


def _readme_shortcuts() -> list[tuple[str, str]]:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = []
    in_table = False
    for line in readme.splitlines():
        if line.startswith("| keys | action |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(cells[0]) <= {"-"}:
                continue
            rows.append((cells[0], cells[1]))
    return rows


def test_shortcuts_sheet_lists_the_readme_table(window: Any, qtbot: Any) -> None:
    readme = _readme_shortcuts()
    assert len(readme) > 10
    assert list(SHORTCUTS) == readme
    window.install_shortcuts()
    assert window.shortcuts_action.shortcut().toString() == "Ctrl+/"
    window.shortcuts_action.trigger()
    sheet = window._shortcuts_sheet
    assert sheet is not None and sheet.isVisible()
    rows = sheet.rows()
    assert rows[0][0] == "Ctrl+N / Ctrl+Shift+N" and "`" not in rows[0][1]
    assert any(keys == "Ctrl+/" for keys, _ in rows)
    assert len(rows) == len(readme) + 1
    sheet.hide()


def test_sidebar_width_is_remembered(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    from app.ui.profile_actions import add_profile

    arun(add_profile(app_ctx, new_profile_from_preset("ollama")))
    first = make_window()
    first.resize(1200, 800)
    first.show()
    splitter = first.chat_tab.splitter
    sizes = splitter.sizes()
    splitter.setSizes([310, sum(sizes) - 310 - sum(sizes[2:]), *sizes[2:]])
    assert first.sidebar_width() == 310
    arun(first.aclose())
    second = make_window()
    second.resize(1200, 800)
    second.show()
    assert abs(second.sidebar_width() - 310) <= 2
    assert re.fullmatch(r"\d+", str(QSettings(str(app_ctx.data_dir / "ui.ini"), QSettings.Format.IniFormat).value("chat/sidebarWidth")))


def test_screenshot_of_the_shortcuts_sheet_and_status_notices(window: Any) -> None:
    out = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    sheet = window.show_shortcuts()
    assert sheet.grab().toImage().save(str(out / "shortcuts-sheet.png"), "PNG")
    sheet.hide()
    window.resize(1100, 720)
    window.show()
    window.status.set_storage_problem(DISK_FULL)
    window.status.set_rate_limited(window.status.clock() + 83)
    window.status.set_keychain_status(False, "No D-Bus session.")
    image = window.grab().toImage()
    assert image.save(str(out / "main-status-notices.png"), "PNG")
    window.status.set_rate_limited(None)
    window.status.set_storage_problem("")


def test_a_rate_limit_the_client_gave_up_on_counts_down_in_the_status_bar(
    window: Any, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    """A 429 asking for longer than the client waits: the reply fails with the wait in words,
    and the status bar counts down to when the provider may be asked again."""
    from app.core.demo.faults import FaultRule
    from app.ui.async_bridge import signal_future

    async def start_demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed

    arun(start_demo())
    assert app_ctx.demo is not None
    app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", status=429, retry_after=120))
    tab = window.chat_tab

    async def send() -> int:
        if not tab.current_model():
            await signal_future(tab.modelsLoaded)
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Hello")
        assert tab.send()
        return int(await finished)

    reply_id = arun(send(), timeout=20)
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "error"
    assert "try again in 2 min" in (stored.error or "")
    text = window.status.limited_text()
    assert "resets in" in text and ("2:00" in text or "1:5" in text)
