"""The Images tab inside the main window: built on first show, closed in the staged shutdown,
and "Send to chat" lands in the chat composer as an attachment."""

from __future__ import annotations

from typing import Any

from app.ui.async_bridge import signal_future
from tests.ui.images.helpers import generate, until


def test_images_tab_in_the_window_and_send_to_chat(
    make_window: Any, app_ctx: Any, arun: Any
) -> None:
    window = make_window()
    window.show()
    host = window.images_tab
    assert host.tab is None  # nothing built until the tab is opened

    async def scenario() -> None:
        built = signal_future(host.tabBuilt)
        window.tabs.setCurrentWidget(host)
        await built
        tab = host.tab
        await generate(tab, "a postcard of the sea")
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == 1)
        shown = signal_future(tab.detailShown)
        tab.gallery.openRequested.emit(tab.model.item(0).id)
        await shown
        composer = window.chat_tab.composer
        changed = signal_future(composer.attachmentsChanged)
        tab.detail.send_button.click()
        await changed
        assert window.tabs.currentWidget() is window.chat_stack
        assert [(a.kind, a.mime) for a in composer.attachments] == [("image", "image/png")]

    arun(scenario(), timeout=20)
