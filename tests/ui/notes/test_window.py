"""The Notes tab inside the main window: built on first show, "Ask about these" opens the thread
in the chat tab and sends the question there (the real ChatService and loopback demo server),
a citation link comes back to the Notes tab, "Save as note" from the window, staged close."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from app.ui.async_bridge import signal_future
from tests.ui.notes.helpers import until


def _demo_window(make_window: Any, app_ctx: Any, demo_server: Any, service: Any) -> Any:
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    app_ctx.notes = service  # what app.main's build_context provides once the core lands
    return make_window()


def test_notes_tab_in_the_window_ask_in_chat_and_citation_back(
    make_window: Any,
    app_ctx: Any,
    demo_server: Any,
    fake_service: Any,
    notes_folder: Path,
    arun: Any,
) -> None:
    window = _demo_window(make_window, app_ctx, demo_server, fake_service)
    window.show()
    host = window.notes_tab
    assert host.tab is None  # nothing built until the tab is opened

    async def scenario() -> Any:
        built = signal_future(host.tabBuilt)
        window.tabs.setCurrentWidget(host)
        await built
        tab = host.tab
        await tab.loaded
        await fake_service.add_folder(notes_folder)
        hits = await tab.search.search("vpn evening", "keyword")
        chat = window.chat_tab
        finished = signal_future(chat.replyFinished)
        tab.search_bar.query_edit.setText("Why does my VPN drop at night?")
        tab.search_bar.ask_button.click()
        reply_id = await finished
        assert reply_id > 0
        assert window.tabs.currentWidget() is window.chat_stack
        thread = await app_ctx.threads.get_thread(chat.current_thread_id)
        assert thread.title.startswith("Notes: Why does my VPN drop")
        assert f"switchboard-note://{hits[0].chunk_id}" in thread.system_prompt
        assert thread.profile_id == "demo-openai" and thread.model == "demo-chat"
        path = await app_ctx.threads.path_to(reply_id)
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[0].content == "Why does my VPN drop at night?"
        assert path[1].status == "complete" and path[1].content
        # The chat view routes a clicked citation to the window, which shows it in Notes.
        shown = signal_future(tab.search.previewShown)
        window.open_note_link(f"switchboard-note://{hits[0].chunk_id}")
        preview = await shown
        assert window.tabs.currentWidget() is host
        assert preview.hit.chunk_id == hits[0].chunk_id
        note = await window.save_as_note("From chat", path[1].content)
        assert fake_service.notes[note.id].body == path[1].content
        await until(tab.notes_editor.notesLoaded, lambda: bool(tab.notes_list.notes))
        return tab

    tab = arun(scenario(), timeout=20)
    assert [n.title for n in tab.notes_list.notes] == ["From chat"]
