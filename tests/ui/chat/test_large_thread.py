"""Opening a thread of 5,000 messages costs what is on screen, not what is stored."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from pytestqt.qtbot import QtBot

from app.ui.context import AppContext
from tests.ui.chat.test_chat_tab import make_tab

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
