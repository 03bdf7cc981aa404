"""Helpers shared by the tests of tests/ui/chat (never a test module itself)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.message_view import MessageView
from app.ui.context import AppContext


async def make_tab(ctx: AppContext) -> ChatTab:
    """Build a ChatTab on the running loop and await its start-up work (threads, models).

    Built inside a coroutine because pytest-qt processes Qt events between setup and the test,
    which would step qasync tasks while no asyncio loop is running.
    """
    widget = ChatTab(ctx)
    models = signal_future(widget.modelsLoaded)
    threads = signal_future(widget.threadsReloaded)
    await asyncio.gather(models, threads)
    return widget


async def wait_for_content(tab: ChatTab, row: int, min_chars: int = 1) -> str:
    """Await the model's dataChanged until the row has some streamed text."""
    while len(tab.message_model.row(row).content) < min_chars:
        await signal_future(tab.message_model.dataChanged)
    return tab.message_model.row(row).content


async def make_ready_tab(ctx: AppContext) -> ChatTab:
    tab = await make_tab(ctx)
    await tab.thread_settings.ready()
    return tab


def chat_bodies(app_ctx: AppContext, path: str = "chat/completions") -> list[dict[str, Any]]:
    assert app_ctx.demo is not None
    return [r.json for r in app_ctx.demo.requests.find(path, "POST") if isinstance(r.json, dict)]


async def open_tab(ctx: AppContext, qtbot: QtBot, size: tuple[int, int] = (1000, 700)) -> ChatTab:
    """A shown ChatTab. Callers close it with `await tab.aclose()` inside the test body."""
    tab = await make_tab(ctx)
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    return tab


async def send_and_wait(tab: ChatTab, text: str | None = None) -> int:
    """Send `text` (or what the composer holds) and await the reply's id."""
    finished = signal_future(tab.replyFinished)
    if text is not None:
        tab.composer.set_text(text)
    assert tab.send()
    return int(await finished)


def select_row(view: MessageView, row_number: int) -> None:
    index = view.message_model().index(row_number, 0)
    view.setFocus()
    view.setCurrentIndex(index)
    view.scrollTo(index)
    view.settle()


def click(qtbot: QtBot, view: MessageView, row_number: int, rect: QRect) -> None:
    """Click the centre of `rect` (row coordinates) on row `row_number`."""
    index = view.message_model().index(row_number, 0)
    view.scrollTo(index)
    view.settle()
    top_left = view.visualRect(index).topLeft()
    assert view.viewport().rect().contains(top_left + rect.center()), "control is off screen"
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=top_left + rect.center())


def strip_rect(view: MessageView, row_number: int, action: str) -> QRect:
    rects = dict(view.row_layout(row_number).strip)
    assert action in rects, f"{action} not in the strip: {list(rects)}"
    return rects[action]


async def activate(window: Any) -> None:
    """Make `window` the active window (shortcuts only fire there), awaiting the focus change."""
    app = QApplication.instance()
    if QApplication.activeWindow() is not window and isinstance(app, QApplication):
        changed = signal_future(app.focusWindowChanged)
        window.activateWindow()
        await changed


def save_shot(tab: ChatTab, name: str) -> Path:
    tab.message_view.settle()
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert tab.grab().save(str(path))
    assert path.stat().st_size > 10_000
    return path


ROOT = Path(__file__).resolve().parents[3]


SHOTS = ROOT / "artifacts" / "screenshots"
