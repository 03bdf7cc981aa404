"""Image attachments in the transcript: thumbnails under a user message, decoded once and only
for rows that are painted; URL images are a label, never fetched. Also saves
artifacts/screenshots/chat-image.png."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.message_delegate import GAP, THUMB_MAX
from app.ui.chat.messages.message_model import ChatRow, MessageModel, new_temp_id
from app.ui.chat.messages.message_view import MessageView
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_ready_tab

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    """A shown ChatTab closed by this fixture (see test_thread_settings.tab for why not addWidget)."""
    widget = arun(make_ready_tab(app_ctx))
    widget.resize(1100, 720)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()


def picture(width: int, height: int) -> QImage:
    """A small landscape 'photo': a sky gradient, a hill and a sun (easy to recognise in a shot)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    sky = QLinearGradient(0, 0, 0, height)
    sky.setColorAt(0, QColor("#1d4ed8"))
    sky.setColorAt(1, QColor("#93c5fd"))
    painter.fillRect(image.rect(), sky)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#facc15"))
    painter.drawEllipse(QRect(width * 2 // 3, height // 8, height // 3, height // 3))
    painter.setBrush(QColor("#15803d"))
    painter.drawEllipse(QRect(-width // 4, height * 3 // 5, width * 3 // 2, height))
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")  # type: ignore[call-overload]  # (the stubs say bytes; the binding wants str)
    buffer.close()
    return bytes(data.data())


def image_record(image: QImage) -> dict[str, Any]:
    return {"type": "image", "mime": "image/png", "data_b64": base64.b64encode(png_bytes(image)).decode("ascii")}


def size_hint(view: MessageView, row_number: int) -> QSize:
    index = view.message_model().index(row_number, 0)
    return view.message_delegate.sizeHint(QStyleOptionViewItem(), index)


def test_a_sent_image_is_a_thumbnail_under_the_user_message(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "landscape.png"
    assert picture(480, 300).save(str(path))

    async def send() -> int:
        done = signal_future(tab.thread_settings.attachmentsProcessed)
        tab.composer.filesOffered.emit([str(path)])
        assert await done == (1, [])
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("What is in this picture?")
        assert tab.send()
        return int(await finished)

    arun(send())
    view = tab.message_view
    delegate = view.message_delegate
    view.settle()
    user = tab.message_model.row(0)
    assert user.role == "user" and user.is_stored
    assert [part["mime"] for part in user.images] == ["image/png"]
    assert "1 image attached" in user.accessible_text()

    # One thumbnail, at most THUMB_MAX on the long side, aspect kept (480x300 -> 160x100).
    assert view.thumbnail_sizes(0) == [QSize(THUMB_MAX, 100)]
    # The row's size hint has grown by the thumbnail row, and the view uses it.
    plain = replace(user, id=new_temp_id(), images=())
    plain_height = delegate.layout_for(plain, view.palette()).height
    hint = size_hint(view, 0)
    assert hint.height() == view.row_layout(0).height == plain_height + 100 + GAP
    assert view.visualRect(tab.message_model.index(0, 0)).height() == hint.height()

    # Decoded once: repaints and hover reuse the cached thumbnail.
    assert delegate.images_decoded == 1
    for _ in range(3):
        view.viewport().repaint()
    assert delegate.images_decoded == 1

    SHOTS.mkdir(parents=True, exist_ok=True)
    out = SHOTS / "chat-image.png"
    assert tab.grab().save(str(out))
    assert out.stat().st_size > 10_000

    # Reopened from the database, the row still shows its thumbnail (from the stored parts).
    thread_id = tab.current_thread_id
    assert thread_id is not None
    arun(tab.open_thread(thread_id))
    view.settle()
    assert tab.message_model.row(0).images == user.images
    assert view.thumbnail_sizes(0) == [QSize(THUMB_MAX, 100)]


def test_thumbnails_are_decoded_only_for_painted_rows(qtbot: QtBot) -> None:
    record = image_record(picture(200, 400))  # portrait: 80x160
    rows = [ChatRow(id=i, role="user", content=f"photo {i}", images=(record,)) for i in range(1, 301)]
    rows.append(
        ChatRow(
            id=301,
            role="user",
            content="two more",
            images=(
                {"type": "image", "mime": "image/png", "url": "https://example.invalid/cat.png"},
                {"type": "image", "mime": "image/png", "data_b64": "!!! not base64"},
            ),
        )
    )
    model = MessageModel()
    model.set_rows(rows)
    view = MessageView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(700, 500)
    with qtbot.waitExposed(view):
        view.show()
    view.follow_bottom()
    view.settle()
    delegate = view.message_delegate

    painted = delegate.painted_ids
    assert 0 < delegate.images_decoded <= len(painted) < 50  # only rows that were on screen
    assert view.thumbnail_sizes(299) == [QSize(80, THUMB_MAX)]

    # An unpainted row's estimate already reserves a thumbnail row; nothing was decoded for it.
    assert 1 not in painted
    decoded = delegate.images_decoded
    plain = ChatRow(id=new_temp_id(), role="user", content="photo 1")
    model.append_row(plain)
    assert size_hint(view, 0).height() - size_hint(view, model.rowCount() - 1).height() == THUMB_MAX + GAP
    assert delegate.images_decoded == decoded

    # A URL image is a label (never fetched); unreadable data says so; neither is a thumbnail.
    assert view.thumbnail_sizes(300) == []
    labels = [text for _rect, text in view.row_layout(300).image_labels]
    assert labels == ["[image: https://example.invalid/cat.png]", "[image: unreadable]"]
