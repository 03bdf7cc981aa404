"""The start-up failure window: plain words, the right safe actions, choices as a signal.

Screenshots of each kind go to artifacts/screenshots/startup-<kind>.png (gitignored) so a person
can look at them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.core.store.db import DatabaseOpenError
from app.ui.async_bridge import signal_future
from app.ui.startup_failure import (
    CHOOSE,
    QUIT,
    READ_ONLY,
    RESTORE,
    StartupFailureWindow,
    describe,
)

OUT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def problem_for(kind: str, tmp_path: Path, **kwargs: Any) -> Any:
    messages = {
        "damaged": "switchboard.db is damaged: the file is shorter than its header says.",
        "not-a-database": "switchboard.db is not a Switchboard database.",
        "newer-schema": "This database was written by a newer Switchboard (schema v9).",
        "locked": "The database is locked by another program.",
        "read-only": "The database file is read-only.",
        "disk-full": "The disk is full, so the database could not be written.",
        "log-unwritable": "The log folder cannot be written.",
    }
    exc = DatabaseOpenError(messages[kind], kind=kind, detail=f"detail of {kind}")
    return describe(exc, tmp_path, db_path=tmp_path / "switchboard.db", **kwargs)


@pytest.fixture
def show(qtbot: Any) -> Callable[[Any], StartupFailureWindow]:
    def make(problem: Any) -> StartupFailureWindow:
        window = StartupFailureWindow(problem)
        qtbot.addWidget(window)
        window.resize(700, window.sizeHint().height())
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


def test_a_damaged_database_names_its_real_backup_and_restore_emits_it(
    tmp_path: Path, show: Callable[[Any], StartupFailureWindow], qtbot: Any
) -> None:
    backup = tmp_path / "switchboard.db.bak-v4"
    backup.write_bytes(b"x")
    window = show(problem_for("damaged", tmp_path, backups=(backup,)))
    button = window.buttons[RESTORE]
    assert button.text() == "Restore switchboard.db.bak-v4"
    assert "moved aside" in window.advice_label.text()
    with qtbot.waitSignal(window.chosen) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert blocker.args == [RESTORE, backup]


def test_without_a_backup_there_is_no_restore_and_the_text_says_so(
    tmp_path: Path, show: Callable[[Any], StartupFailureWindow]
) -> None:
    window = show(problem_for("damaged", tmp_path))
    assert RESTORE not in window.buttons
    assert "no backup copy" in window.advice_label.text()


def test_read_only_is_offered_only_when_readable_and_emits(
    tmp_path: Path, show: Callable[[Any], StartupFailureWindow], qtbot: Any
) -> None:
    assert READ_ONLY not in show(problem_for("newer-schema", tmp_path)).buttons
    window = show(problem_for("newer-schema", tmp_path, can_read_only=True))
    with qtbot.waitSignal(window.chosen) as blocker:
        qtbot.mouseClick(window.buttons[READ_ONLY], Qt.MouseButton.LeftButton)
    assert blocker.args == [READ_ONLY, None]


def test_closing_the_window_is_quit_once(
    tmp_path: Path, show: Callable[[Any], StartupFailureWindow], qtbot: Any
) -> None:
    window = show(problem_for("locked", tmp_path))
    seen: list[list[Any]] = []
    window.chosen.connect(lambda *args: seen.append(list(args)))
    window.close()
    qtbot.mouseClick(window.buttons[QUIT], Qt.MouseButton.LeftButton)
    assert seen == [[QUIT, None]]


def test_choose_another_folder_opens_a_picker_and_emits_the_folder(
    tmp_path: Path, show: Callable[[Any], StartupFailureWindow], arun: Callable[..., Any]
) -> None:
    window = show(problem_for("read-only", tmp_path))
    dialog = window.choose_folder()
    assert dialog.isVisible()
    other = tmp_path / "elsewhere"
    other.mkdir()

    async def pick() -> list[Any]:
        chosen = signal_future(window.chosen)
        dialog.fileSelected.emit(str(other))
        return list(await chosen)

    assert arun(pick()) == [CHOOSE, other]
    dialog.close()


@pytest.mark.parametrize(
    "kind",
    ["damaged", "not-a-database", "newer-schema", "locked", "read-only", "disk-full",
     "log-unwritable"],
)
def test_screenshot_of_each_failure_window(
    kind: str, tmp_path: Path, show: Callable[[Any], StartupFailureWindow]
) -> None:
    backups = ()
    if kind == "damaged":
        backups = (tmp_path / "switchboard.db.bak-v4",)
        backups[0].write_bytes(b"x")
    window = show(
        problem_for(
            kind, tmp_path, backups=backups, can_read_only=kind in ("newer-schema", "read-only")
        )
    )
    OUT.mkdir(parents=True, exist_ok=True)
    image = window.grab().toImage()
    assert image.width() >= 600 and image.height() > 150
    assert image.save(str(OUT / f"startup-{kind}.png"))
    # Every window offers a way out that changes nothing.
    assert {CHOOSE, QUIT} <= set(window.buttons)


def test_restore_in_the_real_start_up_flow_moves_the_damaged_file_aside_and_opens_the_backup(
    tmp_path: Path, arun: Callable[..., Any], qtbot: Any, secret_store: Any, monkeypatch: Any
) -> None:
    import asyncio
    import functools
    import shutil

    from PySide6.QtCore import QSettings

    import app.main as main
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository
    from app.ui.main_window import MainWindow

    data = tmp_path / "data"
    data.mkdir()
    db_path = data / "switchboard.db"
    db = Database.open(db_path)
    try:
        arun(ThreadRepository(db).create_thread("before the damage"))
    finally:
        db.close()
    shutil.copy(db_path, data / "switchboard.db.bak-v2")
    damaged = bytearray(db_path.read_bytes())
    damaged[100:4096] = b"\x5a" * (4096 - 100)
    db_path.write_bytes(bytes(damaged))
    monkeypatch.setattr(
        main, "build_context", functools.partial(main.build_context, secrets=secret_store)
    )
    settings = QSettings(str(data / "ui.ini"), QSettings.Format.IniFormat)
    args = main.parse_args(["--data-dir", str(data), "--no-detect"])
    startup = main._Startup(data_dir=data)

    class Crash:
        def excepthook(self, *exc: Any) -> None:
            raise AssertionError(exc)

    async def flow() -> tuple[Any, str]:
        shell = MainWindow(settings=settings)
        shown: asyncio.Future[StartupFailureWindow] = asyncio.get_running_loop().create_future()
        startup.on_failure_shown = shown.set_result
        opening = asyncio.ensure_future(
            main._open_data(args, data, settings, Crash(), shell, startup)
        )
        failure = await shown
        kind = failure.problem.kind
        assert not shell.isVisible() and failure.isVisible()
        qtbot.mouseClick(failure.buttons[RESTORE], Qt.MouseButton.LeftButton)
        ctx = await opening
        assert shell.isVisible()
        shell.close()
        shell.deleteLater()
        return ctx, kind

    ctx, kind = arun(flow(), timeout=30)
    try:
        assert kind == "damaged"
        titles = [t.title for t in arun(ctx.threads.list_threads())]
        assert titles == ["before the damage"]
    finally:
        from app.main import shutdown_context

        arun(shutdown_context(ctx))
    # The failed open may have left -wal/-shm files: they are moved aside with it.
    aside = [
        p for p in data.glob("switchboard.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))
    ]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(damaged)
    assert (data / "switchboard.db.bak-v2").exists()


def test_a_write_failure_after_opening_keeps_its_kind(tmp_path: Path) -> None:
    """The start-up recovery (an UPDATE) can hit a full disk after the open succeeded: the
    StorageError it raises has no kind, SQLite's words in it say which."""
    from app.core.errors import StorageError

    problem = describe(
        StorageError("The disk is full.", detail="database or disk is full"), tmp_path
    )
    assert problem.kind == "disk-full" and problem.can_retry
    assert "full" in problem.message


