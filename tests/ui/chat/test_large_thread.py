"""Opening a thread of 5,000 messages costs what is on screen, not what is stored."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from pytestqt.qtbot import QtBot

from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab

COUNT = 5000


def _fill(conn: sqlite3.Connection, thread_id: int) -> int:
    now = time.time()
    rows = []
    for i in range(COUNT):
        role = "user" if i % 2 == 0 else "assistant"
        content = (
            f"Question {i}: how does step {i} work?"
            if role == "user"
            else f"## Answer {i}\n\nSome *markdown* text.\n\n```python\nprint({i})\n```\n"
        )
        rows.append((i + 1, thread_id, i if i else None, role, content, "demo-chat" if role == "assistant" else None, now + i, now + i))
    conn.executemany(
        "INSERT INTO messages (id, thread_id, parent_id, role, content, model, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("UPDATE threads SET selected_leaf_id = ? WHERE id = ?", (COUNT, thread_id))
    return COUNT


def test_opening_5000_messages_paints_only_visible_rows(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        thread = await app_ctx.threads.create_thread("Huge")
        await app_ctx.db.run(_fill, thread.id)
        tab = await make_tab(app_ctx)
        qtbot.addWidget(tab)
        tab.resize(1000, 700)
        tab.show()
        await tab.open_thread(thread.id)
        return tab

    tab = arun(scenario())
    try:
        view = tab.message_view
        delegate = view.message_delegate
        assert tab.message_model.rowCount() == COUNT
        view.viewport().repaint()  # paint synchronously, as the screen would
        assert delegate.paint_calls > 0
        # Only rows on screen were painted, laid out and converted from markdown.
        assert 0 < len(delegate.painted_ids) < 60
        assert delegate.layouts_built < 60
        assert delegate.markdown_renders < 60
        # The view opened at the newest message.
        assert COUNT in delegate.painted_ids
        assert 1 not in delegate.painted_ids
    finally:
        arun(tab.aclose())


def test_a_long_thread_opens_with_its_tail_and_fills_in_the_rest(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.async_bridge import signal_future
    from app.ui.chat.chat_tab import OPEN_TAIL

    async def scenario() -> Any:
        thread = await app_ctx.threads.create_thread("Huge")
        await app_ctx.db.run(_fill, thread.id)
        tab = await make_tab(app_ctx)
        qtbot.addWidget(tab)
        tab.resize(1000, 700)
        tab.show()
        loaded = signal_future(tab.pathLoaded)
        await tab.open_thread(thread.id)
        model = tab.message_model
        # Every row is there at once (the scroll bar is right), but only the tail was read.
        assert model.rowCount() == COUNT
        assert [r.loaded for r in model.rows[-OPEN_TAIL:]] == [True] * OPEN_TAIL
        assert not model.row(0).loaded and model.row(0).content == ""
        assert model.row(COUNT - 1).content.startswith(f"## Answer {COUNT - 1}")
        assert await loaded == thread.id
        assert all(r.loaded for r in model.rows)
        assert model.row(0).content == "Question 0: how does step 0 work?"
        assert model.row(1).content.startswith("## Answer 1\n")
        return tab

    tab = arun(scenario())
    arun(tab.aclose())


def test_revealing_an_early_message_reads_it_first(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.async_bridge import signal_future

    async def scenario() -> Any:
        thread = await app_ctx.threads.create_thread("Huge")
        await app_ctx.db.run(_fill, thread.id)
        tab = await make_tab(app_ctx)
        qtbot.addWidget(tab)
        tab.resize(1000, 700)
        tab.show()
        await tab.open_thread(thread.id)
        model = tab.message_model
        assert not model.row(10).loaded
        assert tab.reveal_message(11)  # row 10: not read yet
        assert tab.message_view.currentIndex().row() == 10
        # The next batch read is the one around it, not the rows just above the tail.
        changed = signal_future(model.dataChanged)
        top, _bottom, _roles = await changed
        assert top.row() <= 10
        assert model.row(10).loaded and model.row(10).content == "Question 10: how does step 10 work?"
        assert not model.row(COUNT - 500).loaded
        assert tab.message_view.currentIndex().row() == 10
        assert not tab.reveal_message(10**6)  # not on the path
        return tab

    tab = arun(scenario())
    arun(tab.aclose())
