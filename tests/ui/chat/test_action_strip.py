"""The message action strip: flat icon buttons (docs/VISUAL.md), each with a tooltip naming its
key, the actions in words for screen readers, the one under the pointer framed, in both themes;
the keys still do every action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat.messages.message_delegate import STRIP_BUTTON, STRIP_ICONS
from app.ui.chat.messages.message_rules import ACTION_LABELS, actions_for
from app.ui.chat.messages.row_text import tooltip
from app.ui.context import AppContext
from app.ui.style import icon
from tests.ui.chat.helpers import open_tab, select_row, send_and_wait
from tests.ui.helpers import SHOTS, save_grab


def test_every_action_has_a_shipped_icon_and_a_tooltip(qapp: Any) -> None:
    for action in ACTION_LABELS:
        assert action in STRIP_ICONS, action
        assert not icon(STRIP_ICONS[action]).isNull(), f"resources/icons/{STRIP_ICONS[action]}.svg"
        assert tooltip(action), action


def test_the_strip_is_icon_buttons_with_keys_and_words(
    qtbot: QtBot, theme: str, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            reply = await send_and_wait(tab, "Explain closures in Python")
            select_row(view, 1)
            row = model.row(1)
            layout = view.row_layout(1)
            actions = [a for a, _ in layout.strip]
            assert actions == actions_for(row) and "copy" in actions and "delete" in actions
            # Square icon buttons in a row at the header's right end, not text pills.
            for _action, rect in layout.strip:
                assert (rect.width(), rect.height()) == (STRIP_BUTTON, STRIP_BUTTON)
            rights = [rect.right() for _a, rect in layout.strip]
            assert rights == sorted(rights)

            # Each button paints its icon (something other than the row's background there).
            top_left = view.visualRect(model.index(1, 0)).topLeft()
            image = view.viewport().grab().toImage()
            ratio = image.devicePixelRatio()
            background = image.pixelColor(
                int((top_left.x() + layout.strip[0][1].left() - 8) * ratio),
                int((top_left.y() + layout.strip[0][1].center().y()) * ratio),
            )
            for action, rect in layout.strip:
                centre = top_left + rect.center()
                inked = [
                    image.pixelColor(int((centre.x() + dx) * ratio), int((centre.y() + dy) * ratio))
                    for dx in range(-6, 7) for dy in range(-6, 7)
                ]
                assert any(_differs(c, background) for c in inked), f"{action} painted no icon ({theme})"

            # Hovering a button frames it and its tooltip names what it does and its key.
            copy_rect = dict(layout.strip)["copy"]
            qtbot.mouseMove(view.viewport(), top_left + copy_rect.center())
            assert view.message_delegate.hovered_action == (1, "copy")
            assert tooltip("copy").endswith("(Ctrl+C)")
            qtbot.mouseMove(view.viewport(), top_left + QPoint(40, 40))
            assert view.message_delegate.hovered_action is None

            # A screen reader gets the actions in words.
            words = model.data(model.index(1, 0), Qt.ItemDataRole.AccessibleDescriptionRole)
            assert "Copy (Ctrl+C)" in words and "Delete (Del)" in words

            # The keys still do every action on the selected message.
            requested = signal_future(view.actionRequested)
            qtbot.keyClick(view, Qt.Key.Key_F2)
            assert await requested == ("edit", reply)

            save_grab(view, SHOTS / "chat", f"action-strip-{theme}", min_bytes=5_000, process_events=False)
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def _differs(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) > 60


