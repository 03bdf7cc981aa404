"""The thread sidebar: ordering, opening, renaming, pinning, deleting; and closing the tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.sidebar.thread_list import THREAD_ID_ROLE
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab


def _open(qtbot: QtBot, ctx: AppContext, arun: Callable[..., Any]) -> ChatTab:
    tab = arun(make_tab(ctx))
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    return tab


def test_threads_listed_pinned_first_then_by_activity(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def seed() -> tuple[int, int, int]:
        old = await app_ctx.threads.create_thread("Old")
        pinned = await app_ctx.threads.create_thread("Pinned")
        new = await app_ctx.threads.create_thread("New")
        await app_ctx.threads.add_message(new.id, None, "user", "fresh")
        await app_ctx.threads.set_pinned(pinned.id, True)
        return old.id, pinned.id, new.id

    old, pinned, new = arun(seed())
    tab = _open(qtbot, app_ctx, arun)
    try:
        assert tab.thread_list.thread_ids() == [pinned, new, old]

        # Choosing a thread opens it.
        async def choose() -> int:
            opened = signal_future(tab.threadOpened)
            tab.thread_list.list.setCurrentIndex(tab.thread_list.model.index(1, 0))
            return await opened

        assert arun(choose()) == new
        assert [r.content for r in tab.message_model.rows] == ["fresh"]

        # Renaming in place (F2 / double-click edit the item) stores the new title.
        async def rename() -> None:
            reloaded = signal_future(tab.threadsReloaded)
            tab.thread_list.model.setData(tab.thread_list.model.index(1, 0), "Renamed")
            await reloaded

        arun(rename())
        titles = {t.id: t.title for t in arun(app_ctx.threads.list_threads())}
        assert titles[new] == "Renamed"
        edit_triggers = tab.thread_list.list.editTriggers()
        assert edit_triggers & tab.thread_list.list.EditTrigger.EditKeyPressed  # F2
        assert edit_triggers & tab.thread_list.list.EditTrigger.DoubleClicked
    finally:
        arun(tab.aclose())


def test_delete_is_immediate_and_clears_the_open_thread(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    thread = arun(app_ctx.threads.create_thread("Doomed"))
    arun(app_ctx.threads.add_message(thread.id, None, "user", "bye"))
    tab = _open(qtbot, app_ctx, arun)
    try:
        arun(tab.open_thread(thread.id))
        requested: list[int] = []
        tab.thread_list.deleteRequested.disconnect()  # only observe the key here
        tab.thread_list.deleteRequested.connect(requested.append)
        tab.thread_list.list.setFocus()
        qtbot.keyClick(tab.thread_list.list, Qt.Key.Key_Delete)
        assert requested == [thread.id]

        # No question first (the sidebar offers Undo instead; see test_sidebar.py).
        assert arun(tab.delete_thread(thread.id)) is True
        assert tab.findChild(QMessageBox, "confirmBox") is None
        assert tab.thread_list.thread_ids() == []
        assert tab.current_thread_id is None and tab.message_model.rowCount() == 0
        assert tab.thread_list.undo_bar.isVisible()
    finally:
        arun(tab.aclose())


def test_first_message_creates_a_titled_thread(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    tab = _open(qtbot, app_ctx, arun)
    try:
        async def send() -> int:
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("What is a monad, briefly?\nSecond line")
            assert tab.send()
            return await finished

        arun(send())
        ids = tab.thread_list.thread_ids()
        assert len(ids) == 1 and tab.current_thread_id == ids[0]
        assert tab.thread_list.model.index(0, 0).data() == "What is a monad, briefly?"
        assert tab.thread_list.list.currentIndex().data(THREAD_ID_ROLE) == ids[0]
    finally:
        arun(tab.aclose())


def test_aclose_cancels_a_running_stream(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 30.0
    tab = _open(qtbot, app_ctx, arun)

    async def scenario() -> int:
        started = signal_future(tab.replyStarted)
        tab.composer.set_text("Please write 500 tokens")
        assert tab.send()
        reply_id = await started
        await tab.aclose()
        return reply_id

    reply_id = arun(scenario())
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "cancelled"
    assert not [t for t in app_ctx.tasks.tasks if not t.done()]
