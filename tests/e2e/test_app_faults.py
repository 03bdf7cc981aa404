"""Faults through the real Chat tab: the whole app (AppContext from `app.main.build_context`,
ClientPool, ChatService, SQLite, the keychain through an in-memory keyring) against the
DemoServer on loopback, with a seed preset's profile and a required API key.

What the user sees is checked in the tab's message model and the delegate's layout (an error row
with the provider's words and a Retry affordance, never the error as assistant text), what is
kept is checked in the database. Retry is pressed with the real button.
"""

# The UI fixtures are imported by name, so tests naming them as arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.demo import DemoServer
from app.core.demo.faults import FaultRule
from app.core.providers import ProviderProfile
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.context import AppContext
from tests.e2e.helpers import seed_profile

# The UI fixtures (a qasync loop, a real AppContext over a temporary data dir); `demo_server`
# is tests/e2e's: it requires DEMO_API_KEY.
from tests.ui.conftest import (  # noqa: F401  (pytest fixtures)
    app_ctx,
    arun,
    data_dir,
    keyring_backend,
    qloop,
    secret_store,
)

from .conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e

Arun = Callable[..., Any]
PROMPT = "Please write 60 tokens about lighthouses"


def use_seed(ctx: AppContext, server: DemoServer, preset: str, flavour: str) -> ProviderProfile:
    """Make a seed preset's profile the active one, its key in the (memory) keychain."""
    profile = seed_profile(server, preset, flavour)
    ctx.secrets.set_key(profile, DEMO_API_KEY)
    ctx.profile_list = [profile]
    ctx.active_profile_id = profile.id
    return profile


async def make_tab(ctx: AppContext) -> ChatTab:
    """A ChatTab built on the running loop, after its start-up work (threads, models)."""
    widget = ChatTab(ctx)
    await asyncio.gather(signal_future(widget.modelsLoaded), signal_future(widget.threadsReloaded))
    return widget


@pytest.fixture
def open_tab(qtbot: QtBot, app_ctx: AppContext, arun: Arun) -> Iterator[Callable[[], ChatTab]]:
    made: list[ChatTab] = []

    def open_() -> ChatTab:
        widget = arun(make_tab(app_ctx))
        qtbot.addWidget(widget)
        widget.resize(1000, 700)
        widget.show()
        made.append(widget)
        return widget

    yield open_
    for widget in made:
        arun(widget.aclose())


async def send_and_finish(tab: ChatTab, qtbot: QtBot, text: str = PROMPT) -> int:
    finished = signal_future(tab.replyFinished)
    tab.composer.set_text(text)
    qtbot.mouseClick(tab.composer.send_button, Qt.MouseButton.LeftButton)
    assert tab.is_streaming
    return await finished


async def press_retry(tab: ChatTab, qtbot: QtBot) -> int:
    assert tab.composer.retry_button.isVisible()
    finished = signal_future(tab.replyFinished)
    qtbot.mouseClick(tab.composer.retry_button, Qt.MouseButton.LeftButton)
    return await finished


def assert_error_row(tab: ChatTab, row_index: int, *words: str) -> None:
    row = tab.message_model.row(row_index)
    assert row.status == "error"
    assert row.error is not None
    for word in words:
        assert word in row.error
    assert not tab.is_streaming
    layout = tab.message_view.message_delegate.layout_for(row, tab.message_view.palette())
    assert layout.error_rect is not None and layout.retry_rect is not None
    assert tab.composer.retry_button.isVisible()


def chat_posts(server: DemoServer, fragment: str = "/chat/completions") -> int:
    return len(server.requests.find(fragment, method="POST"))


