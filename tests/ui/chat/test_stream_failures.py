"""The Chat tab when a stream does not end well: a cut-off reply, client notices (retry waits, a
non-streamed reply), writes that fail while streaming (a full disk, a value over SQLite's size
limit) and bugs (a client raising RuntimeError, an imported image part with invalid base64).

Streams that the demo server cannot produce yet come from the scripted FakeClient of the core
tests, put behind the real ChatService; the database is the real SQLite of `app_ctx`. The disk is
"filled" with SQLite's `max_page_count` (SQLite then answers exactly as on a full disk).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app.core.errors import IncompleteReplyError
from app.core.protocol.types import ChatDelta, StreamNotice
from app.core.services.chat import TOO_BIG_SENTENCE
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.chat_tab import BUG_SENTENCE, waiting_text
from app.ui.chat.messages.message_model import ChatRow
from app.ui.context import AppContext
from app.ui.crash import CrashHandler
from tests.core.helpers import FakeClient, text
from tests.ui.chat.helpers import click, open_tab, send_and_wait


async def _wait_row(tab: ChatTab, row: int, predicate: Callable[[ChatRow], bool]) -> ChatRow:
    """Await the model's dataChanged until row `row` satisfies `predicate`."""
    while not (tab.message_model.rowCount() > row and predicate(tab.message_model.row(row))):
        await signal_future(tab.message_model.dataChanged)
    return tab.message_model.row(row)


def _use_client(ctx: AppContext, client: FakeClient) -> None:
    """Every stream of the chat service now plays `client`'s scripts."""
    ctx.chat._client_for = lambda _profile_id: client  # type: ignore[attr-defined]


def _db(ctx: AppContext) -> Any:
    return ctx.threads.db


class Crashes:
    """What reached the excepthook: the exceptions, and an event set at the first."""

    def __init__(self) -> None:
        self.seen: list[BaseException] = []
        self.reported = asyncio.Event()

    async def first(self) -> BaseException:
        await self.reported.wait()
        return self.seen[0]


@pytest.fixture
def crashes(app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crashes]:
    """Route the app's task failures to a real CrashHandler (as app.main wires it), no dialogs."""
    crashes = Crashes()
    handler = CrashHandler(None, show_dialogs=False)

    def on_error(exc: BaseException) -> None:
        crashes.seen.append(exc)
        crashes.reported.set()
        handler.excepthook(type(exc), exc, exc.__traceback__)

    monkeypatch.setattr(app_ctx.tasks, "_on_error", on_error)
    yield crashes


def _can_send_again(tab: ChatTab) -> bool:
    """No stream left running, Send (not Stop) shown, and it accepts text."""
    tab.composer.set_text("next")
    ok = (
        not tab.is_streaming
        and tab.composer.send_button.isVisible()
        and not tab.composer.stop_button.isVisible()
        and tab.composer.send_button.isEnabled()
    )
    tab.composer.clear()
    return ok


# --- pure text ----------------------------------------------------------------------------------


def test_waiting_texts() -> None:
    retry = StreamNotice("retrying", attempt=2, max_attempts=3, delay_s=1.5, reason="rate limited")
    assert waiting_text(retry) == "Retrying 2/3 in 1.5 s (rate limited)"
    assert waiting_text(retry, 0.72) == "Retrying 2/3 in 0.7 s (rate limited)"
    assert waiting_text(retry, -1.0) == "Retrying 2/3 now (rate limited)…"
    assert "whole reply" in waiting_text(StreamNotice("unstreamed"))
    assert waiting_text(None) == ""


# --- a cut-off stream ---------------------------------------------------------------------------


