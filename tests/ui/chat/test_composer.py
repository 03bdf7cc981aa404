"""The composer: keys (Enter / Ctrl+Enter), attachments (pick, paste, drop), limits, and what
reaches the DemoServer. Also saves artifacts/screenshots/chat-settings.png."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.composer.attachments import (
    IMAGE_LIMIT,
    Attachment,
    build_content,
    inline_text_block,
)
from app.ui.chat.thread_settings import CTRL_ENTER_SETTING
from app.ui.context import AppContext
from app.ui.theme import ThemeManager
from tests.ui.chat.helpers import chat_bodies, make_ready_tab, send_and_wait

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    """A shown ChatTab closed by this fixture (see test_thread_settings.tab for why not addWidget)."""
    widget = arun(make_ready_tab(app_ctx))
    widget.resize(1200, 760)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()


def png_file(path: Path, color: str = "#3b82f6", size: int = 64) -> Path:
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    assert image.save(str(path), "PNG")
    return path


async def attach(tab: ChatTab, paths: list[str]) -> tuple[int, list[str]]:
    done = signal_future(tab.thread_settings.attachmentsProcessed)
    tab.composer.filesOffered.emit(paths)
    return await done




def last_user_content(app_ctx: AppContext) -> Any:
    return chat_bodies(app_ctx)[-1]["messages"][-1]["content"]


# --- keys ------------------------------------------------------------------------------------


def test_enter_sends_and_shift_enter_adds_a_line_by_default(tab: ChatTab, qtbot: QtBot, arun: Callable[..., Any]) -> None:
    sent: list[str] = []
    tab.composer.sendRequested.disconnect(tab.send)
    tab.composer.sendRequested.connect(sent.append)
    tab.composer.set_text("line one")
    tab.composer.edit.moveCursor(tab.composer.edit.textCursor().MoveOperation.End)
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert tab.composer.text == "line one\n" and sent == []
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Return)
    assert sent == ["line one\n"]


def test_ctrl_enter_mode_is_stored_and_swaps_the_keys(
    tab: ChatTab, app_ctx: AppContext, qtbot: QtBot, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings
    sent: list[str] = []
    tab.composer.sendRequested.disconnect(tab.send)
    tab.composer.sendRequested.connect(sent.append)

    async def toggle() -> Any:
        saved = signal_future(ts.preferenceSaved)
        ts.panel.ctrl_enter_check.setChecked(True)
        await saved
        return await ts.settings_repo.get(CTRL_ENTER_SETTING)

    assert arun(toggle()) is True
    assert tab.composer.ctrl_enter_sends
    assert "Ctrl+Enter sends" in tab.composer.edit.placeholderText()
    tab.composer.set_text("draft")
    tab.composer.edit.moveCursor(tab.composer.edit.textCursor().MoveOperation.End)
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Return)
    assert tab.composer.text == "draft\n" and sent == []
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == ["draft\n"]

    async def reopened() -> tuple[bool, bool]:
        other = await make_ready_tab(app_ctx)
        try:
            return other.composer.ctrl_enter_sends, other.thread_settings.panel.ctrl_enter_check.isChecked()
        finally:
            await other.aclose()
            other.deleteLater()

    assert arun(reopened()) == (True, True)


# --- attachments -----------------------------------------------------------------------------


def test_image_attachment_is_sent_as_an_image_url_part(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path
) -> None:
    path = png_file(tmp_path / "chart.png")
    added, errors = arun(attach(tab, [str(path)]))
    assert (added, errors) == (1, [])
    chips = tab.composer.chip_widgets()
    assert len(chips) == 1 and chips[0].accessibleName().startswith("Image attachment chart.png")
    assert tab.composer.send_button.isEnabled()

    reply_id = arun(send_and_wait(tab, "What is in this picture?"))
    content = last_user_content(app_ctx)
    assert isinstance(content, list)
    assert content[0] == {"type": "text", "text": "What is in this picture?"}
    image = content[1]
    assert image["type"] == "image_url"
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == path.read_bytes()
    assert tab.composer.attachments == [] and not tab.composer.chips.isVisible()  # cleared after send
    reply = arun(app_ctx.threads.get_message(reply_id))
    assert reply is not None and reply.parent_id is not None
    user = arun(app_ctx.threads.get_message(reply.parent_id))
    assert user is not None and user.parts and user.parts[0]["mime"] == "image/png"


def test_an_image_alone_can_be_sent(tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path) -> None:
    arun(attach(tab, [str(png_file(tmp_path / "only.png"))]))
    assert tab.composer.text == "" and tab.composer.can_send()
    arun(send_and_wait(tab))
    content = last_user_content(app_ctx)
    assert [part["type"] for part in content] == ["image_url"]


def test_text_file_is_inlined_as_a_fenced_block(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path
) -> None:
    source = tmp_path / "notes.py"
    source.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    added, _ = arun(attach(tab, [str(source)]))
    assert added == 1
    arun(send_and_wait(tab, "Review this"))
    content = last_user_content(app_ctx)
    assert content == "Review this\n\nFile: notes.py\n```python\ndef add(a, b):\n    return a + b\n```"
    assert tab.message_model.rows[0].content == content  # the transcript shows what was sent


def test_fences_inside_a_text_file_do_not_break_the_block() -> None:
    attachment = Attachment(name="README.md", kind="text", mime="text/plain", data=b"", text="```py\nx\n```\n")
    block = inline_text_block(attachment)
    assert block.startswith("File: README.md\n````markdown\n") and block.endswith("\n````")
    shown, content = build_content("", [attachment])
    assert shown == content == block


def test_paste_image_from_the_clipboard(tab: ChatTab, arun: Callable[..., Any]) -> None:
    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(QColor("#e11d48"))
    clipboard = QApplication.clipboard()
    clipboard.setImage(image)

    async def paste() -> tuple[int, list[str]]:
        done = signal_future(tab.thread_settings.attachmentsProcessed)
        tab.composer.edit.setFocus()
        tab.composer.edit.paste()
        return await done

    assert arun(paste()) == (1, [])
    [attachment] = tab.composer.attachments
    assert attachment.kind == "image" and attachment.mime == "image/png" and attachment.name == "pasted-image.png"
    assert QImage.fromData(attachment.data).size() == image.size()
    assert tab.composer.text == ""  # nothing pasted as text
    clipboard.clear()


def test_drop_files_on_the_composer(tab: ChatTab, arun: Callable[..., Any], tmp_path: Path) -> None:
    image = png_file(tmp_path / "dropped.png", "#16a34a")
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image)), QUrl.fromLocalFile(str(text))])

    async def drop() -> tuple[int, list[str]]:
        done = signal_future(tab.thread_settings.attachmentsProcessed)
        event = QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        # What the viewport's filter hands the editor (QApplication only routes a drop while a
        # real drag is in progress, so sendEvent would not deliver it).
        tab.composer.edit.viewportEvent(event)
        assert event.isAccepted()
        return await done

    assert arun(drop()) == (2, [])
    assert [(a.name, a.kind) for a in tab.composer.attachments] == [("dropped.png", "image"), ("data.csv", "text")]
    assert tab.composer.text == ""  # the paths were not dropped in as text

    # The chip's remove button drops one attachment.
    chip = next(c for c in tab.composer.chip_widgets() if c.attachment.name == "data.csv")
    chip.remove_button.click()
    assert [a.name for a in tab.composer.attachments] == ["dropped.png"]


def test_refused_files_say_why(tab: ChatTab, arun: Callable[..., Any], tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.truncate(IMAGE_LIMIT + 1024)  # sparse: fast to make
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\n")
    missing = tmp_path / "gone.txt"

    added, errors = arun(attach(tab, [str(big), str(binary), str(pdf), str(missing)]))
    assert added == 0 and len(errors) == 4
    assert "huge.png" in errors[0] and "20.0 MB" in errors[0]
    assert "blob.bin" in errors[1] and "binary" in errors[1]
    assert "PDF documents are not supported" in errors[2]
    assert "gone.txt" in errors[3]
    label = tab.composer.attach_error_label
    assert label.isVisible() and "huge.png" in label.text() and "paper.pdf" in label.text()
    assert tab.composer.attachments == []
    assert not tab.composer.can_send()  # nothing to send


def test_attach_button_opens_a_file_dialog(tab: ChatTab, arun: Callable[..., Any], tmp_path: Path) -> None:
    path = png_file(tmp_path / "picked.png")

    async def pick() -> tuple[int, list[str]]:
        shown = signal_future(tab.thread_settings.fileDialogShown)
        done = signal_future(tab.thread_settings.attachmentsProcessed)
        tab.composer.attach_button.click()
        dialog = await shown
        assert dialog.accessibleName() == "Attach files"
        # What an accepted dialog does (its file view loads asynchronously, so typing into it
        # here would race the directory listing).
        dialog.filesSelected.emit([str(path)])
        dialog.done(QDialog.DialogCode.Accepted)
        return await done

    assert arun(pick()) == (1, [])
    assert [a.name for a in tab.composer.attachments] == ["picked.png"]


def test_sending_is_blocked_with_a_reason_even_with_attachments(
    tab: ChatTab, arun: Callable[..., Any], tmp_path: Path
) -> None:
    arun(attach(tab, [str(png_file(tmp_path / "x.png"))]))
    tab.set_model("")
    assert not tab.composer.send_button.isEnabled()
    assert "No model" in tab.composer.reason_label.text() and tab.composer.reason_label.isVisible()
    assert not tab.send()
    assert len(tab.composer.attachments) == 1  # kept for when a model is picked


# --- screenshot ------------------------------------------------------------------------------


def test_screenshot_settings_panel_with_an_image_chip(
    qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any], tmp_path: Path
) -> None:
    theme = ThemeManager(qapp, "light")
    tab = arun(make_ready_tab(app_ctx))
    tab.resize(1280, 800)
    tab.show()
    try:
        ts = tab.thread_settings

        async def scene() -> None:
            await ts.personas_repo.create("Code reviewer", "You review code strictly.")
            await ts.personas.reload()
            ts.set_panel_visible(True)
            ts.panel.system_edit.setPlainText("You are a concise assistant. Answer in plain English.")
            form = ts.panel.params_form
            form.rows["temperature"].check.setChecked(True)
            form.rows["temperature"].spin.setValue(0.4)
            form.rows["max_tokens"].check.setChecked(True)
            form.rows["max_tokens"].spin.setValue(800)
            await send_and_wait(tab, "Give me three tips for naming variables.")
            image = QImage(160, 120, QImage.Format.Format_RGB32)
            image.fill(QColor("#60a5fa"))
            path = tmp_path / "diagram.png"
            image.save(str(path))
            await attach(tab, [str(path)])
            tab.composer.set_text("What does this diagram show?")
            ts.update_context()

        arun(scene())
        SHOTS.mkdir(parents=True, exist_ok=True)
        out = SHOTS / "chat-settings.png"
        assert tab.grab().save(str(out))
        assert out.stat().st_size > 10_000
        assert len(tab.composer.chip_widgets()) == 1 and ts.panel.isVisible()
    finally:
        arun(tab.aclose())
        tab.close()
        tab.deleteLater()
        qapp.setStyleSheet("")
        theme.deleteLater()
