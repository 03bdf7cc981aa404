"""Start-up recovery (`app.main._recover`): interrupted replies first, the purge in the background.

The purge of old deleted threads must neither hold back the window nor end start-up when it
fails; the `streaming -> interrupted` recovery must be done before the chat tab reads.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from app.main import _recover
from tests.core.store.helpers import check_integrity, count_rows, deep_chain


def test_recover_marks_interrupted_now_and_purges_deep_threads_in_the_background(
    app_ctx: Any, arun: Callable[..., Any]
) -> None:
    deep_id, _ = deep_chain(app_ctx.db, 3_000)
    live_id, ids = deep_chain(app_ctx.db, 2, word="harbour")
    app_ctx.db.run_sync(
        lambda conn: conn.execute("UPDATE messages SET status = 'streaming' WHERE id = ?", (ids[1],))
    )

    async def main() -> tuple[bool, int, int]:
        await app_ctx.threads.soft_delete(deep_id)
        # Deleted in an earlier session: before this start's cutoff.
        app_ctx.db.run_sync(
            lambda conn: conn.execute("UPDATE threads SET deleted_at = 1 WHERE id = ?", (deep_id,))
        )
        task = await _recover(app_ctx)
        # Nothing awaited since: the purge has not touched the database yet, the recovery has.
        started = task.done()
        still_there = count_rows(app_ctx.db, "SELECT count(*) FROM messages WHERE thread_id = ?",
                             deep_id)
        return started, still_there, await task

    started, still_there, purged = arun(main(), timeout=60)
    assert not started and still_there == 3_000
    assert purged == 1
    assert arun(app_ctx.threads.get_message(ids[1])).status == "interrupted"
    assert count_rows(app_ctx.db, "SELECT count(*) FROM threads WHERE id = ?", deep_id) == 0
    assert [m.content for m in arun(app_ctx.threads.current_path(live_id))] == [
        "harbour 0", "harbour 1"
    ]
    check_integrity(app_ctx.db)


def test_a_failing_purge_is_logged_and_shown_not_fatal(
    app_ctx: Any, arun: Callable[..., Any], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> int:
        raise sqlite3.OperationalError("too many levels of trigger recursion")

    monkeypatch.setattr(app_ctx.threads, "purge_deleted", broken)
    shown: list[str] = []
    app_ctx.events.statusMessage.connect(shown.append)

    async def main() -> int:
        task = await _recover(app_ctx)
        return await task

    with caplog.at_level(logging.ERROR, logger="switchboard"):
        assert arun(main()) == 0
    assert len(shown) == 1 and "Deleted chats could not be removed" in shown[0]
    assert "next start" in shown[0]
    assert any("purging deleted threads failed" in r.getMessage() for r in caplog.records)


def test_the_purge_waits_for_the_window_to_be_attached(
    app_ctx: Any, arun: Callable[..., Any]
) -> None:
    from app.ui.main_window import MainWindow

    deep_id, _ = deep_chain(app_ctx.db, 1_200)
    app_ctx.db.run_sync(
        lambda conn: conn.execute("UPDATE threads SET deleted_at = 1 WHERE id = ?", (deep_id,))
    )

    async def main() -> tuple[int, int]:
        shell = MainWindow(settings=app_ctx.settings)  # as start-up shows it: no services yet
        try:
            task = await _recover(app_ctx, shell)
            for _ in range(20):  # many loop turns: the purge must still be waiting
                await asyncio.sleep(0)
            before = count_rows(app_ctx.db, "SELECT count(*) FROM messages WHERE thread_id = ?",
                            deep_id)
            shell.attach(app_ctx)
            return before, await task
        finally:
            await shell.aclose()
            shell.deleteLater()

    before, purged = arun(main(), timeout=60)
    assert before == 1_200 and purged == 1
    assert count_rows(app_ctx.db, "SELECT count(*) FROM threads WHERE id = ?", deep_id) == 0
