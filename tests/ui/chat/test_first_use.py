"""First-use defects of the Chat tab, as a new user meets them: keyboard focus, a thread whose
provider profile is gone, a first reply that failed, and the open thread's profile/model signal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.context import AppContext
from tests.ui.chat.helpers import send_and_wait


async def built_tab(ctx: AppContext) -> ChatTab:
    """A ChatTab whose start-up work (threads, models) is done (built on the running loop)."""
    widget = ChatTab(ctx)
    await asyncio.gather(signal_future(widget.modelsLoaded), signal_future(widget.threadsReloaded))
    return widget


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    widget = arun(built_tab(app_ctx))
    widget.resize(1000, 700)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()




async def stored_thread(ctx: AppContext, title: str, profile_id: str, model: str = "demo-chat") -> int:
    thread = await ctx.threads.create_thread(title, profile_id=profile_id, model=model)
    user = await ctx.threads.add_message(thread.id, None, "user", "Hello from an earlier session")
    await ctx.threads.add_message(thread.id, user.id, "assistant", "Hello back.")
    return thread.id


# --- keyboard focus --------------------------------------------------------------------------


def test_the_offline_demo_leaves_the_focus_in_the_composer(
    make_window: Callable[..., Any], app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    app_ctx.profile_list = []  # a first run: no provider yet, the first-run panel shows
    app_ctx.active_profile_id = ""
    window = make_window()
    window.resize(1100, 750)
    window.show()
    window.first_run.demo_button.setFocus()

    async def start_demo() -> ChatTab:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed
        tab = window.chat_tab
        assert isinstance(tab, ChatTab)
        await signal_future(tab.threadsReloaded)
        return tab

    tab = arun(start_demo())
    assert window.chat_stack.currentWidget() is tab
    # Typing, Ctrl+L and Ctrl+K work without a click: the focus is in the composer.
    assert window.focusWidget() is tab.composer.edit
    window.close()


def test_opening_a_thread_and_a_reply_ending_give_the_composer_focus(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    first = arun(stored_thread(app_ctx, "Earlier", "demo-openai"))
    arun(tab.reload_threads())
    tab.model_combo.setFocus()  # somewhere else in the tab

    async def activate(thread_id: int) -> None:
        opened = signal_future(tab.threadOpened)
        tab.thread_list.threadActivated.emit(thread_id)  # as a click on the thread does
        assert await opened == thread_id

    arun(activate(first))
    assert tab.window().focusWidget() is tab.composer.edit

    # While the reply streams the user reads it (the conversation has focus); when it ends the
    # cursor is back in the composer for the next message.
    async def reply_while_reading() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("And one more thing")
        assert tab.send()
        tab.message_view.setFocus()
        return int(await finished)

    assert arun(reply_while_reading()) > 0
    assert tab.window().focusWidget() is tab.composer.edit


def test_browsing_threads_with_the_arrow_keys_keeps_the_focus_in_the_sidebar(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    first = arun(stored_thread(app_ctx, "One", "demo-openai"))
    arun(tab.reload_threads())
    tab.thread_list.list.setFocus()

    async def browse() -> None:
        opened = signal_future(tab.threadOpened)
        tab.thread_list.threadActivated.emit(first)  # the current item moved by a key
        await opened

    arun(browse())
    assert tab.current_thread_id == first
    assert tab.window().focusWidget() is tab.thread_list.list


# --- a thread whose profile is gone ----------------------------------------------------------


def test_a_thread_whose_profile_is_gone_says_so_and_asks_which_to_use(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    thread_id = arun(stored_thread(app_ctx, "Demo chat from yesterday", "demo-session-gone"))
    arun(tab.open_thread(thread_id))

    banner = tab.profile_banner
    assert banner.isVisible()
    assert "demo-session-gone" in banner.label.text() and "no longer exists" in banner.label.text()
    offered = [banner.picker.itemData(i) for i in range(banner.picker.count())]
    assert offered == ["", "demo-openai"]
    # Not silently another provider: the header says so and Send is disabled with the reason.
    active = app_ctx.active_profile()
    assert active is not None
    assert tab.profile() is None
    assert tab.profile_label.text() == "Provider missing"
    assert "demo-session-gone" in tab.composer.blocked_reason
    assert not tab.composer.send_button.isEnabled()
    tab.composer.set_text("Are you there?")
    assert not tab.send()

    async def choose() -> None:
        assert banner.choose("demo-openai")
        await tab.thread_settings.flush()

    arun(choose())
    assert not banner.isVisible()
    assert tab.composer.blocked_reason == ""
    profile = tab.profile()
    assert profile is not None and profile.id == "demo-openai"
    stored = arun(app_ctx.threads.get_thread(thread_id))
    assert stored is not None and stored.profile_id == "demo-openai"

    # Another thread, then a new chat: no banner left behind.
    tab.start_new_thread()
    assert not banner.isVisible() and tab.composer.blocked_reason == ""


# --- titles ----------------------------------------------------------------------------------


def test_a_thread_whose_first_reply_failed_is_named_from_its_first_message(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.profile_list[0].max_retries = 0
    app_ctx.demo.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=500,
            times=1,
            body={"error": {"message": "overloaded (injected)", "type": "server_error"}},
        )
    )
    arun(send_and_wait(tab, "Sketch a packing list for Iceland"))
    assert tab.message_model.row(1).status == "error"
    thread_id = tab.current_thread_id
    assert thread_id is not None
    stored = arun(app_ctx.threads.get_thread(thread_id))
    assert stored is not None and stored.title.startswith("Sketch a packing list")
    assert tab.thread_list.title_of(thread_id) == stored.title


# --- the open thread's profile and model ------------------------------------------------------


def test_open_thread_changed_follows_the_open_thread(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    seen: list[tuple[str, str]] = []
    tab.openThreadChanged.connect(lambda pid, model: seen.append((pid, model)))
    thread_id = arun(stored_thread(app_ctx, "Earlier", "demo-openai", model="demo-chat-large"))
    arun(tab.open_thread(thread_id))
    assert seen[-1] == ("demo-openai", "demo-chat-large")
    tab.set_model("demo-chat")
    assert seen[-1] == ("demo-openai", "demo-chat")
    tab.start_new_thread()
    assert seen[-1] == ("", "")
    count = len(seen)
    tab.start_new_thread()
    assert len(seen) == count  # no change, no signal


def test_the_tab_owns_its_tasks_and_closing_it_leaves_the_apps_running(
    app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> tuple[bool, bool, Any]:
        widget = await built_tab(app_ctx)
        assert widget.tasks is not app_ctx.tasks
        await widget.aclose()
        late = widget.spawn(asyncio.sleep(0))  # refused once closed, and closed unstarted
        closed = (widget.tasks.closed, app_ctx.tasks.closed, late)
        widget.deleteLater()
        return closed

    assert arun(scenario()) == (True, False, None)
