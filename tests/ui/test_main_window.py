"""The main window: tabs, first-run panel and demo, status bar, menus, window state, shutdown."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.protocol.types import RateLimitInfo
from app.core.providers import KeySource, ProviderProfile, new_profile_from_preset
from app.ui.async_bridge import signal_future
from app.ui.demo_session import DEMO_NAME
from app.ui.main_window import FirstRunPanel, MainWindow
from app.ui.status_bar import format_rate_limits


def test_four_tabs_with_accessible_names(window: MainWindow) -> None:
    tabs = window.tabs
    assert tabs.count() == 4
    names = [tabs.tabText(i).replace("&", "") for i in range(4)]
    assert names == ["Chat", "Images", "Notes", "Videos"]
    for i in range(4):
        assert tabs.widget(i).accessibleName(), f"tab {names[i]} has no accessible name"
    assert tabs.accessibleName() == "Sections"


def test_tab_shortcuts_switch_tabs(window: MainWindow) -> None:
    shortcuts = [a.shortcut().toString() for a in window.tab_actions]
    assert shortcuts == ["Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4"]
    window.tab_actions[2].trigger()
    assert window.tabs.currentIndex() == 2
    window.tab_actions[0].trigger()
    assert window.tabs.currentIndex() == 0
    assert window.settings_action.shortcut().toString() == "Ctrl+,"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def _mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else None


def test_alt_letters_of_menus_and_tabs_are_unique(window: MainWindow) -> None:
    """Alt+V opened the Videos tab instead of the View menu (both were &V): every top-level
    menu and every tab has its own Alt letter."""
    menus = [a.text() for a in window.menuBar().actions() if a.text()]
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    letters = [_mnemonic(t) for t in menus + tabs]
    assert None not in letters, menus + tabs
    assert len(set(letters)) == len(letters), dict(zip(menus + tabs, letters, strict=True))


def test_every_tab_is_a_real_one(window: MainWindow) -> None:
    """Images, Notes and Videos replaced their "coming in a future version" cards."""
    from PySide6.QtWidgets import QLabel

    for tab in (window.images_tab, window.notes_tab, window.videos_tab):
        text = " ".join(lab.text() for lab in tab.findChildren(QLabel))
        assert "future version" not in text
    assert type(window.images_tab).__name__ == "ImagesHost"
    assert type(window.notes_tab).__name__ == "NotesHost"
    assert type(window.videos_tab).__name__ == "VideosHost"


def test_first_run_panel_then_demo_activates_demo_profile(
    window: MainWindow, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    assert app_ctx.profile_list == []
    assert window.chat_stack.currentWidget() is window.first_run
    assert isinstance(window.first_run, FirstRunPanel)

    async def click_demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed

    arun(click_demo())
    active = app_ctx.active_profile()
    assert active is not None and active.is_demo and active.name == DEMO_NAME
    assert active.key_source == KeySource.NONE
    assert active.base_url.startswith("http://127.0.0.1:")
    assert active.model_for("chat") == "demo-chat"
    assert active.model_for("image") and active.model_for("embedding") and active.model_for("video")
    assert window.windowTitle().endswith(DEMO_NAME)
    assert not window.status.demo_badge.isHidden()
    assert window.chat_stack.currentWidget() is window.chat_tab
    # never saved
    profiles_file = app_ctx.data_dir / "profiles.json"
    assert not profiles_file.exists() or DEMO_NAME not in profiles_file.read_text()


def test_rate_limits_in_status_bar(
    window: MainWindow, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    profile = new_profile_from_preset("ollama")

    from app.ui.profile_actions import add_profile

    arun(add_profile(app_ctx, profile))
    assert window.status.rate_text() == ""
    now = time.time()
    info = RateLimitInfo(
        limit_requests=60,
        remaining_requests=57,
        reset_requests_at=now + 41,
        limit_tokens=10000,
        remaining_tokens=9000,
    )
    app_ctx.events.rateLimitChanged.emit(profile.id, info)
    text = window.status.rate_text()
    assert "Requests 57/60" in text and "resets in" in text and "Tokens 9,000/10,000" in text
    # another profile's figures are not shown
    app_ctx.events.rateLimitChanged.emit(
        "someone-else", RateLimitInfo(limit_requests=1, remaining_requests=0)
    )
    assert "57/60" in window.status.rate_text()
    assert format_rate_limits(RateLimitInfo()) == ""
    assert (
        format_rate_limits(
            RateLimitInfo(limit_requests=60, remaining_requests=57, reset_requests_at=100.0),
            now=59.0,
        )
        == "Requests 57/60 · resets in 41 s"
    )


def test_keychain_warning_when_unavailable(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    from keyring.backends import fail

    from app.core.secrets import SecretStore

    app_ctx.secrets = SecretStore("switchboard-test", keyring_backend=fail.Keyring(), environ={})
    win = make_window()

    async def check() -> None:
        await win._check_keychain()

    arun(check())
    label = win.status.keychain_label
    assert not label.isHidden()
    assert "keychain" in label.text().lower()
    assert label.toolTip()


def test_local_server_offer_adds_profile(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    found = new_profile_from_preset("ollama")

    async def detect() -> list[ProviderProfile]:
        return [found]

    win = make_window(detect_local=detect)
    arun(win._offer_local_servers(detect))
    from app.ui.status_bar import ServerOffer

    offers = win.status.offers.findChildren(ServerOffer)
    assert len(offers) == 1
    assert "Found Ollama on 127.0.0.1:11434" in offers[0].label.text()
    assert app_ctx.profile_list == []  # offered, not added silently

    async def add() -> None:
        changed = signal_future(app_ctx.events.profilesChanged)
        offers[0].add_button.click()
        await changed

    arun(add())
    assert [p.name for p in app_ctx.profile_list] == ["Ollama"]
    assert app_ctx.active_profile_id == found.id
    saved = json.loads((app_ctx.data_dir / "profiles.json").read_text())
    assert saved["profiles"][0]["base_url"] == "http://127.0.0.1:11434/v1"


def test_geometry_persists_across_windows(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    first = make_window()
    first.show()
    first.resize(760, 540)
    first.tabs.setCurrentIndex(2)
    arun(first.aclose())
    assert (app_ctx.data_dir / "ui.ini").exists()
    ini = QSettings(str(app_ctx.data_dir / "ui.ini"), QSettings.Format.IniFormat)
    assert ini.value("mainWindow/geometry") is not None

    second = make_window()
    assert (second.width(), second.height()) == (760, 540)
    assert second.tabs.currentIndex() == 2


def test_about_names_version_and_paths(window: MainWindow, app_ctx: Any) -> None:
    box = window.show_about()
    try:
        text = box.summary_text()
        assert "0.1.0" in text
        assert str(app_ctx.data_dir) in text
        assert "switchboard.log" in text
    finally:
        box.close()


def test_import_export_from_file_menu(
    window: MainWindow, app_ctx: Any, arun: Callable[..., Any], tmp_path: Path
) -> None:
    from app.ui.profile_actions import add_profile

    arun(add_profile(app_ctx, new_profile_from_preset("openai")))
    out = tmp_path / "export.json"
    assert arun(window.export_profiles(out)) == 1
    assert arun(window.import_profiles(out)) == 1
    names = [p.name for p in app_ctx.profile_list]
    assert names == ["OpenAI", "OpenAI"]
    assert len({p.id for p in app_ctx.profile_list}) == 2


def test_staged_close_cancels_tab_and_runs_shutdown(
    app_ctx: Any, make_window: Callable[..., Any], arun: Callable[..., Any]
) -> None:
    calls: list[str] = []

    async def services_shutdown() -> None:
        calls.append("services")

    win = make_window(services_shutdown=services_shutdown)
    win.show()

    async def close_like_user() -> None:
        closed = signal_future(win.closed)
        assert win.close() is False  # the first close is ignored while shutting down
        await closed

    arun(close_like_user())
    assert calls == ["services"]
    assert not win.isVisible()


def test_known_error_in_excepthook_is_a_message_not_a_crash(qapp: Any, tmp_path: Path) -> None:
    from app.core.errors import ConnectError
    from app.ui.crash import CrashHandler
    from app.ui.crash_dialog import CrashDialog

    handler = CrashHandler(tmp_path / "log.txt")
    handler.excepthook(ConnectError, ConnectError(), None)
    assert any(isinstance(w, QMessageBox) for w in handler._open)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        handler.excepthook(ValueError, exc, exc.__traceback__)
    crash = [w for w in handler._open if isinstance(w, CrashDialog)]
    assert crash and "ValueError: boom" in crash[0].details.toPlainText()
    for w in list(handler._open):
        w.close()


def test_gui_thread_gc_collects_from_timer(qapp: Any) -> None:
    import gc

    from app.ui.gc_guard import GuiThreadGC

    was = gc.isenabled()
    guard = GuiThreadGC()
    try:
        assert not gc.isenabled()

        class Node:
            def __init__(self) -> None:
                self.me = self

        for _ in range(gc.get_threshold()[0] + 10):
            Node()
        assert guard.check() > 0
    finally:
        guard.stop()
        guard.deleteLater()
    assert gc.isenabled() == was


def test_gui_thread_gc_freezes_startup_state_and_still_collects_new_cycles(qapp: Any) -> None:
    import gc

    from app.ui.gc_guard import GuiThreadGC

    class Node:
        def __init__(self) -> None:
            self.me = self

    guard = GuiThreadGC()
    try:
        startup_state = [Node() for _ in range(100)]
        frozen = guard.freeze_startup()
        assert frozen >= len(startup_state) and gc.get_freeze_count() == frozen
        # A full collection no longer visits what was frozen (it is not among the tracked objects).
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(node) in tracked for node in startup_state)
        # Cycles made after the freeze are still found by the GUI-thread collector.
        for _ in range(gc.get_threshold()[0] + 10):
            Node()
        assert guard.check() > 0
    finally:
        guard.stop()
        guard.deleteLater()
    assert gc.get_freeze_count() == 0  # stop() leaves the interpreter as it was


def test_version_needs_no_qt(capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from app.main import run; rc = run(['--version']); "
        "print('qt loaded' if 'PySide6.QtWidgets' in sys.modules else 'no qt'); sys.exit(rc)"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["switchboard 0.1.0", "no qt"]


def test_demo_screenshot_run_end_to_end(tmp_path: Path) -> None:
    """`python -m app --demo --screenshot` starts, paints, saves a PNG and quits cleanly."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    from tests.ui.helpers import pixel_stddev

    root = Path(__file__).resolve().parents[2]
    data = tmp_path / "data"
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--data-dir",
            str(data),
            "--demo",
            "--screenshot",
            str(shot),
            "--quit-after-paint",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("painted ")
    assert float(proc.stdout.split()[1]) > 0
    image = QImage(str(shot))
    assert not image.isNull() and pixel_stddev(image) > 8
    assert (data / "switchboard.db").exists() and (data / "ui.ini").exists()
    assert (data / "logs" / "switchboard.log").exists()
    assert not (data / "profiles.json").exists()  # the demo profile is never saved
    assert "Traceback" not in proc.stderr


