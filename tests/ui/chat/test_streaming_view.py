"""The rest of the streaming view against a real DemoServer: Continue after the length limit and
after an interruption, n > 1 alternatives, dropped turns, finish reasons, errors with partial
text, render cost, and the screenshots (chat-long, chat-branch, chat-error-row).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.demo.faults import FaultRule
from app.core.protocol.types import GenerationParams
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.message_model import ChatRow
from app.ui.chat.messages.row_text import dropped_note, finish_sentence, footer_text, inline_buttons
from app.ui.context import AppContext
from app.ui.theme import ThemeManager
from tests.ui.chat.helpers import click, open_tab, save_shot, select_row, send_and_wait, strip_rect


async def _wait_row(tab: ChatTab, row: int, predicate: Callable[[ChatRow], bool]) -> ChatRow:
    """Await the model's dataChanged until row `row` satisfies `predicate`."""
    while not (tab.message_model.rowCount() > row and predicate(tab.message_model.row(row))):
        await signal_future(tab.message_model.dataChanged)
    return tab.message_model.row(row)


async def _use_params(tab: ChatTab, ctx: AppContext, params: GenerationParams) -> None:
    """Give the open thread these sampling parameters and reopen it (its settings are loaded)."""
    thread_id = tab.current_thread_id
    assert thread_id is not None
    await ctx.threads.update_thread_settings(thread_id, params=params)
    await _open_and_refresh(tab, thread_id)


async def _open_and_refresh(tab: ChatTab, thread_id: int) -> None:
    """Open a thread and wait until its version navigators are filled in."""
    refreshed = signal_future(tab.message_actions.siblingsRefreshed)
    await tab.open_thread(thread_id)
    await refreshed


# --- pure text ---------------------------------------------------------------------------------


def test_footer_sentences_for_unusual_finishes() -> None:
    row = ChatRow(id=1, role="assistant", content="x", finish_reason="length")
    assert footer_text(row) == "stopped at the length limit"
    assert inline_buttons(row) == ["continue"]
    assert "content filter" in footer_text(ChatRow(id=2, role="assistant", content="x", finish_reason="content_filter"))
    assert "safety filter" in finish_sentence("safety") and finish_sentence("SAFETY") == finish_sentence("safety")
    assert finish_sentence("stop") == "" and finish_sentence(None) == ""
    assert finish_sentence("weird") == "finished early (weird)"
    streaming = ChatRow(id=3, role="assistant", status="streaming", alternatives_streaming=2)
    assert footer_text(streaming) == "3 alternatives streaming"
    assert dropped_note(ChatRow(id=4, role="assistant", dropped_turns=1)).startswith("1 older turn was")
    assert dropped_note(ChatRow(id=5, role="assistant", dropped_turns=4)) == (
        "4 older turns were left out to fit the model's context window"
    )
    assert dropped_note(ChatRow(id=6, role="assistant")) == ""
    assert inline_buttons(ChatRow(id=7, role="assistant", content="", status="error")) == ["retry"]
    assert inline_buttons(ChatRow(id=8, role="assistant", content="a", status="interrupted", parent_id=1)) == [
        "continue", "regenerate",
    ]


# --- continue ------------------------------------------------------------------------------------


