"""Screenshots for docs/VISUAL.md: the chat tab with a conversation and the settings dialog, light
and dark, at 1600x1000 and at the window's minimum size. Saved to artifacts/screenshots/visual/
(gitignored); the chosen ones are copied into docs/visual/ by hand after looking at them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.ui.async_bridge import signal_future
from tests.ui.helpers import SHOTS as OUT
from tests.ui.helpers import pixel_stddev

SIZES = {"wide": (1600, 1000), "min": (720, 480)}


def _save(widget: Any, name: str) -> None:
    out = OUT / "visual"
    out.mkdir(parents=True, exist_ok=True)
    image = widget.grab().toImage()
    assert image.save(str(out / f"{name}.png"), "PNG")
    assert pixel_stddev(image) > 8, f"{name} looks blank"


def test_chat_tab_and_settings_shots(theme: str, window: Any, app_ctx: Any, arun: Callable[..., Any]) -> None:  # noqa: F811
    window.resize(*SIZES["wide"])
    window.show()

    async def demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed
        tab = window.chat_tab
        await signal_future(tab.threadsReloaded)
        for text in ("How do I read a file in Python?", "And write one?"):
            finished = signal_future(tab.replyFinished)
            tab.composer.set_text(text)
            assert tab.send()
            await finished

    arun(demo())
    tab = window.chat_tab
    # The last reply selected: its action strip (icon buttons) shows, as on hover.
    last = tab.message_model.index(tab.message_model.rowCount() - 1, 0)
    tab.message_view.setCurrentIndex(last)
    for size, (w, h) in SIZES.items():
        window.resize(w, h)
        tab.message_view.scrollToBottom()
        tab.message_view.settle()
        _save(window, f"chat-{size}-{theme}")
    window.resize(*SIZES["wide"])
    tab.thread_settings.toggle_button.click()
    window.grab()  # lays out the new widths
    tab.message_view.settle()
    _save(window, f"chat-thread-settings-{theme}")
    window.resize(*SIZES["min"])
    window.grab()
    tab.message_view.settle()
    _save(window, f"chat-thread-settings-min-{theme}")



def test_settings_dialog_shots_and_button_roles(
    theme: str, app_ctx: Any, arun: Callable[..., Any]  # noqa: F811
) -> None:
    from PySide6.QtWidgets import QPushButton

    from app.ui.demo_session import activate_demo
    from app.ui.settings_dialog import SettingsDialog

    arun(activate_demo(app_ctx))

    async def build() -> SettingsDialog:
        dlg = SettingsDialog(app_ctx)
        await dlg.refresh()
        return dlg

    dlg = arun(build())
    try:
        dlg.resize(1000, 700)
        dlg.show()
        dlg.add_from_preset("openai")
        # One primary action (Save), the rest secondary; Save is never the default button.
        roles = {b.text(): b.property("role") for b in dlg.findChildren(QPushButton) if b.text()}
        assert roles["&Save"] == "primary" and not dlg.save_button.isDefault()
        assert {r for t, r in roles.items() if t not in ("&Save", "Add this provider")} == {"secondary"}
        assert dlg.keychain_badge.isVisibleTo(dlg) and dlg.keychain_badge.property("role") == "badge"
        _save(dlg, f"settings-{theme}")
        dlg.select_profile(dlg.profiles()[0].id)
        assert dlg.demo_badge.isVisibleTo(dlg)
        assert dlg.active_badge.isVisibleTo(dlg) == (dlg.profiles()[0].id == app_ctx.active_profile_id)
        dlg.resize(dlg.minimumSizeHint())
        _save(dlg, f"settings-min-{theme}")
    finally:
        arun(dlg.aclose())
        dlg.close()
        dlg.deleteLater()
