"""The Chat tab against a real DemoServer: streaming, Stop, errors, the composer's keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab, wait_for_content


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    widget = arun(make_tab(app_ctx))
    # Not qtbot.addWidget: pytest-qt deletes registered widgets before fixture teardown, which
    # would pull the tab out from under its own async close below.
    widget.resize(1000, 700)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()


def test_send_streams_reply_and_stores_it_complete(tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Explain list comprehensions")
        assert tab.send()
        assert tab.is_streaming
        return await finished

    reply_id = arun(scenario())
    assert reply_id > 0
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete"
    assert "```python" in stored.content
    rows = tab.message_model.rows
    assert [r.role for r in rows] == ["user", "assistant"]
    assert rows[1].id == reply_id and rows[1].status == "complete"
    assert rows[1].content == stored.content
    assert rows[1].model == "demo-chat"
    assert not tab.is_streaming
    assert tab.composer.text == ""




def test_stop_mid_stream_keeps_partial_text_as_cancelled(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 40.0  # slow enough to stop in the middle

    async def scenario() -> tuple[int, str]:
        started = signal_future(tab.replyStarted)
        tab.composer.set_text("Please write 400 tokens about rivers")
        assert tab.send()
        reply_id = await started
        await wait_for_content(tab, 1, 5)
        finished = signal_future(tab.replyFinished)
        tab.stop()
        # The view shows the stop at once, before the task has even unwound.
        assert tab.message_model.row(1).status == "cancelled"
        assert await finished == reply_id
        return reply_id, tab.message_model.row(1).content

    reply_id, shown = arun(scenario())
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None
    assert stored.status == "cancelled"
    assert stored.content and stored.content == shown
    assert len(shown.split()) < 300  # really partial
    assert not tab.is_streaming
    assert tab.composer.send_button.isVisible() and not tab.composer.stop_button.isVisible()


def test_escape_stops_the_stream(tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], qtbot: QtBot) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 40.0

    async def scenario() -> int:
        started = signal_future(tab.replyStarted)
        tab.composer.set_text("Please write 300 tokens")
        assert tab.send()
        await started
        await wait_for_content(tab, 1)
        finished = signal_future(tab.replyFinished)
        tab.composer.edit.setFocus()
        qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Escape)
        return await finished

    reply_id = arun(scenario())
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "cancelled"


def test_provider_error_is_an_error_row_not_assistant_text(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.profile_list[0].max_retries = 0
    app_ctx.demo.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=500,
            times=1,
            body={"error": {"message": "The demo model is overloaded (injected)", "type": "server_error"}},
        )
    )

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Hello?")
        assert tab.send()
        return await finished

    reply_id = arun(scenario())
    row = tab.message_model.row(1)
    assert row.status == "error"
    assert row.content == ""  # nothing is shown as if the model had said it
    assert row.error is not None and "overloaded (injected)" in row.error
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "error" and stored.content == ""
    layout = tab.message_view.message_delegate.layout_for(row, tab.message_view.palette())
    assert layout.error_rect is not None and layout.retry_rect is not None
    assert layout.body_doc is None
    assert tab.composer.retry_button.isVisible()

    # Retry (the fault was used up): a new reply replaces the error row in the visible path.
    async def retry() -> int:
        finished = signal_future(tab.replyFinished)
        assert tab.retry(reply_id)
        return await finished

    new_id = arun(retry())
    assert new_id != reply_id
    rows = tab.message_model.rows
    assert [r.role for r in rows] == ["user", "assistant"]
    assert rows[1].status == "complete" and "```python" in rows[1].content
    assert not tab.composer.retry_button.isVisible()


def test_unreachable_server_shows_connect_error(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    profile = app_ctx.profile_list[0]
    profile.base_url = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    profile.max_retries = 0
    profile.connect_timeout = 2.0

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Anyone there?")
        assert tab.send()
        return await finished

    arun(scenario())
    row = tab.message_model.row(1)
    assert row.status == "error" and row.content == ""
    assert row.error is not None and "could not connect to 127.0.0.1:9: connection refused" in row.error.lower()


def test_send_disabled_with_reason_when_no_model(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert tab.composer.send_button.toolTip() == "Type a message to send."
    tab.composer.set_text("hello")
    assert tab.composer.send_button.isEnabled()

    tab.set_model("")
    assert not tab.composer.send_button.isEnabled()
    assert "No model" in tab.composer.reason_label.text()
    assert tab.composer.reason_label.isVisible()
    assert tab.composer.send_button.toolTip() == tab.composer.reason_label.text()
    assert not tab.send()
    assert tab.message_model.rowCount() == 0 and tab.composer.text == "hello"

    app_ctx.active_profile_id = ""
    app_ctx.events.activeProfileChanged.emit("")
    assert "No provider" in tab.composer.reason_label.text()
    assert tab.profile_label.text() == "No provider"
    assert not tab.composer.send_button.isEnabled()


def test_header_shows_profile_and_demo_badge_and_models(tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    items = [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())]
    assert "demo-chat" in items and "demo-reasoner" in items
    assert tab.profile_label.text() == app_ctx.profile_list[0].name
    assert tab.demo_badge.isVisible() and tab.demo_badge.text() == "Demo (offline)"
    assert tab.current_model() == "demo-chat"  # the profile's default chat model
    items = [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())]
    assert "demo-reasoner" in items
    tab.set_model("my-typed-model")  # typed names are allowed
    assert tab.current_model() == "my-typed-model"
    assert tab.composer.blocked_reason == ""


def test_reasoning_is_kept_apart_and_collapsed(tab: ChatTab, arun: Callable[..., Any]) -> None:
    tab.set_model("demo-reasoner")

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Why is the sky blue?")
        assert tab.send()
        return await finished

    arun(scenario())
    row = tab.message_model.row(1)
    assert row.reasoning and row.reasoning not in row.content
    delegate = tab.message_view.message_delegate
    collapsed = delegate.layout_for(row, tab.palette())
    assert collapsed.reasoning_toggle is not None and collapsed.reasoning_doc is None
    tab.message_view.toggle_reasoning(1)
    expanded = delegate.layout_for(tab.message_model.row(1), tab.palette())
    assert expanded.reasoning_doc is not None
    assert expanded.height > collapsed.height
    assert expanded.body_y > expanded.reasoning_y  # reasoning sits above the answer


def test_streaming_rerenders_are_throttled(tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 0  # as fast as possible: many deltas between two ticks
    original_send = app_ctx.chat.send
    steps = 0

    async def counting_send(*args: Any, **kwargs: Any) -> Any:
        nonlocal steps
        async for step in original_send(*args, **kwargs):
            steps += 1
            yield step

    app_ctx.chat.send = counting_send  # type: ignore[method-assign]
    updates = 0

    def on_changed(top: Any, _bottom: Any, _roles: Any) -> None:
        nonlocal updates
        if top.row() == 1:
            updates += 1

    tab.message_model.dataChanged.connect(on_changed)

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Please write 1500 tokens about trains")
        assert tab.send()
        return await finished

    arun(scenario())
    assert steps > 1000
    assert updates < steps / 10
    assert tab.message_model.row(1).status == "complete"


def test_enter_sends_and_shift_enter_adds_a_line(tab: ChatTab, arun: Callable[..., Any], qtbot: QtBot) -> None:
    edit = tab.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "first line")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second line")
    assert tab.composer.text == "first line\nsecond line"
    assert tab.message_model.rowCount() == 0

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        return await finished

    arun(scenario())
    assert tab.message_model.row(0).content == "first line\nsecond line"
    assert tab.composer.text == ""


def test_ctrl_l_focuses_composer_and_ctrl_n_starts_new_thread(
    tab: ChatTab, arun: Callable[..., Any], qtbot: QtBot
) -> None:

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Hi")
        assert tab.send()
        return await finished

    arun(scenario())
    assert tab.current_thread_id is not None
    tab.activateWindow()
    tab.thread_list.list.setFocus()
    qtbot.keyClick(tab.thread_list.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert tab.composer.edit.hasFocus()
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert tab.current_thread_id is None
    assert tab.message_model.rowCount() == 0


def test_aclose_after_the_tab_was_destroyed_still_cancels_its_stream(
    app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    """An owner may delete the widget before awaiting its close (pytest-qt does): the stream's
    task must still be cancelled, and no deleted Qt object touched."""
    import shiboken6

    demo = app_ctx.demo
    assert demo is not None
    demo.token_rate = 20.0  # slow, so the reply is still streaming when the tab goes

    async def scenario() -> None:
        tab = await make_tab(app_ctx)
        started = signal_future(tab.replyStarted)
        tab.composer.set_text("Tell me a long story")
        assert tab.send()
        await started
        tasks = [t for t in tab.tasks.tasks if not t.done()]
        assert tasks, "the reply should still be streaming"
        thread_id = tab.current_thread_id
        assert thread_id is not None
        shiboken6.delete(tab)
        await tab.aclose()
        assert all(t.done() for t in tasks)
        # Nothing lost: the question is kept and the reply is recorded as cancelled.
        messages = await app_ctx.threads.thread_messages(thread_id)
        assert [(m.role, m.status) for m in messages] == [
            ("user", "complete"),
            ("assistant", "cancelled"),
        ]

    arun(scenario())