def test_a_cut_off_reply_is_shown_incomplete_with_continue_and_regenerate(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    client = FakeClient([text("A river is a "), text("stream of"), IncompleteReplyError()]).then(
        [text(" water."), text("", finish_reason="stop")]
    )
    _use_client(app_ctx, client)

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            reply = await send_and_wait(tab, "Rivers?")
            row = model.row(1)
            assert (row.id, row.status, row.content) == (reply, "interrupted", "A river is a stream of")
            layout = view.row_layout(1)
            notes = [note for _y, note, _kind in layout.notes]
            assert "⚠ Incomplete — the connection ended before the reply finished." in notes
            assert [a for a, _ in layout.buttons] == ["continue", "regenerate"]
            assert _can_send_again(tab)
            stored = await app_ctx.threads.get_message(reply)
            assert stored is not None and stored.status == "interrupted"

            finished = signal_future(tab.replyFinished)
            click(qtbot, view, 1, layout.buttons[0][1])  # Continue appends to the same reply
            assert await finished == reply
            row = model.row(1)
            assert (row.status, row.content) == ("complete", "A river is a stream of water.")
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- notices ------------------------------------------------------------------------------------


def test_the_row_says_what_the_reply_waits_for(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    retry_over = asyncio.Event()
    arrived = asyncio.Event()

    async def wait_retry() -> None:
        await retry_over.wait()

    async def wait_reply() -> None:
        await arrived.wait()

    retrying = StreamNotice("retrying", attempt=2, max_attempts=3, delay_s=30.0, reason="rate limited")
    client = FakeClient(
        [
            ChatDelta(notice=retrying),
            wait_retry,
            ChatDelta(notice=StreamNotice("unstreamed")),
            wait_reply,
            text("The whole reply at once.", finish_reason="stop"),
        ]
    )
    _use_client(app_ctx, client)

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view = tab.message_view
        try:
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Hello")
            assert tab.send()
            row = await _wait_row(tab, 1, lambda r: r.waiting.startswith("Retrying 2/3 in"))
            assert row.status == "streaming" and row.content == ""
            assert view.row_layout(1).placeholder == row.waiting
            assert row.waiting in row.accessible_text()  # read out by a screen reader too
            first = row.waiting
            # It counts down (the next tick shows less time left), with no new progress.
            row = await _wait_row(tab, 1, lambda r: r.waiting != first)
            assert row.waiting.startswith("Retrying 2/3 in") and row.waiting < first

            retry_over.set()
            row = await _wait_row(tab, 1, lambda r: r.waiting == waiting_text(StreamNotice("unstreamed")))
            assert view.row_layout(1).placeholder == row.waiting

            arrived.set()
            await finished
            row = tab.message_model.row(1)
            assert (row.status, row.content, row.waiting) == ("complete", "The whole reply at once.", "")
            assert view.row_layout(1).body_doc is not None
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- writes that fail while streaming -----------------------------------------------------------


def _fill_disk(ctx: AppContext, spare_pages: int = 8) -> None:
    def cap(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    _db(ctx).run_sync(cap)


def test_a_full_disk_mid_stream_ends_the_reply_with_its_text_kept(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path
) -> None:
    big = "All of this arrived. " * 3_000  # ~63 kB: more than the disk has left
    client = (
        FakeClient([text("Fine.", finish_reason="stop")])
        .then([text("Start. "), text(big), text("never reached")])
        .then([text("Recorded again.", finish_reason="stop")])
    )
    _use_client(app_ctx, client)
    app_ctx.chat.journal_interval = 0.0  # journal every delta

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        problems: list[str] = []
        tab.storage_problem.connect(problems.append)
        try:
            await send_and_wait(tab, "first")  # the thread exists before the disk fills
            _fill_disk(app_ctx)
            reply = await send_and_wait(tab, "Tell me everything")
            row = model.row(3)
            assert row.status == "error" and row.unsaved
            assert row.content == "Start. " + big  # all of it, though the disk took less
            assert row.error is not None and "disk is full" in row.error
            assert [a for a, _ in view.row_layout(3).buttons] == ["copy_text", "save_text", "retry"]
            notes = [note for _y, note, _kind in view.row_layout(3).notes]
            assert any(note.startswith("⚠ Not saved") for note in notes)
            assert "Not saved" in row.accessible_text()
            assert problems and "disk is full" in problems[-1]
            assert tab.storage_problem_text == problems[-1]
            assert _can_send_again(tab)
            stored = await app_ctx.threads.get_message(reply)
            assert stored is not None and stored.status == "error"  # never left "streaming"

            # Copy text and Save as… offer the whole text.
            # (The row is taller than the view, so the painted button is triggered as a click
            # on it would: by its action name.)
            assert tab.message_actions.trigger("copy_text", reply)
            assert QGuiApplication.clipboard().text() == row.content
            saved = await tab.message_actions.save_text_to(reply, tmp_path / "reply.md")
            assert saved is not None and saved.read_text(encoding="utf-8") == row.content
            # The button's flow: a save dialog shown with open(), then the file.
            status = signal_future(app_ctx.events.statusMessage)
            assert tab.message_actions.trigger("save_text", reply)
            dialog = None
            while dialog is None or not dialog.isVisible():  # shown with open(), not exec()
                await asyncio.sleep(0)
                dialog = tab.findChild(QFileDialog, "fileChooser")
            assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
            dialog.selectFile(str(tmp_path / "chosen.md"))
            dialog.accept()
            assert "Saved the reply's text" in await status
            assert (tmp_path / "chosen.md").read_text(encoding="utf-8") == row.content

            # Space is freed: the next reply is recorded and the status bar is told so.
            _db(app_ctx).run_sync(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823"))
            await send_and_wait(tab, "again")
            assert model.row(5).status == "complete" and not model.row(5).unsaved
            assert problems[-1] == "" and tab.storage_problem_text == ""
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_reply_over_the_size_limit_ends_as_error_not_streaming(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    client = FakeClient([text("x" * 1000), text("y" * 30_000), text("", finish_reason="stop")])
    _use_client(app_ctx, client)
    app_ctx.chat.journal_interval = 0.0

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        problems: list[str] = []
        tab.storage_problem.connect(problems.append)
        try:
            _db(app_ctx).run_sync(lambda conn: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 20_000))
            reply = await send_and_wait(tab, "A long one")
            row = tab.message_model.row(1)
            assert (row.status, row.unsaved) == ("error", True)
            assert row.content == "x" * 1000 + "y" * 30_000
            assert row.error is not None and row.error.startswith(TOO_BIG_SENTENCE)
            assert problems == [TOO_BIG_SENTENCE]
            stored = await app_ctx.threads.get_message(reply)
            assert stored is not None and (stored.status, stored.content) == ("error", "x" * 1000)
            assert _can_send_again(tab)
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- bugs ---------------------------------------------------------------------------------------


async def _send_in_a_new_thread_works(tab: ChatTab, ctx: AppContext) -> None:
    """Another thread can still send (through the real demo server) and completes."""
    ctx.chat._client_for = ctx.clients.get  # type: ignore[attr-defined]
    tab.start_new_thread()
    reply = await send_and_wait(tab, "Explain list comprehensions")
    stored = await ctx.threads.get_message(reply)
    assert stored is not None and stored.status == "complete"
    assert tab.message_model.row(1).status == "complete"


def test_a_client_bug_ends_the_stream_and_reaches_the_excepthook(
    qtbot: QtBot,
    app_ctx: AppContext,
    arun: Callable[..., Any],
    crashes: Crashes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _use_client(app_ctx, FakeClient([text("Half a "), RuntimeError("client bug")]))

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        try:
            reply = await send_and_wait(tab, "Go")
            row = tab.message_model.row(1)
            assert (row.id, row.status, row.content) == (reply, "error", "Half a ")
            assert row.error == "Internal error: RuntimeError"
            assert _can_send_again(tab)
            # The task's exception reaches the handler once the stream has ended.
            assert isinstance(await crashes.first(), RuntimeError)
            assert any(
                r.name == "switchboard.crash" and "client bug" in r.getMessage() for r in caplog.records
            )
            await _send_in_a_new_thread_works(tab, app_ctx)
        finally:
            await tab.aclose()

    with caplog.at_level(logging.ERROR, logger="switchboard.crash"):
        arun(scenario(), timeout=30)


def test_an_imported_image_with_invalid_base64_does_not_jam_the_tab(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any], crashes: Crashes
) -> None:
    async def scenario() -> None:
        profile = app_ctx.profile_list[0]
        thread = await app_ctx.threads.create_thread("Imported", profile_id=profile.id, model="demo-chat")
        user = await app_ctx.threads.add_message(
            thread.id, None, "user", "Look at this",
            parts=[{"type": "image", "mime": "image/png", "data_b64": "not base64!!"}],
        )
        await app_ctx.threads.add_message(thread.id, user.id, "assistant", "A picture.")
        tab = await open_tab(app_ctx, qtbot)
        try:
            await tab.open_thread(thread.id)
            await send_and_wait(tab, "And this?")
            bug = await crashes.first()
            assert isinstance(bug, ValueError)  # binascii.Error, raised building the request
            row = tab.message_model.row(3)
            assert (row.role, row.status) == ("assistant", "error")
            assert row.error == BUG_SENTENCE.format(kind=type(bug).__name__)
            assert _can_send_again(tab)
            await _send_in_a_new_thread_works(tab, app_ctx)
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- screenshots (artifacts/screenshots, looked at by hand) -------------------------------------


def test_screenshots_of_unfinished_replies(
    qtbot: QtBot, qapp: Any, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.theme import ThemeManager
    from tests.ui.chat.helpers import save_shot

    theme = ThemeManager(qapp, "light")
    gate = asyncio.Event()

    async def fill_the_disk() -> None:
        _fill_disk(app_ctx, spare_pages=0)

    async def hold() -> None:
        await gate.wait()

    body = "\n\n".join(
        f"{i}. The tide comes in twice a day, and the harbour master writes down each one." for i in range(1, 60)
    )
    client = (
        FakeClient([text("Harbours are sheltered water. "), fill_the_disk, text(body)])
        .then([text("Tides follow the moon, and "), IncompleteReplyError()])
        .then([ChatDelta(notice=StreamNotice("retrying", 2, 3, 12.0, "rate limited")), hold, text("ok")])
    )
    _use_client(app_ctx, client)
    app_ctx.chat.journal_interval = 0.0

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot, (1100, 780))
        view = tab.message_view
        try:
            await send_and_wait(tab, "Tell me about harbours")
            assert tab.message_model.row(1).unsaved
            view.scrollToBottom()
            save_shot(tab, "chat-disk-full.png")
            _db(app_ctx).run_sync(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823"))

            tab.start_new_thread()
            await send_and_wait(tab, "Why are there tides?")
            assert tab.message_model.row(1).status == "interrupted"
            save_shot(tab, "chat-incomplete.png")

            tab.start_new_thread()
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Still there?")
            assert tab.send()
            await _wait_row(tab, 1, lambda r: r.waiting.startswith("Retrying"))
            save_shot(tab, "chat-retrying.png")
            gate.set()
            await finished
        finally:
            await tab.aclose()

    try:
        arun(scenario(), timeout=40)
    finally:
        qapp.setStyleSheet("")
        theme.deleteLater()
