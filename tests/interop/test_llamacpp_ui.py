"""The real Chat tab (pytest-qt, qasync) against llama.cpp's server doing real inference.

The AppContext is the app's own (`app.main.build_context`: real SQLite, ClientPool, ChatService)
with one llama.cpp profile whose key is a session key, as a user would type it in. The server is
the one scripts/interop/llamacpp.sh starts (a tiny random-weight model; see test_llamacpp.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.protocol.types import GenerationParams
from app.core.providers import KeySource, ProviderProfile
from tests.interop.conftest import require_env

# The qasync loop and the loop-bound `arun` of the UI tests, and their in-memory keychain.
from tests.ui.conftest import arun, keyring_backend, qloop, secret_store  # noqa: F401

pytestmark = pytest.mark.interop

NAMES = ("SWITCHBOARD_LLAMACPP_URL", "SWITCHBOARD_LLAMACPP_KEY", "SWITCHBOARD_LLAMACPP_MODEL")


@pytest.fixture
def env() -> dict[str, str]:
    return require_env(*NAMES)


@pytest.fixture
def ctx(env: dict[str, str], tmp_path: Path, secret_store: Any, arun: Callable[..., Any]) -> Iterator[Any]:  # noqa: F811
    from PySide6.QtCore import QSettings

    from app.main import build_context, shutdown_context

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    context = build_context(data_dir, settings, secrets=secret_store)
    profile = ProviderProfile(
        name="llama.cpp",
        base_url=env["SWITCHBOARD_LLAMACPP_URL"] + "/v1",
        preset="llamacpp",
        key_source=KeySource.SESSION,
        max_retries=0,
    )
    secret_store.set_session_key(profile.id, env["SWITCHBOARD_LLAMACPP_KEY"])
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
def tab_and_ids(qtbot: QtBot, ctx: Any, arun: Callable[..., Any]) -> Iterator[tuple[Any, list[str]]]:  # noqa: F811
    widget, ids = arun(make_tab(ctx), timeout=30)
    # Not qtbot.addWidget: pytest-qt would delete the tab before this fixture's teardown, in the
    # middle of its staged (async) close.
    widget.resize(1000, 700)
    widget.show()
    yield widget, ids
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()


async def open_thread_with(tab: Any, ctx: Any, params: GenerationParams) -> int:
    """A stored thread on the llama.cpp profile with these parameters, opened in the tab.

    The Chat tab has no parameter controls yet: a thread's parameters are how `max_tokens` and
    the temperature reach the request.
    """
    profile = ctx.active_profile()
    thread = await ctx.threads.create_thread(
        "llama.cpp", profile_id=profile.id, model=tab.current_model(), params=params
    )
    await tab.open_thread(thread.id)
    return int(thread.id)


def test_model_picker_lists_the_servers_model(
    tab_and_ids: tuple[Any, list[str]], env: dict[str, str]
) -> None:
    tab, ids = tab_and_ids
    model = env["SWITCHBOARD_LLAMACPP_MODEL"]
    assert ids == [model]
    assert [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())] == [model]
    assert tab.current_model() == model
    # A model is known, so nothing blocks sending once there is text.
    assert tab.composer.blocked_reason == ""
    tab.composer.set_text("hello")
    assert tab.composer.send_button.isEnabled()
    tab.composer.clear()


def test_send_streams_a_reply_into_the_view_and_the_database(
    tab_and_ids: tuple[Any, list[str]], ctx: Any, env: dict[str, str], arun: Callable[..., Any]  # noqa: F811
) -> None:
    from app.ui.async_bridge import signal_future

    tab, _ids = tab_and_ids

    async def scenario() -> tuple[int, list[str], str]:
        await open_thread_with(tab, ctx, GenerationParams(temperature=0.0, max_tokens=600))
        started = signal_future(tab.replyStarted)
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Tell me about rivers and stones.")
        assert tab.send()
        # The reply grows in the view while it streams, not only at the end.
        partial: list[str] = []

        def on_changed(*_args: Any) -> None:
            row = tab.message_model.row(1)
            if row.status == "streaming" and row.content and row.content not in partial:
                partial.append(row.content)

        tab.message_model.dataChanged.connect(on_changed)
        try:
            reply_id = await started
            assert await finished == reply_id
        finally:
            tab.message_model.dataChanged.disconnect(on_changed)
        return reply_id, partial, tab.message_model.row(1).content

    reply_id, partial, shown = arun(scenario(), timeout=60)
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None
    assert partial, "no partial text was shown while streaming"
    assert all(shown.startswith(p) for p in partial)
    assert len(partial[0]) < len(shown)
    assert stored.status == "complete"
    assert stored.content == shown and shown.strip()
    assert stored.model == env["SWITCHBOARD_LLAMACPP_MODEL"]
    assert [r.role for r in tab.message_model.rows] == ["user", "assistant"]
    assert not tab.is_streaming


def test_small_max_tokens_shows_finish_reason_length(
    tab_and_ids: tuple[Any, list[str]], ctx: Any, arun: Callable[..., Any]  # noqa: F811
) -> None:
    from app.ui.async_bridge import signal_future
    from app.ui.chat.messages.row_text import footer_text

    tab, _ids = tab_and_ids

    async def scenario() -> int:
        await open_thread_with(tab, ctx, GenerationParams(temperature=0.0, max_tokens=4))
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Say something.")
        assert tab.send()
        return int(await finished)

    reply_id = arun(scenario(), timeout=60)
    stored = arun(ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete"
    assert stored.finish_reason == "length"
    row = tab.message_model.row(1)
    assert row.id == reply_id and row.finish_reason == "length"
    assert "stopped at the length limit" in footer_text(row)
    assert len(stored.content.split()) <= 4
