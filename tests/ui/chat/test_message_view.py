"""The message delegate's documents: streaming renders match the final render; scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from app.core.demo.text import compose_reply
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.markdown_render import render_markdown
from app.ui.chat.message_view import StreamingDocument, _new_document
from app.ui.context import AppContext
from tests.ui.chat.test_chat_tab import _wait_for_content, make_tab


def _blocks(doc: Any) -> list[tuple[str, bool]]:
    out = []
    block = doc.begin()
    while block.isValid():
        out.append((block.text(), block.textList() is not None))
        block = block.next()
    return out


def test_streamed_document_ends_identical_to_the_full_render(qapp: QApplication) -> None:
    text = compose_reply("How do I summarize text in Python?") + "\n\n1. one\n2. two\n\nEnd\n\n> quote\n\nlast"
    streaming = StreamingDocument(QFont(), qapp.palette())
    for end in range(0, len(text) + 1, 5):
        streaming.update(text[:end], 600)
    streaming.update(text, 600)
    full = _new_document(QFont(), qapp.palette())
    full.setHtml(render_markdown(text))
    assert _blocks(streaming.doc) == _blocks(full)
    assert streaming.doc.textWidth() == 600
    assert streaming.last_cost > 0


def test_view_follows_the_stream_unless_scrolled_up(
    qtbot: Any, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    tab: ChatTab = arun(make_tab(app_ctx))
    qtbot.addWidget(tab)
    tab.resize(800, 400)
    tab.show()
    view = tab.message_view
    bar = view.verticalScrollBar()
    try:
        app_ctx.demo.token_rate = 0

        async def first() -> None:
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Please write 600 tokens about lakes")
            assert tab.send()
            await finished

        arun(first())
        view.doItemsLayout()
        view.viewport().repaint()
        view.doItemsLayout()
        assert bar.maximum() > 0
        assert view.stick_to_bottom and bar.value() == bar.maximum()

        app_ctx.demo.token_rate = 150

        async def second() -> None:
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text("Please write 400 tokens about seas")
            assert tab.send()
            await _wait_for_content(tab, 3, 20)
            bar.setValue(0)  # the user scrolls up to read
            assert not view.stick_to_bottom
            await _wait_for_content(tab, 3, 400)
            tab.stop()
            await finished

        arun(second())
        view.doItemsLayout()
        assert bar.value() == 0  # it did not jump back down
    finally:
        arun(tab.aclose())


def test_footer_and_status_notes() -> None:
    from app.core.protocol.types import Usage
    from app.ui.chat.message_model import ChatRow
    from app.ui.chat.message_view import footer_text, status_note

    row = ChatRow(
        id=1, role="assistant", content="x", ttft_ms=120.4, tokens_per_s=35.25,
        usage=Usage(prompt_tokens=12, completion_tokens=400), finish_reason="length",
    )
    footer = footer_text(row)
    assert "first token 120 ms" in footer and "35.2 tok/s" in footer
    assert "12 in · 400 out tokens" in footer
    assert "length limit" in footer and "next version" not in footer
    assert "finish" not in footer_text(ChatRow(id=2, role="assistant", content="x", finish_reason="stop"))
    assert footer_text(ChatRow(id=3, role="user", content="x")) == ""
    assert "cancelled" in status_note(ChatRow(id=4, role="assistant", status="cancelled"))
    assert "Interrupted" in status_note(ChatRow(id=5, role="assistant", status="interrupted"))
    assert status_note(ChatRow(id=6, role="assistant")) == ""


def test_profile_edit_keeps_the_typed_model(qtbot: Any, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    tab: ChatTab = arun(make_tab(app_ctx))
    qtbot.addWidget(tab)
    try:
        tab.set_model("my-own-model")

        async def edit_profile() -> None:
            loaded = signal_future(tab.modelsLoaded)
            app_ctx.profile_list[0].name = "Renamed demo"
            app_ctx.events.profilesChanged.emit()
            await loaded

        arun(edit_profile())
        assert tab.profile_label.text() == "Renamed demo"
        assert tab.current_model() == "my-own-model"
    finally:
        arun(tab.aclose())