def test_length_cut_reply_continues_into_the_same_row(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            await send_and_wait(tab, "Hello")
            assert tab.current_thread_id is not None
            await _use_params(tab, app_ctx, GenerationParams(max_tokens=12))
            cut = await send_and_wait(tab, "Tell me about mountains")
            row = model.row(3)
            assert row.id == cut and row.finish_reason == "length"
            layout = view.row_layout(3)
            assert "stopped at the length limit" in layout.footer_text
            assert [a for a, _ in layout.buttons] == ["continue"]
            assert "continue" in dict(layout.strip)
            before = row.content

            started = signal_future(tab.replyStarted)
            finished = signal_future(tab.replyFinished)
            click(qtbot, view, 3, layout.buttons[0][1])
            assert model.row(3).status == "streaming" and tab.is_streaming
            assert await started == cut
            assert await finished == cut
            row = model.row(3)
            assert model.rowCount() == 4 and row.id == cut
            assert row.content.startswith(before) and len(row.content) > len(before)
            stored = await app_ctx.threads.get_message(cut)
            assert stored is not None and stored.content == row.content
            assert stored.usage is not None and (stored.usage.completion_tokens or 0) >= 24  # both requests
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


async def _seed_interrupted(ctx: AppContext, title: str) -> tuple[int, int]:
    thread = await ctx.threads.create_thread(title, profile_id="demo-openai", model="demo-chat")
    user = await ctx.threads.add_message(thread.id, None, "user", "Describe a lighthouse")
    reply = await ctx.threads.add_message(
        thread.id, user.id, "assistant", "A lighthouse is a tower that", model="demo-chat",
        profile_id="demo-openai", status="streaming",
    )
    assert await ctx.chat.recover_interrupted() >= 1  # what start-up does after a crash
    return thread.id, reply.id


def test_interrupted_reply_offers_continue_and_regenerate(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        first_thread, first_reply = await _seed_interrupted(app_ctx, "Crash one")
        second_thread, second_reply = await _seed_interrupted(app_ctx, "Crash two")
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            await _open_and_refresh(tab, first_thread)
            row = model.row(1)
            assert row.id == first_reply and row.status == "interrupted"
            layout = view.row_layout(1)
            notes = [text for _y, text, _kind in layout.notes]
            assert "⚠ Interrupted — the app closed while this reply was streaming." in notes
            assert [a for a, _ in layout.buttons] == ["continue", "regenerate"]

            # Continue appends to the same row and completes it.
            finished = signal_future(tab.replyFinished)
            click(qtbot, view, 1, layout.buttons[0][1])
            assert await finished == first_reply
            row = model.row(1)
            assert row.status == "complete" and row.content.startswith("A lighthouse is a tower that")
            assert len(row.content) > len("A lighthouse is a tower that")
            assert view.row_layout(1).buttons == []

            # Regenerate (the other button) adds a version; the interrupted one stays as 1/2.
            await _open_and_refresh(tab, second_thread)
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            click(qtbot, view, 1, view.row_layout(1).buttons[1][1])
            new_id = await finished
            await refreshed
            assert new_id != second_reply
            assert (model.row(1).sibling_index, model.row(1).sibling_count) == (1, 2)
            old = await app_ctx.threads.get_message(second_reply)
            assert old is not None and old.status == "interrupted"
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_error_with_partial_text_offers_retry_and_continue(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.profile_list[0].max_retries = 0
    app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", times=1, disconnect_after_events=12))

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            reply = await send_and_wait(tab, "Tell me about rivers")
            row = model.row(1)
            assert row.status == "error" and row.content and row.error
            layout = view.row_layout(1)
            assert [a for a, _ in layout.buttons] == ["retry", "continue"]
            assert layout.retry_rect == layout.buttons[0][1]
            partial = row.content

            finished = signal_future(tab.replyFinished)
            select_row(view, 1)
            qtbot.keyClick(
                view, Qt.Key.Key_Return,
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
            )
            assert await finished == reply
            row = model.row(1)
            assert row.status == "complete" and row.error is None
            assert row.content.startswith(partial) and len(row.content) > len(partial)
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- n > 1 and dropped turns ---------------------------------------------------------------------


def test_alternatives_stream_then_appear_as_versions(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            await send_and_wait(tab, "Hi")
            assert tab.current_thread_id is not None
            await _use_params(tab, app_ctx, GenerationParams(n=3))
            app_ctx.demo.token_rate = 120.0
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Suggest a name for a cat")
            assert tab.send()
            row = await _wait_row(tab, 3, lambda r: r.alternatives_streaming == 2)
            assert row.is_streaming
            assert view.row_layout(3).footer_text == "3 alternatives streaming"
            primary = await finished
            await refreshed
            row = model.row(3)
            assert row.id == primary and (row.sibling_index, row.sibling_count) == (0, 3)
            assert row.alternatives_streaming == 0
            assert view.row_layout(3).nav_text == "1/3"
            siblings = await app_ctx.threads.siblings(primary)
            assert len(siblings) == 3 and all(s.status == "complete" for s in siblings)

            reloaded = signal_future(tab.message_actions.pathReloaded)
            assert tab.message_actions.trigger("next", primary)
            await reloaded
            assert model.row(3).id == siblings[1].id and view.row_layout(3).nav_text == "2/3"
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_dropped_turns_note_above_the_reply(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    app_ctx.profile_list[0].context_windows = {"demo-chat": 1024 + 120}

    async def scenario() -> None:
        thread = await app_ctx.threads.create_thread("Long", profile_id="demo-openai", model="demo-chat")
        parent = None
        for i in range(3):
            user = await app_ctx.threads.add_message(thread.id, parent, "user", f"Question {i}: " + "words " * 80)
            reply = await app_ctx.threads.add_message(thread.id, user.id, "assistant", f"Answer {i}: " + "text " * 80)
            parent = reply.id
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            await _open_and_refresh(tab, thread.id)
            await send_and_wait(tab, "And now a short one?")
            row = model.row(7)
            assert row.dropped_turns == 3
            layout = view.row_layout(7)
            note = "3 older turns were left out to fit the model's context window"
            assert (layout.notes[0][1], layout.notes[0][2]) == (note, "dropped")
            assert layout.notes[0][0] < layout.body_y  # above the answer
            assert model.row(5).dropped_turns == 0
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- render cost ---------------------------------------------------------------------------------


def test_streaming_and_hover_rerender_only_what_changes(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view = tab.message_view
        delegate = view.message_delegate
        try:
            await send_and_wait(tab, "Explain list comprehensions")
            view.settle()
            renders, layouts = delegate.markdown_renders, delegate.layouts_built

            # Hovering rows repaints them from cached layouts: nothing is rebuilt.
            for row_number in (0, 1, 0, 1):
                rect = view.visualRect(tab.message_model.index(row_number, 0))
                qtbot.mouseMove(view.viewport(), rect.center() + QPoint(0, 1))
                assert view.hovered_row == row_number
            view.viewport().repaint()
            assert (delegate.markdown_renders, delegate.layouts_built) == (renders, layouts)

            # A streamed reply never re-renders the finished one above it, nor itself when it
            # ends: its streamed chunks are its final body (checked off the GUI thread).
            app_ctx.demo.token_rate = 300.0
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Please write 200 tokens about lakes")
            assert tab.send()
            await _wait_row(tab, 3, lambda r: len(r.content) > 200)
            view.viewport().repaint()
            await finished
            view.settle()
            assert delegate.markdown_renders == renders
        finally:
            await tab.aclose()

    arun(scenario(), timeout=40)


# --- screenshots ---------------------------------------------------------------------------------

LONG_REPLY = """## Setting up a project

Start with a **virtual environment** so dependencies stay local:

1. Create it with `python -m venv .venv`
2. Activate it
    - on Linux and macOS: `source .venv/bin/activate`
    - on Windows: `.venv\\Scripts\\activate`
3. Install what you need

```bash
python -m venv .venv
source .venv/bin/activate
pip install httpx rich
```

### Fetching a page

```python
import httpx

def fetch(url: str) -> str:
    with httpx.Client(timeout=10) as client:
        response = client.get(url)
        response.raise_for_status()
        return response.text
```

| Tool | Purpose | Notes |
|------|---------|-------|
| httpx | HTTP client | sync and async |
| rich | terminal output | tables, colours |
| pytest | tests | fixtures |

> Tip: pin versions in a lock file.

```json
{"name": "demo", "version": "1.0.0"}
```
"""




def test_screenshots(qtbot: QtBot, qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    assert app_ctx.demo is not None
    theme = ThemeManager(qapp, "light")

    async def scenario() -> None:
        # A long formatted thread.
        long_thread = await app_ctx.threads.create_thread("Project setup", profile_id="demo-openai", model="demo-chat")
        q = await app_ctx.threads.add_message(long_thread.id, None, "user", "How do I set up a small Python project that fetches web pages?")
        a = await app_ctx.threads.add_message(
            long_thread.id, q.id, "assistant", LONG_REPLY, model="demo-chat", reasoning="First the environment, then the code, then a table of tools.",
            finish_reason="stop",
        )
        q2 = await app_ctx.threads.add_message(long_thread.id, a.id, "user", "Thanks — and a shorter version?")
        await app_ctx.threads.add_message(
            long_thread.id, q2.id, "assistant", "Use `uv init`, then `uv add httpx`, and write:\n\n```python\nprint(httpx.get(URL).text)\n```",
            model="demo-chat", finish_reason="length",
        )
        # A branch: three versions of a reply, the second one shown.
        branch = await app_ctx.threads.create_thread("Cat names", profile_id="demo-openai", model="demo-chat")
        bq = await app_ctx.threads.add_message(branch.id, None, "user", "Suggest a name for a grey cat")
        versions = []
        for text in ("**Smokey** — classic and fitting.", "**Ash**, or *Pebble* if you like something softer.", "**Nimbus**, like a rain cloud."):
            versions.append(await app_ctx.threads.add_message(branch.id, bq.id, "assistant", text, model="demo-chat"))
        await app_ctx.threads.select_leaf(branch.id, versions[1].id)

        tab = await open_tab(app_ctx, qtbot, (1100, 780))
        view = tab.message_view
        try:
            await _open_and_refresh(tab, long_thread.id)
            view.toggle_reasoning(1)
            select_row(view, 1)
            view.scrollTo(tab.message_model.index(1, 0), view.ScrollHint.PositionAtTop)
            save_shot(tab, "chat-long.png")

            await _open_and_refresh(tab, branch.id)
            assert view.row_layout(1).nav_text == "2/3"
            view._set_hovered(1)
            save_shot(tab, "chat-branch.png")

            # An error row after a partial reply (the connection dropped mid-stream).
            app_ctx.profile_list[0].max_retries = 0
            app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", times=1, disconnect_after_events=30))
            tab.start_new_thread()
            await send_and_wait(tab, "Tell me about the sea")
            assert tab.message_model.row(1).status == "error"
            select_row(view, 1)
            strip_rect(view, 1, "regenerate")  # the strip is offered on the error row too
            save_shot(tab, "chat-error-row.png")
        finally:
            await tab.aclose()

    try:
        arun(scenario(), timeout=40)
    finally:
        qapp.setStyleSheet("")
        theme.deleteLater()
