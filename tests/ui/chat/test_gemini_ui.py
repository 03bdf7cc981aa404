"""The Chat tab with a Gemini-dialect profile active, against the real DemoServer.

Both Gemini flavours of the demo server are used: native Gemini (`/gemini/v1beta`) and the
gateway's Gemini endpoint (`/api/v1beta`). Requests go through the app's real ClientPool and
ProviderClient; replies are stored in the real SQLite database of `app_ctx`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.row_text import footer_text
from app.ui.chat.thread_settings import COMPLETION_LABEL, GEMINI_NO_COMPLETIONS
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab, send_and_wait

PREFIX = {"gemini": "/gemini/v1beta", "gateway-gemini": "/api/v1beta"}


@pytest.fixture(params=list(PREFIX))
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app_ctx(app_ctx: AppContext, demo_server: Any, flavour: str) -> AppContext:
    """The chat tab's context with the demo server's Gemini profile of `flavour` active."""
    profile = next(p for p in demo_server.profiles() if p.id == f"demo-{flavour}")
    profile.max_retries = 0  # an injected fault must reach the view, without a backoff
    app_ctx.profile_list = [profile]
    app_ctx.active_profile_id = profile.id
    return app_ctx


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    widget = arun(make_tab(app_ctx))
    widget.resize(1000, 700)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()




def gemini_posts(app_ctx: AppContext, flavour: str) -> list[Any]:
    assert app_ctx.demo is not None
    return app_ctx.demo.requests.find(PREFIX[flavour] + "/models/", "POST")


def test_the_model_picker_lists_gemini_models_without_prefix(
    tab: ChatTab, app_ctx: AppContext, flavour: str
) -> None:
    combo = tab.model_combo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items == ["demo-chat", "gemini-2.5-flash", "gemini-2.5-pro", "demo-thinking"]
    assert tab.current_model() == "demo-chat"
    assert not any(i.startswith("models/") for i in items)
    assert "text-embedding-004" not in items  # not a chat model
    assert tab.profile_label.text() == f"Demo ({flavour})" or tab.demo_badge.isVisible()
    assert app_ctx.demo is not None
    listed = app_ctx.demo.requests.find(PREFIX[flavour] + "/models", "GET")
    assert listed and listed[0].headers.get("authorization") is None


def test_a_message_streams_into_the_view_and_the_database(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], flavour: str
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 200.0  # slow enough to see it arrive in pieces

    seen: list[str] = []

    def on_changed(*_args: Any) -> None:
        content = tab.message_model.rows[-1].content  # the reply row (the user row is first)
        if content and (not seen or content != seen[-1]):
            seen.append(content)

    async def scenario() -> tuple[int, list[str]]:
        finished = signal_future(tab.replyFinished)
        tab.message_model.dataChanged.connect(on_changed)
        try:
            tab.composer.set_text("Explain list comprehensions")
            assert tab.send()
            return int(await finished), seen
        finally:
            tab.message_model.dataChanged.disconnect(on_changed)

    reply_id, seen = arun(scenario())
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete" and stored.finish_reason == "stop"
    assert "```python" in stored.content
    assert len(seen) >= 2 and seen[0] != stored.content  # partial text was on screen first
    assert all(stored.content.startswith(s) for s in seen)

    rows = tab.message_model.rows
    assert [r.role for r in rows] == ["user", "assistant"]
    assert rows[1].id == reply_id and rows[1].status == "complete"
    assert rows[1].content == stored.content and rows[1].model == "demo-chat"
    assert stored.usage is not None and stored.usage.completion_tokens
    footer = footer_text(rows[1])
    assert (
        f"{stored.usage.prompt_tokens:,} in · {stored.usage.completion_tokens:,} out tokens"
        in footer
    )

    posts = gemini_posts(app_ctx, flavour)
    assert [p.path for p in posts] == [PREFIX[flavour] + "/models/demo-chat:streamGenerateContent"]
    assert posts[0].query == {"alt": "sse"}
    assert posts[0].json["contents"][-1] == {
        "role": "user",
        "parts": [{"text": "Explain list comprehensions"}],
    }


def test_thinking_model_reasoning_is_kept_apart(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    tab.set_model("demo-thinking")
    reply_id = arun(send_and_wait(tab, "Why is the sky blue?"))
    row = tab.message_model.rows[-1]
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.reasoning and stored.content
    assert row.reasoning == stored.reasoning and row.content == stored.content
    assert stored.reasoning not in row.content


def test_a_provider_error_is_an_error_row_and_retry_recovers(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], flavour: str
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.faults.add(FaultRule(path_contains=":streamGenerateContent", status=503, times=1))
    reply_id = arun(send_and_wait(tab, "Hello?"))
    row = tab.message_model.rows[1]
    assert row.status == "error" and row.content == ""
    assert row.error and "temporarily unavailable" in row.error
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and (stored.status, stored.content) == ("error", "")
    layout = tab.message_view.message_delegate.layout_for(row, tab.message_view.palette())
    assert layout.error_rect is not None and layout.body_doc is None
    assert tab.composer.retry_button.isVisible()

    async def retry() -> int:
        finished = signal_future(tab.replyFinished)
        assert tab.retry(reply_id)
        return int(await finished)

    new_id = arun(retry())
    assert new_id != reply_id
    assert tab.message_model.rows[-1].status == "complete"
    assert len(gemini_posts(app_ctx, flavour)) == 2


def test_a_blocked_prompt_is_an_error_row_not_text(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    reply_id = arun(send_and_wait(tab, "Tell me [blocked] things"))
    row = tab.message_model.rows[1]
    assert row.status == "error" and row.content == "" and row.reasoning == ""
    assert row.error == (
        "The provider blocked this prompt or reply (reason: safety). Rephrase and try again."
    )
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.error == row.error
    layout = tab.message_view.message_delegate.layout_for(row, tab.message_view.palette())
    assert layout.error_rect is not None and layout.body_doc is None


def test_new_completion_thread_is_not_offered_for_gemini(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], flavour: str, qtbot: QtBot
) -> None:
    ts = tab.thread_settings
    arun(ts.ready())
    action = ts.new_completion_action
    assert action in ts.new_menu.actions() and not action.isEnabled()
    assert action.toolTip() == GEMINI_NO_COMPLETIONS and ts.new_menu.toolTipsVisible()
    assert ts.new_chat_action.isEnabled()

    # Neither the menu action nor the shortcut starts one: nothing changes, the reason is said.
    refusals: list[str] = []
    ts.completionRefused.connect(refusals.append)
    action.trigger()  # a disabled action does not fire
    qtbot.keyClick(
        tab.composer.edit,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    ts.new_completion_thread()
    assert refusals == [GEMINI_NO_COMPLETIONS, GEMINI_NO_COMPLETIONS]
    assert ts.kind == "chat" and tab.composer.mode_label.text() != COMPLETION_LABEL
    assert tab.message_view.isVisible() and not ts.completion_view.isVisible()
    assert tab.current_model() == "demo-chat"

    # Sending now makes an ordinary chat thread, never an (empty) completion thread.
    arun(send_and_wait(tab, "Once upon a time"))
    threads = arun(app_ctx.threads.list_threads(include_archived=True))
    assert [t.kind for t in threads] == ["chat"]
    posts = gemini_posts(app_ctx, flavour)
    assert [p.path.rsplit(":", 1)[-1] for p in posts] == ["streamGenerateContent"]


def test_a_stored_completion_thread_says_gemini_has_no_completions(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], flavour: str
) -> None:
    # One made elsewhere (an import, an older version) and bound to the Gemini profile.
    profile = tab.profile()
    assert profile is not None
    thread = arun(
        app_ctx.threads.create_thread(kind="completion", profile_id=profile.id, model="demo-chat")
    )
    ts = tab.thread_settings
    arun(ts.ready())
    arun(tab.open_thread(thread.id))
    assert ts.kind == "completion"
    finished = arun(send_and_wait(tab, "Once upon a time"))
    row = tab.message_model.rows[-1]
    assert finished == row.id
    assert row.status == "error" and row.content == ""
    assert row.error and "no text-completion endpoint" in row.error and "404" not in row.error
    assert "Error: " + row.error == ts.completion_view.status.text()
    assert gemini_posts(app_ctx, flavour) == []
    assert not tab.is_streaming
