"""Chat <-> Notes: a `switchboard-note:` citation in a reply survives rendering and, opened as a
URL (what a click in the message view does), shows the Notes tab; "Save as note" on a chat
message saves its text through the real NotesService."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.ui.async_bridge import signal_future
from app.ui.chat.messages.markdown_render import render_markdown


def test_a_note_citation_link_is_kept_by_the_renderer() -> None:
    html = render_markdown("See [1](switchboard-note://42) and [x](javascript:alert(1)).")
    assert 'href="switchboard-note://42"' in html
    assert "javascript:" not in html


def test_opening_a_note_url_shows_the_notes_tab(
    make_window: Any, app_ctx: Any, demo_server: Any, arun: Any
) -> None:
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    window = make_window()
    window.show()
    opened: list[str] = []
    window.notes_tab.open_note_link = lambda url: _record(opened, url)  # type: ignore[method-assign]

    assert QDesktopServices.openUrl(QUrl("switchboard-note://7"))
    assert window.tabs.currentWidget() is window.notes_tab
    arun(_settle())
    # QUrl turned the numeric id into a host address on the way; the link still names hit 7.
    from app.core.notes.citations import parse_note_link

    assert [parse_note_link(url) for url in opened] == ["7"]


async def _record(into: list[str], url: str) -> None:
    into.append(url)


async def _settle() -> None:
    import asyncio

    for _ in range(3):
        await asyncio.sleep(0)


def test_save_as_note_on_a_chat_message(
    make_window: Any, app_ctx: Any, demo_server: Any, arun: Any
) -> None:
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    window = make_window()
    window.show()
    tab = window.chat_tab

    async def scenario() -> Any:
        if not tab.current_model():
            await signal_future(tab.modelsLoaded)
        finished = signal_future(tab.replyFinished)
        tab.composer.set_text("Remember: the VPN keepalive is 25 s")
        assert tab.send()
        reply_id = int(await finished)
        row = tab.message_model.row(tab.message_model.find_row(reply_id))
        from app.ui.chat.messages.message_rules import actions_for

        assert "save_note" in actions_for(row)  # offered in the strip and the context menu
        note = await tab.message_actions.save_as_note(reply_id)
        return row, note

    row, note = arun(scenario(), timeout=20)
    notes = arun(app_ctx.notes.list_notes())
    assert [n.id for n in notes if n.id == note.id] == [note.id]
    assert note.body == row.content
