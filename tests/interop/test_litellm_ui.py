"""The real Chat tab (pytest-qt, qasync) against LiteLLM's proxy, every model a mock.

The AppContext is the app's own (`app.main.build_context`: real SQLite, ClientPool, ChatService)
with one LiteLLM profile whose master key is a session key, as a user would paste it. The proxy
is the one scripts/interop/litellm.sh starts (see test_litellm.py for what its mocks do).
Saves artifacts/screenshots/litellm-chat-streamed.png and litellm-chat-error.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.providers import KeySource, ProviderProfile
from tests.conftest import ROOT
from tests.interop.conftest import require_env

# The qasync loop and the loop-bound `arun` of the UI tests, and their in-memory keychain.
from tests.ui.conftest import arun, keyring_backend, qloop, secret_store  # noqa: F401

pytestmark = pytest.mark.interop

NAMES = ("SWITCHBOARD_LITELLM_URL", "SWITCHBOARD_LITELLM_KEY")
MOCK_TEXT = "Hello from the LiteLLM mock. Switchboard streams this reply in small pieces."
LONG_TEXT = " ".join(f"word{i}" for i in range(2000))  # litellm.sh's `mock-long`
# /v1/models lists six; `mode` marks mock-embed (embedding) and mock-image (image_generation).
CHAT_MODELS = ["mock-chat", "mock-long", "mock-ratelimit", "mock-slow"]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def env() -> dict[str, str]:
    return require_env(*NAMES)


@pytest.fixture
def session_key(env: dict[str, str]) -> str:
    """The key the profile gets; a test overrides it to try a wrong one."""
    return env["SWITCHBOARD_LITELLM_KEY"]


@pytest.fixture
def ctx(
    env: dict[str, str],
    session_key: str,
    tmp_path: Path,
    secret_store: Any,  # noqa: F811
    arun: Callable[..., Any],  # noqa: F811
) -> Iterator[Any]:
    from PySide6.QtCore import QSettings

    from app.main import build_context, shutdown_context

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    context = build_context(data_dir, settings, secrets=secret_store)
    profile = ProviderProfile(
        name="LiteLLM",
        base_url=env["SWITCHBOARD_LITELLM_URL"] + "/v1",
        key_source=KeySource.SESSION,
        max_retries=0,
    )
    secret_store.set_session_key(profile.id, session_key)
    context.profile_list = [profile]
    context.active_profile_id = profile.id
    try:
        yield context
    finally:
        arun(shutdown_context(context))


async def make_tab(ctx: Any) -> tuple[Any, list[str]]:
    """A ChatTab built on the running loop, once its threads and the model list are loaded."""
    from app.ui.async_bridge import signal_future
    from app.ui.chat import ChatTab

    widget = ChatTab(ctx)
    models = signal_future(widget.modelsLoaded)
    threads = signal_future(widget.threadsReloaded)
    ids, _ = await asyncio.gather(models, threads)
    return widget, ids


@pytest.fixture
def tab_and_ids(
    qtbot: QtBot,
    ctx: Any,
    arun: Callable[..., Any],  # noqa: F811
) -> Iterator[tuple[Any, list[str]]]:
    widget, ids = arun(make_tab(ctx), timeout=30)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    yield widget, ids
    arun(widget.aclose())


async def send_and_watch(tab: Any, text: str) -> tuple[int, list[str]]:
    """Send `text`; the reply's id and each partial text the view showed while it streamed."""
    from app.ui.async_bridge import signal_future

    started = signal_future(tab.replyStarted)
    finished = signal_future(tab.replyFinished)
    partial: list[str] = []

    def on_changed(*_args: Any) -> None:
        if tab.message_model.rowCount() < 2:
            return
        row = tab.message_model.row(1)
        if row.status == "streaming" and row.content and row.content not in partial:
            partial.append(row.content)

    tab.message_model.dataChanged.connect(on_changed)
    try:
        tab.composer.set_text(text)
        assert tab.send()
        reply_id = await started
        assert await finished == reply_id
    finally:
        tab.message_model.dataChanged.disconnect(on_changed)
    return int(reply_id), partial


