"""The thread sidebar as model/view: 10,000 threads, pin, archive, rename, delete with undo,
automatic titles, and a screenshot (artifacts/screenshots/chat-sidebar.png)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QListView, QListWidget
from pytestqt.qtbot import QtBot

from app.main import _recover
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.sidebar.sidebar_controller import ASK_MODEL_SETTING
from app.ui.chat.sidebar.thread_list import UNDO_SECONDS
from app.ui.chat.sidebar.thread_model import PAGE_SIZE
from app.ui.context import AppContext
from tests.ui.chat.helpers import activate, make_tab

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


def _open(qtbot: QtBot, ctx: AppContext, arun: Callable[..., Any], size: tuple[int, int] = (900, 600)) -> ChatTab:
    tab = arun(make_tab(ctx))
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    arun(activate(tab))
    return tab




def _bulk_threads(ctx: AppContext, arun: Callable[..., Any], n: int, *, pinned_every: int = 0) -> None:
    """Insert `n` threads in one transaction (thread i updated at time i)."""

    def insert(conn: sqlite3.Connection) -> None:
        rows = [
            (f"Thread number {i}", int(bool(pinned_every) and i % pinned_every == 0), float(i), float(i))
            for i in range(1, n + 1)
        ]
        with conn:
            conn.executemany(
                "INSERT INTO threads (title, pinned, created_at, updated_at) VALUES (?, ?, ?, ?)", rows
            )

    arun(ctx.db.run(insert))


def test_ten_thousand_threads_in_a_model_view(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    _bulk_threads(app_ctx, arun, 10_000, pinned_every=2500)
    tab = _open(qtbot, app_ctx, arun)
    try:
        view = tab.thread_list.list
        assert isinstance(view, QListView) and not isinstance(view, QListWidget)
        assert view.uniformItemSizes()
        model = tab.thread_list.model
        # Only the first page is read: enough for a few screens, not all 10,000.
        assert model.rowCount() == PAGE_SIZE and model.canFetchMore()
        # Pinned first (2500, 5000, 7500, 10000 -> newest first), then by last activity.
        pinned = [model.row_at(i) for i in range(4)]
        assert [r.title for r in pinned] == [f"Thread number {i}" for i in (10000, 7500, 5000, 2500)]
        assert all(r.pinned for r in pinned) and not model.row_at(4).pinned
        assert model.row_at(4).title == "Thread number 9999"

        # Scrolling to the end reads the next page (Qt calls fetchMore).
        async def scroll_to_end() -> None:
            loaded = signal_future(model.pageLoaded)
            view.scrollToBottom()
            await loaded

        arun(scroll_to_end())
        assert model.rowCount() == 2 * PAGE_SIZE

        # Page by page to the last thread: the order across page boundaries is the listing's.
        async def fetch_all() -> None:
            while model.canFetchMore():
                await model.load_page()

        arun(fetch_all())
        assert not model.canFetchMore()
        full = arun(app_ctx.threads.list_thread_summaries(include_archived=False))
        assert tab.thread_list.thread_ids() == [r.id for r in full]
        assert model.rowCount() == 10_000 and model.row_at(9999).title == "Thread number 1"

        # A reload goes back to one page (printed, not asserted: see benchmarks/).
        async def reload() -> float:
            start = time.perf_counter()
            await tab.reload_threads()
            view.doItemsLayout()
            return time.perf_counter() - start

        print(f"reload of 10,000 threads: {arun(reload()) * 1000:.1f} ms")
        assert model.rowCount() == PAGE_SIZE
    finally:
        arun(tab.aclose())


def test_selecting_a_thread_not_loaded_yet_loads_down_to_it(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    _bulk_threads(app_ctx, arun, 3 * PAGE_SIZE)
    old = arun(app_ctx.threads.list_thread_summaries(include_archived=False))[-10]  # page 3
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        assert sidebar.model.row_for_id(old.id) < 0
        arun(tab.open_thread(old.id))
        qtbot.waitUntil(lambda: sidebar.current_thread_id() == old.id)
        assert sidebar.model.rowCount() >= 3 * PAGE_SIZE - 10
        # The open thread stays selected across a reload (read down to it again).
        arun(tab.reload_threads())
        assert sidebar.current_thread_id() == old.id
        # Renaming a row loaded from a later page stores the title.
        row = sidebar.model.row_for_id(old.id)
        assert sidebar.model.setData(sidebar.model.index(row, 0), "Renamed old one")
        qtbot.waitUntil(lambda: arun(app_ctx.threads.get_thread(old.id)).title == "Renamed old one")
        # A new message moves it to the top at the next reload.
        arun(app_ctx.threads.add_message(old.id, None, "user", "fresh"))
        arun(tab.reload_threads())
        assert sidebar.thread_ids()[0] == old.id and sidebar.model.rowCount() == PAGE_SIZE
        # Delete and undo a thread loaded from a later page: it comes back where it belongs.
        deep = arun(app_ctx.threads.list_thread_summaries(include_archived=False))[-3]
        assert arun(sidebar.model.load_through(deep.id)) and sidebar.model.row_for_id(deep.id) >= 0
        assert arun(tab.sidebar.delete_with_undo(deep.id))
        assert sidebar.model.row_for_id(deep.id) < 0 and sidebar.undo_bar.active

        async def undo() -> int:
            restored = signal_future(tab.sidebar.restored)
            sidebar.undo_bar.undo()
            return await restored

        assert arun(undo()) == deep.id
        assert arun(sidebar.model.load_through(deep.id))
        listing = [r.id for r in arun(app_ctx.threads.list_thread_summaries(include_archived=False))]
        assert sidebar.thread_ids() == listing[: listing.index(deep.id) + 1]
    finally:
        arun(tab.aclose())


def test_pin_archive_and_archived_filter(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def seed() -> tuple[int, int, int]:
        a = await app_ctx.threads.create_thread("Alpha")
        b = await app_ctx.threads.create_thread("Beta")
        c = await app_ctx.threads.create_thread("Gamma")
        await app_ctx.threads.add_message(c.id, None, "user", "latest")
        return a.id, b.id, c.id

    a, b, c = arun(seed())
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        assert sidebar.thread_ids() == [c, b, a]

        async def pin() -> None:
            reloaded = signal_future(tab.threadsReloaded)
            sidebar.pinRequested.emit(a, True)
            await reloaded

        arun(pin())
        assert sidebar.thread_ids() == [a, c, b]
        pin_icon = sidebar.model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
        blank_icon = sidebar.model.index(1, 0).data(Qt.ItemDataRole.DecorationRole)
        assert pin_icon is not None and blank_icon is not None and pin_icon.cacheKey() != blank_icon.cacheKey()

        # Ctrl+Shift+A archives the thread selected in the sidebar.
        arun(tab.open_thread(b))

        async def archive_by_key() -> tuple[int, bool]:
            done = signal_future(tab.sidebar.archivedChanged)
            sidebar.list.setFocus()
            QtBot.keyClick(sidebar.list, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            return await done

        assert arun(archive_by_key()) == (b, True)
        assert sidebar.thread_ids() == [a, c]
        assert arun(app_ctx.threads.get_thread(b)).archived
        assert sidebar.archived_button.text() == "Archived (1)"

        # The Archived toggle shows the archived threads only; the list then unarchives.
        sidebar.archived_button.click()
        assert sidebar.show_archived and sidebar.archived_header.isVisible()
        assert sidebar.thread_ids() == [b]

        async def unarchive() -> tuple[int, bool]:
            done = signal_future(tab.sidebar.archivedChanged)
            sidebar.archiveRequested.emit(b, False)
            return await done

        assert arun(unarchive()) == (b, False)
        assert sidebar.thread_ids() == []
        assert "No archived threads" in sidebar.list.empty_hint
        sidebar.archived_button.click()
        assert sidebar.thread_ids() == [a, c, b]
    finally:
        arun(tab.aclose())


def test_context_menu_offers_every_thread_action(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    from PySide6.QtWidgets import QMenu

    thread = arun(app_ctx.threads.create_thread("Menu me"))
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        rect = sidebar.list.visualRect(sidebar.model.index(0, 0))
        sidebar.list.customContextMenuRequested.emit(rect.center())
        menus = [m for m in sidebar.findChildren(QMenu) if m.accessibleName() == "Thread actions"]
        assert len(menus) == 1
        texts = [a.text().split("\t")[0] for a in menus[0].actions() if not a.isSeparator()]
        assert texts == ["Rename", "Pin to top", "Archive", "Export thread…", "Delete"]

        async def archive() -> tuple[int, bool]:
            done = signal_future(tab.sidebar.archivedChanged)
            next(a for a in menus[0].actions() if a.text().startswith("Archive")).trigger()
            return await done

        assert arun(archive()) == (thread.id, True)
        menus[0].close()
    finally:
        arun(tab.aclose())


def test_rename_with_f2_stores_the_title(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    thread = arun(app_ctx.threads.create_thread("Before"))
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        arun(tab.open_thread(thread.id))
        sidebar.list.setFocus()
        QtBot.keyClick(sidebar.list, Qt.Key.Key_F2)
        editor = sidebar.list.viewport().findChild(QLineEdit)
        assert editor is not None and editor.text() == "Before"

        async def commit() -> None:
            reloaded = signal_future(tab.threadsReloaded)
            editor.setText("  After   all ")
            QtBot.keyClick(editor, Qt.Key.Key_Return)
            await reloaded

        arun(commit())
        assert arun(app_ctx.threads.get_thread(thread.id)).title == "After all"
        assert sidebar.model.index(0, 0).data() == "After all"
    finally:
        arun(tab.aclose())


def test_delete_offers_undo_and_ctrl_z_restores(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def seed() -> tuple[int, int]:
        keep = await app_ctx.threads.create_thread("Keeper")
        doomed = await app_ctx.threads.create_thread("Doomed")
        await app_ctx.threads.add_message(doomed.id, None, "user", "hello there")
        return keep.id, doomed.id

    keep, doomed = arun(seed())
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    bar = sidebar.undo_bar
    try:
        arun(tab.open_thread(doomed))

        async def delete_by_key() -> int:
            offered = signal_future(tab.sidebar.undoOffered)
            sidebar.list.setFocus()
            QtBot.keyClick(sidebar.list, Qt.Key.Key_Delete)
            return await offered

        assert arun(delete_by_key()) == doomed
        # Deleted at once (soft), the open thread closed, and the offer shown for 10 s.
        assert arun(app_ctx.threads.get_thread(doomed)).deleted
        assert sidebar.thread_ids() == [keep]
        assert tab.current_thread_id is None
        assert bar.isVisible() and "Doomed" in bar.label.text()
        assert bar.timer.isActive() and bar.timer.interval() == UNDO_SECONDS * 1000

        async def undo_by_key() -> int:
            restored = signal_future(tab.sidebar.restored)
            tab.composer.edit.clearFocus()
            sidebar.list.setFocus()
            QtBot.keyClick(sidebar.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
            return await restored

        assert arun(undo_by_key()) == doomed
        assert not bar.isVisible()
        assert not arun(app_ctx.threads.get_thread(doomed)).deleted
        assert sidebar.thread_ids() == [doomed, keep]
        assert tab.current_thread_id == doomed  # it was open, so it is reopened
        assert [r.content for r in tab.message_model.rows] == ["hello there"]
    finally:
        arun(tab.aclose())


def test_undo_expires_then_the_thread_is_purged_at_next_start(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    doomed = arun(app_ctx.threads.create_thread("Short-lived"))
    tab = _open(qtbot, app_ctx, arun)
    bar = tab.thread_list.undo_bar
    try:
        assert arun(tab.delete_thread(doomed.id)) is True
        assert bar.isVisible()
        bar.timer.timeout.emit()  # the 10 seconds are over
        assert not bar.isVisible() and not bar.undo()
        assert not tab.sidebar._undo_shortcut.isEnabled()
        assert arun(app_ctx.threads.get_thread(doomed.id)).deleted  # still restorable on disk
    finally:
        arun(tab.aclose())
    # The next start purges what was deleted before it (in a background task: await it).
    async def next_start() -> int:
        return await (await _recover(app_ctx))

    assert arun(next_start()) == 1
    assert arun(app_ctx.threads.get_thread(doomed.id)) is None


def test_new_threads_are_titled_after_the_first_reply(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    tab = _open(qtbot, app_ctx, arun)
    try:
        titles: list[str] = []

        async def send() -> tuple[int, str]:
            created = signal_future(tab.threadsReloaded)
            titled = signal_future(tab.sidebar.titled)
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Explain **binary search** in two lines")
            assert tab.send()
            await created
            titles.append(tab.thread_list.model.index(0, 0).data())
            result = await titled
            await finished
            return result

        thread_id, title = arun(send())
        assert titles == ["New chat"]  # stored as "New chat" until the reply is complete
        assert title == "Explain binary search in two lines"
        assert arun(app_ctx.threads.get_thread(thread_id)).title == title

        # The toggle is a stored setting.
        assert not tab.sidebar.ask_model
        tab.thread_list.ask_model_action.trigger()
        assert tab.sidebar.ask_model
        assert app_ctx.settings.value(ASK_MODEL_SETTING, False, type=bool) is True
    finally:
        arun(tab.aclose())


def test_screenshot_of_the_sidebar(
    qtbot: QtBot, qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.theme import ThemeManager

    titles = [
        "Trip plan: Lisbon in October", "Rust lifetimes, explained", "Budget spreadsheet formulas",
        "Sourdough starter schedule", "SQL window functions", "Birthday poem for Ana",
        "Refactor the payment service", "Kubernetes liveness probes", "Best hiking boots under $150",
        "Translate the menu into French", "Regex for ISO dates", "Cover letter draft",
        "Why is the sky blue?", "Garden layout ideas", "Fix flaky pytest fixture",
        "Summarise the Q3 report", "Chess opening repertoire", "Dockerfile for a FastAPI app",
        "A very long thread title that should be elided nicely at the sidebar's edge",
    ]

    async def seed() -> int:
        ids = []
        for i, title in enumerate(titles):
            thread = await app_ctx.threads.create_thread(title)
            await app_ctx.threads.add_message(thread.id, None, "user", f"Message {i}")
            ids.append(thread.id)
        await app_ctx.threads.set_pinned(ids[1], True)
        await app_ctx.threads.set_pinned(ids[6], True)
        await app_ctx.threads.set_archived(ids[2], True)
        return ids[4]

    doomed = arun(seed())
    theme = ThemeManager(qapp, "light")
    tab = _open(qtbot, app_ctx, arun, size=(1100, 720))
    try:
        arun(tab.open_thread(doomed - 1))

        async def delete() -> None:
            offered = signal_future(tab.sidebar.undoOffered)
            tab.spawn(tab.delete_thread(doomed))
            await offered

        arun(delete())
        tab.thread_list.list.viewport().repaint()
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "chat-sidebar.png"
        assert tab.grab().save(str(path))
        assert path.stat().st_size > 10_000
    finally:
        arun(tab.aclose())
        qapp.setStyleSheet("")
        theme.deleteLater()


def test_ctrl_z_in_the_composer_undoes_the_delete_and_the_sidebar_keeps_its_width(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def seed() -> int:
        await app_ctx.threads.create_thread("Keeper")
        doomed = await app_ctx.threads.create_thread(
            "A thread with a rather long title that would not fit the sidebar"
        )
        await app_ctx.threads.add_message(doomed.id, None, "user", "hello there")
        return doomed.id

    doomed = arun(seed())
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        tab.resize(1200, 700)
        arun(tab.open_thread(doomed))
        width_before = sidebar.width()

        async def delete() -> int:
            offered = signal_future(tab.sidebar.undoOffered)
            assert await tab.delete_thread(doomed)
            return await offered

        assert arun(delete()) == doomed
        assert sidebar.undo_bar.isVisible()
        tab.layout().activate()
        # The bar elides its text instead of widening the sidebar.
        assert sidebar.width() == width_before
        assert sidebar.undo_bar.sizeHint().width() <= width_before
        # The composer has the focus (a new thread is shown) and would claim Ctrl+Z for
        # its own undo: while the bar shows, Ctrl+Z is the delete's Undo.
        edit = tab.composer.edit
        edit.setFocus()
        QtBot.keyClicks(edit, "draft")

        async def undo_by_key() -> int:
            restored = signal_future(tab.sidebar.restored)
            QtBot.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
            return await restored

        assert arun(undo_by_key()) == doomed
        assert not arun(app_ctx.threads.get_thread(doomed)).deleted
        assert not sidebar.undo_bar.isVisible()
        # With no offer, Ctrl+Z is the text field's own undo again.
        tab.start_new_thread()
        edit.setFocus()
        QtBot.keyClicks(edit, "typed")
        QtBot.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert edit.toPlainText() != "typed"
    finally:
        arun(tab.aclose())


def test_thread_list_shows_dates(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    import datetime as dt

    from app.ui.chat.sidebar.thread_model import DATE_ROLE, ThreadRow, date_label

    today = dt.date(2026, 3, 4)
    at = lambda d: dt.datetime.combine(d, dt.time(14, 2)).timestamp()
    assert date_label(at(today), today) == "Today"
    assert date_label(at(today - dt.timedelta(days=1)), today) == "Yesterday"
    assert date_label(at(dt.date(2026, 1, 9)), today) == "9 Jan"
    assert date_label(at(dt.date(2024, 12, 31)), today) == "31 Dec 2024"
    assert date_label(0, today) == ""

    tab = _open(qtbot, app_ctx, arun)
    try:
        now = dt.datetime.now()
        rows = [
            ThreadRow(1, "Fresh", updated_at=now.timestamp()),
            ThreadRow(2, "Old one", updated_at=dt.datetime(2020, 5, 6, 12).timestamp()),
        ]
        tab.thread_list.set_threads(rows)
        model = tab.thread_list.model
        assert model.index(0, 0).data(DATE_ROLE) == "Today"
        assert model.index(1, 0).data(DATE_ROLE) == "6 May 2020"
        assert model.index(0, 0).data() == "Fresh"  # the title itself is unchanged
        assert "6 May 2020" in model.index(1, 0).data(Qt.ItemDataRole.AccessibleTextRole)
        tab.thread_list.list.viewport().grab()  # paints the rows with their dates
    finally:
        arun(tab.aclose())
