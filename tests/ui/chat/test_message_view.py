"""The message delegate's documents: streaming renders match the final render; scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from app.core.demo.text import compose_reply
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.documents import StreamingDocument, code_blocks_in, new_document
from app.ui.chat.messages.markdown_render import render_markdown
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab, wait_for_content


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
    full = new_document(QFont(), qapp.palette())
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
            await wait_for_content(tab, 3, 20)
            bar.setValue(0)  # the user scrolls up to read
            assert not view.stick_to_bottom
            await wait_for_content(tab, 3, 400)
            tab.stop()
            await finished

        arun(second())
        view.doItemsLayout()
        assert bar.value() == 0  # it did not jump back down
    finally:
        arun(tab.aclose())


def test_footer_and_status_notes() -> None:
    from app.core.protocol.types import Usage
    from app.ui.chat.messages.message_model import ChatRow
    from app.ui.chat.messages.row_text import footer_text, status_note

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


def _stream_into(sdoc: StreamingDocument, text: str, step: int = 37) -> None:
    for end in range(0, len(text) + 1, step):
        sdoc.update(text[:end], 600)
    sdoc.update(text, 600)


def test_a_finished_long_reply_has_the_html_of_a_full_render(qapp: QApplication) -> None:
    text = "\n\n".join(compose_reply(f"Write about topic {i} with code") for i in range(12))
    sdoc = StreamingDocument(QFont(), qapp.palette())
    _stream_into(sdoc, text)
    assert len(sdoc.stack.docs) > 12  # kept as chunks, each laid out once
    assert sdoc.html() == render_markdown(text)
    full = new_document(QFont(), qapp.palette())
    full.setHtml(render_markdown(text))
    full.setTextWidth(600)
    # The chunks stacked take about the room of the whole document (a few pixels differ at each
    # join, where one document would collapse the margins of two blocks).
    assert abs(sdoc.stack.height() - full.size().height()) < 0.1 * full.size().height()
    # Code blocks are found in every chunk, in order, with their raw code.
    assert [b.code for b in sdoc.stack.code_blocks(False)] == [b.code for b in code_blocks_in(full, False)]


def _finished_row_setup(qtbot: Any, text: str) -> tuple[Any, Any, Any]:
    from app.ui.chat.messages.message_model import ChatRow, MessageModel
    from app.ui.chat.messages.message_view import MessageView

    model = MessageModel()
    view = MessageView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(700, 500)
    model.set_rows([ChatRow(id=7, role="assistant", status="streaming")])
    for end in range(0, len(text) + 1, 50):
        model.update_row(0, content=text[:end])
        view.row_layout(0)
    model.update_row(0, content=text, status="complete")
    return model, view, view.message_delegate


def test_a_finished_reply_keeps_its_streamed_documents_when_they_match(qtbot: Any) -> None:
    text = "\n\n".join(compose_reply(f"Topic {i}") for i in range(4))
    model, view, delegate = _finished_row_setup(qtbot, text)
    renders = delegate.markdown_renders
    layout = view.row_layout(0)
    assert layout.body is not None and len(layout.body.docs) > 1
    assert delegate.markdown_renders == renders  # no full render on the GUI thread
    assert delegate.streamed_render(7) is None  # nothing to check: the chunks are the render
    # What the row is rebuilt from later (a resize) is the full render, byte for byte.
    assert delegate._html_for(model.row(0), False) == render_markdown(text)
    assert delegate.markdown_renders == renders
    assert view.row_layout(0).body is layout.body


def test_a_finished_reply_shows_the_full_render_when_chunks_differ(qtbot: Any) -> None:
    # A reference link's definition comes chunks after its use: only the whole text links it.
    text = "See [the docs][d] first.\n\nMore words here.\n\n[d]: https://example.com/docs\n\nEnd."
    model, view, delegate = _finished_row_setup(qtbot, text)
    view.row_layout(0)
    content, dark = delegate.streamed_render(7) or ("", False)
    assert content == text
    full = render_markdown(content, dark=dark)
    assert 'href="https://example.com/docs"' in full
    version = model.row(0).version
    assert not delegate.confirm_render(7, content, full)
    assert model.row(0).version != version  # laid out again, from the full render
    layout = view.row_layout(0)
    assert layout.body is not None and len(layout.body.docs) == 1
    assert layout.body.docs[0].toPlainText() == _plain(full)


def _plain(html: str) -> str:
    doc = new_document(QFont(), QApplication.palette())
    doc.setHtml(html)
    return doc.toPlainText()
