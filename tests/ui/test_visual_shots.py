"""Screenshots for docs/VISUAL.md: the chat tab with a conversation and the settings dialog, light
and dark, at 1600x1000 and at the window's minimum size. Saved to artifacts/screenshots/visual/
(gitignored); the chosen ones are copied into docs/visual/ by hand after looking at them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.ui.async_bridge import signal_future
from tests.ui.test_screenshots import OUT, pixel_stddev, theme  # noqa: F401  (the theme fixture)

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
    for size, (w, h) in SIZES.items():
        window.resize(w, h)
        tab.message_view.scrollToBottom()
        tab.message_view.settle()
        _save(window, f"chat-{size}-{theme}")
    window.resize(*SIZES["wide"])
    tab.thread_settings.toggle_button.click()
    _save(window, f"chat-thread-settings-{theme}")
    window.resize(*SIZES["min"])
    _save(window, f"chat-thread-settings-min-{theme}")