def test_read_only_mode_shows_the_history_with_a_banner_and_sending_off(
    tmp_path: Path, secret_store: Any, arun: Callable[..., Any]
) -> None:
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository
    from app.main import build_context, shutdown_context

    data = tmp_path / "ro"
    data.mkdir()
    db = Database.open(data / "switchboard.db")
    try:
        arun(ThreadRepository(db).create_thread("kept history"))
    finally:
        db.close()
    before = (data / "switchboard.db").read_bytes()
    settings = QSettings(str(data / "ui.ini"), QSettings.Format.IniFormat)
    ctx = build_context(data, settings, secrets=secret_store, read_only=True)

    async def build() -> MainWindow:
        window = MainWindow(settings=settings)
        window.set_read_only("opened read-only for this test")
        window.attach(ctx)
        assert window.chat_tab is not None  # shown even without a provider profile
        await signal_future(window.chat_tab.threadsReloaded)
        return window

    window = arun(build())
    try:
        window.show()
        assert ctx.db.read_only
        assert window.read_only_banner is not None and window.read_only_banner.isVisible()
        assert "opened read-only for this test" in window.read_only_label.text()
        composer = window.chat_tab.composer
        assert not composer.isEnabled() and not composer.send_button.isEnabled()
        assert not window.import_action.isEnabled()
        thread_imports = [
            a for a in window.thread_transfer.actions() if "import" in a.text().lower()
        ]
        assert thread_imports and not any(a.isEnabled() for a in thread_imports)
        model = window.chat_tab.thread_list.model
        titles = [str(model.index(r, 0).data()) for r in range(model.rowCount())]
        assert any("kept history" in t for t in titles), titles
    finally:
        arun(window.aclose())
        arun(shutdown_context(ctx))
        window.deleteLater()
    assert (data / "switchboard.db").read_bytes() == before


def test_switching_tabs_puts_typing_in_the_new_tab(window: MainWindow, qtbot: Any) -> None:
    """Ctrl+3 then typing searched nothing: Qt had put the focus on the tab's first widget.
    The first time a tab is shown, its main field takes the focus."""
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.tab_actions[2].trigger()  # Notes
    host = window.notes_tab
    qtbot.waitUntil(lambda: host.tab is not None and host.tab.search_bar.query_edit.hasFocus())
    window.tab_actions[1].trigger()  # Images
    images = window.images_tab
    qtbot.waitUntil(lambda: images.tab is not None and images.tab.form.prompt_edit.hasFocus())
    # Back on Notes: the focus goes back where it was.
    window.tab_actions[2].trigger()
    qtbot.waitUntil(lambda: host.tab.search_bar.query_edit.hasFocus())
