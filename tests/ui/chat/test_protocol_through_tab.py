"""Issue 7 end to end: what real servers and proxies send, through the real client, the chat
service, SQLite and the chat tab, against the loopback demo server's fault injection.

Each test sends one message in the real tab and checks what the row shows and what was stored:
inline think tags go to the reasoning section, a non-JSON `data:` line does not end the stream, a
cut-off stream is incomplete (Continue / Regenerate), a streaming path that 404s is fetched whole,
a 429 with only reset headers is waited for (the row says so), a firewall page and a refused
connection are worded as what they are.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from pytestqt.qtbot import QtBot

from app.core.demo.faults import CLOUDFLARE_1010_PAGE, FaultRule
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.context import AppContext
from tests.ui.chat.helpers import open_tab, send_and_wait

PROMPT = "Tell me about tides"


def _profile(ctx: AppContext) -> Any:
    profile = ctx.profile_list[0]
    assert profile.base_url.startswith("http://127.0.0.1:")
    return profile


async def _reply(ctx: AppContext, qtbot: QtBot, text: str = PROMPT) -> tuple[ChatTab, Any, Any]:
    """Send `text` in a new tab; (tab, the reply's row, the stored reply)."""
    tab = await open_tab(ctx, qtbot)
    reply_id = await send_and_wait(tab, text)
    row = tab.message_model.row(tab.message_model.find_row(reply_id))
    stored = await ctx.threads.get_message(reply_id)
    return tab, row, stored


def test_inline_think_tags_become_the_reasoning_section(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", think_tags=True, times=1))

    async def scenario() -> None:
        tab, row, stored = await _reply(app_ctx, qtbot)
        try:
            assert stored.status == "complete"
            assert stored.reasoning.strip() and "<think>" not in stored.content
            assert "</think>" not in stored.content and "think>" not in stored.reasoning
            assert row.reasoning == stored.reasoning and row.content == stored.content
            assert stored.content.strip()  # the answer itself is still there
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_non_json_data_line_does_not_end_the_stream(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None

    async def scenario() -> None:
        tab, _row, clean = await _reply(app_ctx, qtbot)
        await tab.aclose()
        app_ctx.demo.faults.add(
            FaultRule(path_contains="chat/completions", comment_data_after_events=2, times=1)
        )
        tab, row, proxied = await _reply(app_ctx, qtbot)
        try:
            # The demo is deterministic: the same prompt gives the same reply, whole.
            assert proxied.status == "complete" and proxied.error is None
            assert proxied.content == clean.content and row.content == clean.content
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_cut_off_stream_is_incomplete_with_continue_and_regenerate(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", cut_after_events=3, times=1))

    async def scenario() -> None:
        tab, row, stored = await _reply(app_ctx, qtbot)
        try:
            assert stored.status == "interrupted" and stored.content
            assert "ended before the reply finished" in (stored.error or "")
            assert row.status == "interrupted" and row.content == stored.content
            layout = tab.message_view.row_layout(tab.message_model.find_row(stored.id))
            assert [a for a, _ in layout.buttons] == ["continue", "regenerate"]
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_streaming_path_that_404s_is_fetched_whole_and_shown_the_same(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None

    async def scenario() -> None:
        tab, _row, streamed = await _reply(app_ctx, qtbot)
        await tab.aclose()
        app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", status=404, stream_only=True))
        # The whole reply takes a moment, as a real one does: the row shows the waiting state.
        app_ctx.demo.faults.add(FaultRule(path_contains="chat/completions", delay_s=0.6, times=1))
        tab = await open_tab(app_ctx, qtbot)
        try:
            waits: list[str] = []
            tab.message_model.dataChanged.connect(
                lambda *_: waits.extend(r.waiting for r in tab.message_model.rows if r.waiting)
            )
            reply_id = await send_and_wait(tab, PROMPT)
            stored = await app_ctx.threads.get_message(reply_id)
            assert stored is not None and stored.status == "complete"
            assert stored.content == streamed.content
            row = tab.message_model.row(tab.message_model.find_row(reply_id))
            assert row.content == streamed.content and not row.waiting
            assert waits and waits[0].startswith("Waiting for the whole reply")
            # One streaming attempt (404), then the whole reply without streaming.
            bodies = [r.json for r in app_ctx.demo.requests.find("chat/completions")]
            assert [b.get("stream", False) for b in bodies][-2:] == [True, False]
            # The client remembers: the next reply is not tried streamed again.
            await send_and_wait(tab, "And the moon?")
            bodies = [r.json for r in app_ctx.demo.requests.find("chat/completions")]
            assert [b.get("stream", False) for b in bodies][-3:] == [True, False, False]
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_429_with_only_reset_headers_waits_for_the_reset_and_says_so(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    app_ctx.demo.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=429,
            times=1,
            headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"},
        )
    )

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        try:
            shown: list[str] = []

            def note(*_: Any) -> None:
                i = tab.message_model.rowCount() - 1
                if i >= 0 and tab.message_model.row(i).waiting:
                    shown.append(tab.message_model.row(i).waiting)

            tab.message_model.dataChanged.connect(note)
            reply_id = await send_and_wait(tab, PROMPT)
            stored = await app_ctx.threads.get_message(reply_id)
            assert stored is not None and stored.status == "complete" and stored.content
            assert shown and shown[0].startswith("Retrying 1/") and "rate limited" in shown[0]
            # The wait came from the reset header (3 s), not a quick backoff retry.
            seconds = float(shown[0].split(" in ")[1].split(" s")[0])
            assert 2.0 <= seconds <= 3.5
            assert len(app_ctx.demo.requests.find("chat/completions")) == 2
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_cdn_firewall_page_says_the_firewall_refused_and_points_to_extra_headers(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    _profile(app_ctx).max_retries = 0
    app_ctx.demo.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=403,
            body=CLOUDFLARE_1010_PAGE,
            content_type="text/html",
            headers={"Server": "cloudflare"},
        )
    )

    async def scenario() -> None:
        tab, row, stored = await _reply(app_ctx, qtbot)
        try:
            assert stored.status == "error" and not stored.content
            assert "firewall" in stored.error.lower() and "User-Agent" in stored.error
            assert "Extra headers" in stored.error
            assert row.error == stored.error
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_a_refused_connection_is_worded_as_ours_not_the_providers(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    profile = _profile(app_ctx)
    profile.base_url = f"http://127.0.0.1:{port}/v1"
    profile.max_retries = 0

    async def scenario() -> None:
        await app_ctx.clients.invalidate(profile.id)
        tab = await open_tab(app_ctx, qtbot)
        try:
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text(PROMPT)
            assert tab.send()
            reply_id = int(await finished)
            stored = await app_ctx.threads.get_message(reply_id)
            assert stored is not None and stored.status == "error"
            assert f"Could not connect to 127.0.0.1:{port}: connection refused" in stored.error
            assert "provider said" not in stored.error.lower()
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)
