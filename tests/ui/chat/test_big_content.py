"""Big content stays responsive: a multi-megabyte message opens in pages, a huge paste becomes a
chip, a message over the size limit is refused before anything is stored, and a big allowed one
really reaches the (loopback) demo server.

Speed is measured in benchmarks/big_content.py; these tests check the behaviour that makes it
fast (what is laid out, what the editor holds) and fail on the code that froze.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QSettings
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.composer.attachments import LARGE_PASTE_CHARS, build_content
from app.ui.chat.composer.composer import (
    MESSAGE_LIMIT_SETTING,
    Composer,
    message_limit,
    size_refusal,
)
from app.ui.chat.messages.documents import BIG_BODY_CHARS, HEAD_CHARS, PAGE_CHARS
from app.ui.chat.messages.markdown_render import HIGHLIGHT_LIMIT, render_markdown
from app.ui.chat.messages.message_model import ChatRow, MessageModel
from app.ui.chat.messages.message_view import MessageView
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab

MB = 1024 * 1024


def big_text(chars: int, seed: str = "alpha") -> str:
    """Markdown-ish paragraphs of about `chars` characters (fast to build)."""
    para = (
        f"Paragraph {seed} with **bold** words, a [link](https://example.com) and `code`. "
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n\n"
    )
    return (para * (chars // len(para) + 1))[:chars]


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[tuple[MessageView, MessageModel]]:
    widget = MessageView()
    qtbot.addWidget(widget)
    model = MessageModel(widget)
    widget.setModel(model)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget, model


# --- the view -----------------------------------------------------------------------------------


def test_a_5mb_message_lays_out_only_its_first_page(view: tuple[MessageView, MessageModel]) -> None:
    widget, model = view
    text = big_text(5 * MB)
    model.set_rows([ChatRow(id=1, role="user", content="hi"), ChatRow(id=2, role="assistant", content=text)])
    widget.settle()
    layout = widget.row_layout(1)
    assert layout.body is not None
    laid_out = sum(doc.characterCount() for doc in layout.body.docs)
    assert laid_out <= HEAD_CHARS + 10  # not the 5 MB
    assert "KB of 5.0 MB" in layout.paged_note
    assert [action for action, _rect in layout.buttons] == ["more"]
    # The row is about as high as its first page, not as the whole text.
    assert layout.height < 40 * widget.fontMetrics().lineSpacing() * HEAD_CHARS // 2_000
    # Copy still copies all of it.
    widget.setCurrentIndex(model.index(1, 0))
    widget.copy_row(1)
    assert QGuiApplication.clipboard().text() == text


def test_show_more_adds_one_plain_page_and_keeps_the_ones_built(view: tuple[MessageView, MessageModel]) -> None:
    widget, model = view
    text = big_text(BIG_BODY_CHARS * 10)
    model.set_rows([ChatRow(id=7, role="assistant", content=text)])
    widget.settle()
    first = widget.row_layout(0)
    assert first.body is not None and len(first.body.docs) == 1
    head_doc = first.body.docs[0]
    button = next(rect for action, rect in first.buttons if action == "more")
    row = model.row(0)
    assert widget.message_delegate.hit_test(row, widget.palette(), button.center()) == ("more", 0)
    assert widget.message_delegate.show_more(7)
    second = widget.row_layout(0)
    assert second.body is not None and len(second.body.docs) == 2
    assert second.body.docs[0] is head_doc  # the head is not laid out again
    shown = sum(doc.characterCount() for doc in second.body.docs)
    assert HEAD_CHARS + PAGE_CHARS // 2 < shown <= HEAD_CHARS + PAGE_CHARS + 10
    assert second.height > first.height
    # The estimate follows what is shown, and never reads the whole text as a page.
    hint = widget.message_delegate._estimate_height(model.row(0), widget.message_delegate.content_width())
    assert hint < 3 * second.height


def test_a_big_user_message_is_plain_text_in_pages(view: tuple[MessageView, MessageModel]) -> None:
    widget, model = view
    text = "<b>not bold</b> " + big_text(2 * MB)
    model.set_rows([ChatRow(id=3, role="user", content=text)])
    widget.settle()
    layout = widget.row_layout(0)
    assert layout.body is not None and layout.paged_note
    assert layout.body.docs[0].toPlainText().startswith("<b>not bold</b>")


def test_display_text_of_a_big_row_is_bounded() -> None:
    row = ChatRow(id=1, role="assistant", content=big_text(3 * MB))
    assert len(row.accessible_text()) < 10_000


def test_a_huge_code_block_is_not_highlighted_but_copies_raw() -> None:
    code = "\n".join(f"value_{i} = compute({i}) < limit" for i in range(HIGHLIGHT_LIMIT // 10))
    html = render_markdown(f"Intro\n\n```python\n{code}\n```\n\nAfter *that*.")
    assert "value_1 = compute(1) &lt; limit" in html  # escaped, no Pygments spans inside
    assert "<span style=" not in html
    assert 'bgcolor="#f4f6f8"' in html and "<em>that</em>" in html
    small = render_markdown("```python\nx = 1\n```")
    assert "<span style=" in small  # small blocks keep their highlighting


# --- the composer -------------------------------------------------------------------------------


def test_a_huge_paste_becomes_a_chip_not_editor_text(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    pasted = big_text(LARGE_PASTE_CHARS * 20)
    mime = QMimeData()
    mime.setText(pasted)
    composer.edit.insertFromMimeData(mime)
    assert composer.edit.document().characterCount() < 10  # the editor stays empty
    [chip] = composer.chip_widgets()
    assert chip.attachment.kind == "paste" and chip.attachment.text == pasted
    assert composer.can_send() and composer.send_button.isEnabled()
    composer.edit.insertPlainText("Summarise this:")
    shown, content = build_content(composer.text, composer.attachments)
    assert shown == "Summarise this:\n\n" + pasted and content == shown
    small = QMimeData()
    small.setText("short")
    composer.edit.insertFromMimeData(small)
    assert composer.text.endswith("short") and len(composer.chip_widgets()) == 1


def test_set_text_of_a_big_message_uses_the_chip(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.set_text(big_text(LARGE_PASTE_CHARS + 1))
    assert composer.text == "" and len(composer.attachments) == 1


def test_a_message_over_the_limit_cannot_be_sent(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.set_message_limit(1 * MB)
    sent: list[str] = []
    composer.sendRequested.connect(sent.append)
    composer.add_large_text(big_text(MB + 10))
    assert not composer.can_send() and not composer.send_button.isEnabled()
    assert "messages can be at most 1.0 MB" in composer.attach_error_label.text()
    composer._submit()
    assert sent == []
    composer.clear_attachments()
    composer.edit.setPlainText("fine")
    assert composer.can_send() and not composer.attach_error_label.text()


def test_size_is_counted_in_utf8_bytes() -> None:
    assert size_refusal("é" * 600, 1000)  # 1,200 bytes in 600 characters
    assert not size_refusal("e" * 600, 1000)
    assert not size_refusal("", 1)


def test_the_limit_comes_from_the_setting(tmp_path: Any) -> None:
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    assert message_limit(settings) == 16 * MB
    settings.setValue(MESSAGE_LIMIT_SETTING, 2.5)
    assert message_limit(settings) == int(2.5 * MB)
    settings.setValue(MESSAGE_LIMIT_SETTING, "nonsense")
    assert message_limit(settings) == 16 * MB


# --- through the chat tab, against the demo server -----------------------------------------------


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    widget = arun(make_tab(app_ctx))
    widget.resize(1000, 700)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()


def test_a_big_allowed_message_is_stored_and_reaches_the_server(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    text = big_text(3 * MB, seed="sent")
    tab.composer.add_large_text(text)

    async def scenario() -> int:
        finished = signal_future(tab.replyFinished)
        tab.composer.edit.insertPlainText("Count the paragraphs:")
        tab.composer._submit()
        assert tab.is_streaming
        return await finished

    reply_id = arun(scenario(), timeout=60)
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.status == "complete", stored
    requests = app_ctx.demo.requests.find("chat/completions", "POST")
    assert requests, "the request never reached the server"
    sent = requests[-1].json["messages"][-1]["content"]
    assert sent == "Count the paragraphs:\n\n" + text
    rows = tab.message_model.rows
    assert rows[0].role == "user" and rows[0].content == sent
    # The view shows it in pages: laying out 3 MB on the GUI thread is what stalled the send
    # (and let the connect time out) before.
    assert "of 3.0 MB" in tab.message_view.row_layout(0).paged_note
    stored_user = arun(app_ctx.threads.get_message(rows[0].id))
    assert stored_user is not None and stored_user.content == sent


def test_a_message_over_the_limit_is_refused_before_anything_is_stored(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    tab.composer.set_message_limit(1 * MB)
    before = len(app_ctx.demo.requests.find("chat/completions"))
    tab.composer.add_large_text(big_text(2 * MB))
    assert not tab.send()  # also when called directly, not only from the disabled button
    assert not tab.is_streaming and tab.message_model.rowCount() == 0
    assert "messages can be at most 1.0 MB" in tab.composer.attach_error_label.text()
    assert len(app_ctx.demo.requests.find("chat/completions")) == before
    threads = arun(app_ctx.threads.list_threads(include_archived=True))
    assert threads == [] or all(t.title != "New chat" for t in threads)
    assert len(tab.composer.attachments) == 1  # kept for the user to shorten


def test_the_composer_counts_utf8_bytes_across_text_and_chips(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.set_message_limit(1000)
    composer.edit.setPlainText("a" * 100)
    composer.add_large_text("é" * 450)  # 100 + 2 + 900 bytes, in 552 characters
    assert "messages can be at most" in composer.size_refusal()
    assert not composer.can_send()
    composer.set_message_limit(1002)
    assert composer.size_refusal() == "" and composer.can_send()
