"""Opening a thread of 5,000 messages costs what is on screen, not what is stored.

The view holds a window of the path: the newest rows on open, older ones inserted above as the
user scrolls up (the row on screen stays put), the rows around an old message on a jump.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat.chat_tab import LOAD_BATCH, OPEN_TAIL
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


async def _open_huge(app_ctx: AppContext, qtbot: QtBot) -> Any:
    thread = await app_ctx.threads.create_thread("Huge")
    await app_ctx.db.run(_fill, thread.id)
    tab = await make_tab(app_ctx)
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    await tab.open_thread(thread.id)
    return tab


def _first_row_in_view(view: Any) -> tuple[int, int]:
    """(message id, top in the viewport) of the first row whose top is on screen."""
    model = view.message_model()
    for i in range(model.rowCount()):
        top = view.visualRect(model.index(i, 0)).top()
        if top >= 0:
            return model.row(i).id, top
    raise AssertionError("no row on screen")


def test_opening_5000_messages_reads_and_paints_only_the_newest_rows(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    tab = arun(_open_huge(app_ctx, qtbot))
    try:
        view = tab.message_view
        delegate = view.message_delegate
        model = tab.message_model
        # Only the tail was read into the model: a bounded number of rows, the newest ones.
        assert model.rowCount() == OPEN_TAIL
        assert model.row(model.rowCount() - 1).id == COUNT
        assert model.row(0).id == COUNT - OPEN_TAIL + 1
        assert model.has_older and not model.has_newer
        view.viewport().repaint()  # paint synchronously, as the screen would
        assert delegate.paint_calls > 0
        # Only rows on screen were painted, laid out and converted from markdown.
        assert 0 < len(delegate.painted_ids) < 30
        assert delegate.layouts_built < 30
        assert delegate.markdown_renders < 30
        # The view opened at the newest message, and nothing older was read while at the bottom.
        assert COUNT in delegate.painted_ids
        assert view.stick_to_bottom
        assert model.rowCount() == OPEN_TAIL
    finally:
        arun(tab.aclose())


def test_scrolling_up_reads_older_rows_and_the_row_on_screen_stays_put(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        tab = await _open_huge(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        view.settle()
        first_id = model.row(0).id
        fetched = signal_future(tab.rowsFetched)
        # Up to the top of the window, as a wheel or the scroll bar would go.
        bar = view.verticalScrollBar()
        bar.setValue(0)
        view.settle()
        anchor_id, anchor_top = _first_row_in_view(view)
        assert await fetched == tab.current_thread_id
        # One keyset batch above the old first row, and that row is still where it was.
        assert model.rowCount() == OPEN_TAIL + LOAD_BATCH
        assert model.row(LOAD_BATCH).id == first_id
        assert [model.row(i).id for i in range(3)] == [first_id - LOAD_BATCH + k for k in range(3)]
        assert model.row(0).content == f"Question {first_id - LOAD_BATCH - 1}: how does step {first_id - LOAD_BATCH - 1} work?"
        index = model.index(model.find_row(anchor_id), 0)
        assert abs(view.visualRect(index).top() - anchor_top) <= 1, "the view jumped"
        view.settle()  # the newly shown rows are painted: estimates become exact heights
        assert abs(view.visualRect(index).top() - anchor_top) <= 1, "the view jumped after painting"
        assert not view.stick_to_bottom
        return tab

    tab = arun(scenario())
    arun(tab.aclose())


def test_jumping_to_an_old_message_reads_the_rows_around_it(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        tab = await _open_huge(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        assert model.find_row(11) < 0  # not read yet
        revealed = signal_future(tab.revealed)
        assert tab.reveal_message(11)
        assert await revealed == 11
        i = model.find_row(11)
        assert i >= 0 and model.row(i).content == "Question 10: how does step 10 work?"
        assert view.currentIndex().row() == i
        view.settle()
        assert view.viewport().rect().intersects(view.visualRect(model.index(i, 0)))
        # A window around it: the rows above (to the root) and some below, not the whole path.
        assert model.row(0).id == 1 and not model.has_older
        assert model.has_newer and model.rowCount() <= LOAD_BATCH + 1
        # Scrolling to its bottom reads the newer rows (Qt's fetchMore), by keyset.
        last = model.row(model.rowCount() - 1).id
        fetched = signal_future(tab.rowsFetched)
        view.scrollToBottom()
        view.settle()
        await fetched
        assert model.row(model.rowCount() - 1).id > last
        assert [r.id for r in model.rows] == list(range(1, model.rowCount() + 1))
        # Sending from there goes back to the newest rows first: the reply goes below them.
        assert tab.reveal_message(COUNT - 1)  # not in the window: another jump
        await signal_future(tab.revealed)
        return tab

    tab = arun(scenario())
    arun(tab.aclose())


def test_sending_from_a_window_around_an_old_message_returns_to_the_newest(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        tab = await _open_huge(app_ctx, qtbot)
        model = tab.message_model
        revealed = signal_future(tab.revealed)
        assert tab.reveal_message(101)
        await revealed
        assert model.has_newer
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("And after all that?")
        assert tab.send()
        reply = await finished
        assert not model.has_newer
        assert model.row(model.rowCount() - 3).id == COUNT
        assert model.row(model.rowCount() - 2).content == "And after all that?"
        assert model.row(model.rowCount() - 1).id == reply
        assert model.row(model.rowCount() - 1).parent_id == model.row(model.rowCount() - 2).id
        return tab

    tab = arun(scenario())
    arun(tab.aclose())