@pytest.mark.parametrize(
    ("preset", "flavour"), [("mollyra", "mollyra"), ("melancholy", "melancholy")]
)
def test_a_disconnect_mid_stream_shows_an_error_row_keeps_the_text_and_retry_succeeds(
    preset: str,
    flavour: str,
    demo_server: DemoServer,
    app_ctx: AppContext,
    open_tab: Callable[[], ChatTab],
    arun: Arun,
    qtbot: QtBot,
) -> None:
    use_seed(app_ctx, demo_server, preset, flavour)
    demo_server.faults.add(
        FaultRule(path_contains="chat/completions", disconnect_after_events=6, times=1)
    )
    tab = open_tab()

    reply_id = arun(send_and_finish(tab, qtbot))
    assert_error_row(
        tab, 1, "dropped the connection while the reply was streaming", "What arrived was kept"
    )
    shown = tab.message_model.row(1).content
    assert shown  # the partial text stays on screen
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "error"
    assert stored.content == shown and len(stored.content.split()) >= 3  # partial, on disk
    assert chat_posts(demo_server) == 1  # output had arrived: not re-sent behind the user's back

    new_id = arun(press_retry(tab, qtbot))
    assert new_id > 0 and new_id != reply_id
    rows = tab.message_model.rows
    assert [r.role for r in rows] == ["user", "assistant"]
    assert rows[1].status == "complete" and rows[1].error is None
    assert rows[1].content.startswith(shown) and len(rows[1].content) > len(shown)
    assert not tab.composer.retry_button.isVisible()
    # The interrupted attempt is still there as an earlier alternative.
    siblings = arun(app_ctx.threads.siblings(new_id))
    assert [m.id for m in siblings] == [reply_id, new_id]
    assert siblings[0].content == shown and siblings[0].status == "error"


def test_a_500_shows_the_provider_message_and_retry_succeeds(
    demo_server: DemoServer,
    app_ctx: AppContext,
    open_tab: Callable[[], ChatTab],
    arun: Arun,
    qtbot: QtBot,
) -> None:
    profile = use_seed(app_ctx, demo_server, "gateway", "gateway")
    profile.max_retries = 0  # the 500 must reach the user, not be retried away
    demo_server.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=500,
            times=1,
            body={
                "error": {"message": "Upstream model crashed (injected)", "type": "server_error"}
            },
        )
    )
    tab = open_tab()

    reply_id = arun(send_and_finish(tab, qtbot))
    assert_error_row(tab, 1, "Upstream model crashed (injected)")
    assert tab.message_model.row(1).content == ""  # nothing shown as if the model said it
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and (stored.status, stored.content) == ("error", "")
    assert "Upstream model crashed (injected)" in (stored.error or "")

    new_id = arun(press_retry(tab, qtbot))
    row = tab.message_model.row(1)
    assert row.id == new_id and row.status == "complete" and row.content
    stored = arun(app_ctx.threads.get_message(new_id))
    assert stored is not None and stored.status == "complete" and stored.content == row.content
    assert chat_posts(demo_server) == 2


def test_a_429_with_a_short_retry_after_is_retried_transparently(
    demo_server: DemoServer,
    app_ctx: AppContext,
    open_tab: Callable[[], ChatTab],
    arun: Arun,
    qtbot: QtBot,
) -> None:
    profile = use_seed(app_ctx, demo_server, "gateway", "gateway")
    demo_server.faults.add(
        FaultRule(path_contains="chat/completions", status=429, retry_after=0.2, times=1)
    )
    tab = open_tab()
    limits: list[tuple[str, Any]] = []
    app_ctx.events.rateLimitChanged.connect(lambda pid, info: limits.append((pid, info)))
    statuses: list[str] = []
    tab.message_model.dataChanged.connect(
        lambda *_: statuses.append(tab.message_model.row(tab.message_model.rowCount() - 1).status)
    )

    reply_id = arun(send_and_finish(tab, qtbot))
    row = tab.message_model.row(1)
    assert row.status == "complete" and row.error is None and row.content
    assert statuses and "error" not in statuses  # no error was ever shown
    assert not tab.composer.retry_button.isVisible()
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete" and stored.content == row.content
    assert chat_posts(demo_server) == 2  # the 429, then the retry
    # The gateway's X-RateLimit-* headers reached the app's event bus for this profile.
    assert limits and {pid for pid, _ in limits} == {profile.id}
    assert limits[-1][1].limit_requests == demo_server.gateway_rpm