def test_model_picker_lists_the_proxys_chat_models(tab_and_ids: tuple[Any, list[str]]) -> None:
    tab, ids = tab_and_ids
    assert ids == CHAT_MODELS
    assert [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())] == CHAT_MODELS
    assert tab.current_model() == "mock-chat"
    tab.composer.set_text("hello")
    assert tab.composer.send_button.isEnabled()


def test_send_streams_the_mock_reply_into_the_view_and_the_database(
    tab_and_ids: tuple[Any, list[str]],
    ctx: Any,
    arun: Callable[..., Any],  # noqa: F811
) -> None:
    tab, _ids = tab_and_ids
    reply_id, _ = arun(send_and_watch(tab, "Say hello"), timeout=30)
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete"
    assert stored.content == MOCK_TEXT
    assert stored.model == "mock-chat" and stored.finish_reason == "stop"
    assert stored.usage is not None and stored.usage.completion_tokens
    rows = tab.message_model.rows
    assert [r.role for r in rows] == ["user", "assistant"]
    assert rows[1].id == reply_id and rows[1].status == "complete"
    assert rows[1].content == MOCK_TEXT
    assert not tab.is_streaming


def test_a_long_reply_grows_in_the_view_while_it_streams(
    tab_and_ids: tuple[Any, list[str]],
    ctx: Any,
    arun: Callable[..., Any],  # noqa: F811
) -> None:
    """`mock-long` streams ~5,700 small chunks over seconds: the view shows it growing."""
    tab, _ids = tab_and_ids
    tab.set_model("mock-long")
    reply_id, partial = arun(send_and_watch(tab, "Count for me"), timeout=60)
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete"
    assert stored.content == LONG_TEXT
    assert len(partial) >= 2, "the reply was not shown while streaming"
    assert all(LONG_TEXT.startswith(p) for p in partial)
    assert len(partial[0]) < len(LONG_TEXT)
    assert tab.message_model.row(1).content == LONG_TEXT
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / "litellm-chat-streamed.png"))


@pytest.mark.parametrize("session_key", ["sk-" + "7" * 40])
def test_wrong_key_is_an_inline_error_row_not_assistant_text(
    tab_and_ids: tuple[Any, list[str]],
    ctx: Any,
    arun: Callable[..., Any],  # noqa: F811
) -> None:
    tab, ids = tab_and_ids
    # Listing models needs the key too: the picker falls back to typing a model name.
    assert ids == []
    assert "Could not list models" in tab.model_combo.toolTip()
    assert "rejected the API key" in tab.model_combo.toolTip()
    tab.set_model("mock-chat")

    reply_id, partial = arun(send_and_watch(tab, "Is my key right?"), timeout=30)
    assert partial == []
    row = tab.message_model.row(1)
    assert row.status == "error"
    assert row.content == ""  # nothing is shown as if the model had said it
    assert row.error is not None
    assert "rejected the API key" in row.error and "No connected db." in row.error
    assert "sk-7777" not in row.error
    layout = tab.message_view.message_delegate.layout_for(row, tab.message_view.palette())
    assert layout.error_rect is not None and layout.body_doc is None
    assert tab.composer.retry_button.isVisible()
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "error" and stored.content == ""
    user = tab.message_model.row(0)
    assert user.role == "user" and user.content == "Is my key right?"
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert tab.grab().save(str(SHOTS / "litellm-chat-error.png"))


def test_rate_limited_model_is_an_inline_error_row(
    tab_and_ids: tuple[Any, list[str]],
    ctx: Any,
    arun: Callable[..., Any],  # noqa: F811
) -> None:
    tab, _ids = tab_and_ids
    tab.set_model("mock-ratelimit")
    reply_id, _ = arun(send_and_watch(tab, "Hello?"), timeout=30)
    row = tab.message_model.row(1)
    assert row.status == "error" and row.content == ""
    assert row.error is not None and "rate limit" in row.error
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "error"
