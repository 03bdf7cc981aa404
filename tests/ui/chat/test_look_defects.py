"""First-use defects of issue 9 fixed with its visual language: Continue after Stop inside a
code block, the last message at the minimum window size, attachment chip icons, and the Thread
settings panel at its narrowest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat.composer.attachments import Attachment
from app.ui.chat.composer.composer import AttachmentChip
from app.ui.chat.thread_settings import panel_sizes
from app.ui.context import AppContext
from tests.ui.chat.helpers import send_and_wait

MIN_SIZE = (720, 480)  # MainWindow.setMinimumSize



def _inside(widget: QWidget, outer: QWidget) -> bool:
    """Whether the whole of `widget` lies inside `outer` (nothing cut off at an edge)."""
    top_left = widget.mapTo(outer, QPoint(0, 0))
    return outer.rect().contains(top_left) and outer.rect().contains(
        top_left + QPoint(widget.width() - 1, widget.height() - 1)
    )


# --- attachment chips: an icon, not an emoji -------------------------------------------------


def test_a_text_attachment_chip_shows_an_icon_not_an_emoji(qtbot: QtBot) -> None:
    chip = AttachmentChip(Attachment(name="notes.txt", kind="text", mime="text/plain", data=b"hello", text="hello"))
    qtbot.addWidget(chip)
    mark = chip.findChild(QLabel, "attachmentPreview")
    assert mark is not None
    assert mark.text() == ""  # the bundled fonts have no 📄: it drew a missing-glyph box
    pixmap = mark.pixmap()
    assert not pixmap.isNull()
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    inked = sum(1 for y in range(image.height()) for x in range(image.width()) if image.pixelColor(x, y).alpha() > 0)
    assert inked > 20  # the SVG was found and drawn
    assert chip.remove_button.text() == "" and not chip.remove_button.icon().isNull()
    assert chip.remove_button.accessibleName() == "Remove attachment notes.txt"


# --- the Thread settings panel at the smallest window ----------------------------------------


def test_panel_sizes_never_exceed_the_splitter() -> None:
    assert panel_sizes([160, 556, 0], 334, 150) == [160, 220, 336]
    assert sum(panel_sizes([160, 556, 0], 334, 150)) == 716
    assert panel_sizes([160, 400, 0], 334, 150) == [150, 76, 334]  # the sidebar gives way first
    assert panel_sizes([200, 1400, 0], 300, 150) == [200, 1060, 340]


def test_thread_settings_panel_fits_the_minimum_window(
    make_window: Callable[..., Any], app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    window = make_window()
    window.resize(*MIN_SIZE)
    window.show()

    async def demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed

    arun(demo())
    tab = window.chat_tab
    tab.thread_settings.toggle_button.click()
    window.grab()  # lays everything out
    panel = tab.thread_settings.panel
    assert panel.isVisible()
    assert _inside(panel, window), "the panel runs off the window's right edge"
    assert _inside(panel.close_button, window)
    body = panel.scroll_area.widget()
    viewport = panel.scroll_area.viewport()
    assert body.width() <= viewport.width(), "the form is cut at the right (the spin boxes)"
    for spin in panel.params_form.findChildren(QWidget):
        if spin.isVisible() and spin.metaObject().className() in ("QSpinBox", "QDoubleSpinBox"):
            left = spin.mapTo(viewport, QPoint(0, 0)).x()  # (lower ones are scrolled to, not cut)
            assert 0 <= left and left + spin.width() <= viewport.width(), spin.objectName()
    # The header elides instead of clipping.
    title = panel.title_label
    title.resize(40, title.height())
    assert title.shown_text().endswith("…") and title.text() == "Thread settings"
    assert title.toolTip() == "Thread settings"
    window.close()


# --- the last message at the minimum window size --------------------------------------------


def _wheel(widget: QWidget, at: QPoint, notches: int) -> None:
    """One wheel turn of `notches` (negative: towards the end) at `at` in `widget`."""
    pos = QPointF(at)
    event = QWheelEvent(
        pos, QPointF(widget.mapToGlobal(at)), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(widget, event)


def test_the_last_message_scrolls_into_view_at_the_minimum_window_size(
    make_window: Callable[..., Any], app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    window = make_window()
    window.resize(*MIN_SIZE)
    window.show()

    async def demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed
        for text in ("How do I read a file in Python?", "And write one?"):
            await send_and_wait(window.chat_tab, text)

    arun(demo())
    view = window.chat_tab.message_view
    window.grab()
    view.settle()
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.isVisible(), "taller than the view, yet no scroll bar"
    view.scrollToBottom()
    view.settle()
    last = view.visualRect(view.message_model().index(view.message_model().rowCount() - 1, 0))
    assert last.bottom() <= view.viewport().height(), "the last message is clipped"
    # The wheel scrolls, over the messages and beside them (the margins of the reading column).
    for target, at in ((view.viewport(), view.viewport().rect().center()), (view, QPoint(2, view.height() // 2))):
        bar.setValue(bar.maximum())
        _wheel(target, at, 3)
        assert bar.value() < bar.maximum(), f"the wheel did not scroll over {target.objectName() or 'the view'}"
    window.close()


def test_a_streamed_reply_reflows_after_a_resize_and_back(
    make_window: Callable[..., Any], app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    """Found on the screenshots: wide, minimum, wide again; the last (streamed) reply kept the
    narrow body inside the wide layout, its footer drawn over its last line."""
    window = make_window()
    window.resize(1600, 1000)
    window.show()

    async def demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed
        await send_and_wait(window.chat_tab, "How do I read a file in Python?")

    arun(demo())
    view = window.chat_tab.message_view
    last = view.message_model().rowCount() - 1
    for size in ((1600, 1000), MIN_SIZE, (1600, 1000), MIN_SIZE):
        window.resize(*size)
        window.grab()
        view.settle()
        layout = view.row_layout(last)
        assert layout.body is not None
        assert layout.body.width() == view.message_delegate.content_width(), size
        assert layout.body_y + layout.body.height() < layout.height, "the footer overlaps the body"
    window.close()
