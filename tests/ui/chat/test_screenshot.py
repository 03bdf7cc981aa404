"""Saves artifacts/screenshots/chat-streamed.png: the tab after a demo reply with a code block."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.context import AppContext
from app.ui.theme import ThemeManager
from tests.ui.chat.helpers import make_tab

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


def test_screenshot_after_streamed_reply(
    qtbot: QtBot, qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    # The app's look (Fusion, light palette, badge styles) as app.main applies it.
    assert app_ctx.demo is not None
    app_ctx.demo.token_rate = 400.0  # realistic speed figures in the footer
    theme = ThemeManager(qapp, "light")
    tab = arun(make_tab(app_ctx))
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    tab.show()

    async def scenario() -> int:
        tab.set_model("demo-reasoner")
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("How do I summarize text in Python?")
        assert tab.send()
        reply = await finished
        # expand the reasoning of the reply so the screenshot shows it
        tab.message_view.toggle_reasoning(1)
        tab.composer.set_text("Thanks! And in one line?")
        return reply

    try:
        reply_id = arun(scenario())
        assert reply_id > 0
        tab.message_view.viewport().repaint()
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "chat-streamed.png"
        assert tab.grab().save(str(path))
        assert path.stat().st_size > 10_000
    finally:
        arun(tab.aclose())
        qapp.setStyleSheet("")
        theme.deleteLater()


def test_screenshot_of_an_error_row(
    qtbot: QtBot, qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.core.demo.faults import FaultRule

    assert app_ctx.demo is not None
    app_ctx.profile_list[0].max_retries = 0
    app_ctx.demo.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=429,
            times=1,
            body={"error": {"message": "Rate limit reached for demo-chat (injected)", "code": "rate_limit_exceeded"}},
        )
    )
    theme = ThemeManager(qapp, "light")
    tab = arun(make_tab(app_ctx))
    qtbot.addWidget(tab)
    tab.resize(1100, 500)
    tab.show()

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Hello there")
        assert tab.send()
        return await finished

    try:
        arun(scenario())
        assert tab.message_model.row(1).status == "error"
        tab.message_view.doItemsLayout()
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "chat-error.png"
        assert tab.grab().save(str(path))
    finally:
        arun(tab.aclose())
        qapp.setStyleSheet("")
        theme.deleteLater()