def test_an_os_error_on_the_data_folder(tmp_path: Path) -> None:
    import errno

    problem = describe(OSError(errno.EROFS, "Read-only file system", str(tmp_path)), tmp_path)
    assert problem.kind == "read-only"
    assert "read-only" in problem.message
    problem = describe(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert problem.kind == "disk-full" and problem.can_retry


def _flow_fixture(tmp_path: Path, secret_store: Any, monkeypatch: Any) -> tuple[Any, ...]:
    import functools

    from PySide6.QtCore import QSettings

    import app.main as main

    data = tmp_path / "flow"
    data.mkdir(exist_ok=True)
    monkeypatch.setattr(
        main, "build_context", functools.partial(main.build_context, secrets=secret_store)
    )
    settings = QSettings(str(data / "ui.ini"), QSettings.Format.IniFormat)
    args = main.parse_args(["--data-dir", str(data), "--no-detect"])
    return main, data, settings, args, main._Startup(data_dir=data)


class _NoCrash:
    def excepthook(self, *exc: Any) -> None:
        raise AssertionError(exc)


def test_try_again_after_the_other_program_let_go_opens_the_database(
    tmp_path: Path, arun: Callable[..., Any], qtbot: Any, secret_store: Any, monkeypatch: Any
) -> None:
    import asyncio
    import sqlite3

    from app.core.store.db import Database
    from app.ui.main_window import MainWindow
    from app.ui.startup_failure import RETRY

    main, data, settings, args, startup = _flow_fixture(tmp_path, secret_store, monkeypatch)
    Database.open(data / "switchboard.db").close()
    holder = sqlite3.connect(data / "switchboard.db", isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")

    async def flow() -> tuple[Any, str]:
        shell = MainWindow(settings=settings)
        shown: asyncio.Future[StartupFailureWindow] = asyncio.get_running_loop().create_future()
        startup.on_failure_shown = shown.set_result
        opening = asyncio.ensure_future(
            main._open_data(args, data, settings, _NoCrash(), shell, startup)
        )
        failure = await shown
        holder.execute("ROLLBACK")  # the other program lets go
        holder.close()
        qtbot.mouseClick(failure.buttons[RETRY], Qt.MouseButton.LeftButton)
        ctx = await opening
        shell.close()
        shell.deleteLater()
        return ctx, failure.problem.kind

    try:
        ctx, kind = arun(flow(), timeout=30)
    finally:
        holder.close()
    try:
        assert kind == "locked"
        assert not ctx.db.read_only and ctx.db.version > 0
    finally:
        arun(main.shutdown_context(ctx))


def test_choose_another_folder_starts_a_new_process_there_and_exits_0(
    tmp_path: Path, arun: Callable[..., Any], secret_store: Any, monkeypatch: Any
) -> None:
    import asyncio

    from PySide6.QtCore import QProcess

    from app.ui.main_window import MainWindow

    main, data, settings, args, startup = _flow_fixture(tmp_path, secret_store, monkeypatch)
    (data / "switchboard.db").write_bytes(b"not a database" * 20)
    started: list[tuple[str, list[str]]] = []
    def start_detached(program: str, argv: list[str]) -> bool:
        started.append((program, argv))
        return True

    monkeypatch.setattr(QProcess, "startDetached", staticmethod(start_detached))
    other = tmp_path / "other"

    async def flow() -> int:
        shell = MainWindow(settings=settings)
        shown: asyncio.Future[StartupFailureWindow] = asyncio.get_running_loop().create_future()
        startup.on_failure_shown = shown.set_result
        opening = asyncio.ensure_future(
            main._open_data(args, data, settings, _NoCrash(), shell, startup)
        )
        failure = await shown
        dialog = failure.choose_folder()
        dialog.fileSelected.emit(str(other))
        dialog.close()
        code = await opening
        shell.close()
        shell.deleteLater()
        return code

    assert arun(flow(), timeout=30) == 0
    assert len(started) == 1
    _program, argv = started[0]
    assert argv[:4] == ["-m", "app", "--data-dir", str(other)]
    assert (data / "switchboard.db").read_bytes() == b"not a database" * 20


def test_a_restore_that_fails_is_said_in_the_window_shown_again(
    tmp_path: Path, arun: Callable[..., Any], secret_store: Any, monkeypatch: Any
) -> None:
    import asyncio

    import app.core.store.db as store_db
    from app.ui.main_window import MainWindow

    main, data, settings, args, startup = _flow_fixture(tmp_path, secret_store, monkeypatch)
    (data / "switchboard.db").write_bytes(b"junk" * 100)
    (data / "switchboard.db.bak-v1").write_bytes(b"also junk")

    def refuse(*_args: Any, **_kwargs: Any) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_db, "restore_backup", refuse)
    windows: list[StartupFailureWindow] = []

    async def flow() -> int:
        shell = MainWindow(settings=settings)
        second: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_shown(window: StartupFailureWindow) -> None:
            windows.append(window)
            if len(windows) == 1:
                window.buttons[RESTORE].click()
            elif not second.done():
                second.set_result(None)
                window.buttons[QUIT].click()

        startup.on_failure_shown = on_shown
        code = await main._open_data(args, data, settings, _NoCrash(), shell, startup)
        await second
        shell.close()
        shell.deleteLater()
        return code

    assert arun(flow(), timeout=30) == 3
    assert len(windows) == 2
    assert any("Restoring switchboard.db.bak-v1 failed" in n for n in windows[1].problem.notes)
    assert (data / "switchboard.db").read_bytes() == b"junk" * 100
