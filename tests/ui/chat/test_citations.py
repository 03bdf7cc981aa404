"""A thread made by Notes' "Ask about these" shows its replies' bare [n] citations as links to
the hits (the numbering is read back from the thread's system prompt), and a click on one opens
the hit in the Notes tab. Other threads, [n] of no hit, and [n] inside code are left alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextDocument

from app.core.notes.citations import parse_note_link
from app.ui.chat.messages.message_delegate import PAD_X
from app.ui.notes.ask_controller import context_prompt

REPLY = (
    "Keep the tunnel up with a 25 s keepalive [1]. Restart the client when it drops [2].\n\n"
    "There is no note [9].\n\n```python\nkeepalive = settings[1]\n```\n"
)


def _hit(chunk_id: int, title: str) -> Any:
    return SimpleNamespace(
        chunk_id=chunk_id, path=f"/notes/{title}", title=title, heading_path=["VPN"],
        line_start=1, line_end=3, page=None, snippet="", note_id=None,
    )


async def _thread(app_ctx: Any, system_prompt: str) -> int:
    thread = await app_ctx.threads.create_thread(
        "Notes: the VPN", profile_id="demo-openai", model="demo-chat", system_prompt=system_prompt
    )
    user = await app_ctx.threads.add_message(thread.id, None, "user", "How do I keep the VPN up?")
    await app_ctx.threads.add_message(thread.id, user.id, "assistant", REPLY, model="demo-chat")
    return int(thread.id)


def _anchors(doc: QTextDocument) -> list[tuple[str, str, QPoint]]:
    """(text, href, a point inside it in document coordinates) of each link of `doc`."""
    found = []
    block = doc.begin()
    while block.isValid():
        top = doc.documentLayout().blockBoundingRect(block).top()
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isAnchor() and fmt.anchorHref():
                pos = fragment.position() - block.position() + 1
                line = block.layout().lineForTextPosition(pos)
                x = line.cursorToX(pos)
                x = x[0] if isinstance(x, tuple) else x  # (x, position) in PySide6
                point = QPoint(int(x), int(top + line.y() + line.height() / 2))
                found.append((fragment.text(), fmt.anchorHref(), point))
            it += 1
        block = block.next()
    return found


def test_the_numbering_is_read_back_from_the_ask_prompt() -> None:
    from app.core.notes.citations import numbering_from_prompt

    prompt = context_prompt([(_hit(7, "vpn.md"), "a"), (_hit(42, "wifi.md"), "[3] x — link: nope")])
    assert numbering_from_prompt(prompt) == {1: "7", 2: "42"}
    assert numbering_from_prompt("Be brief. [1] see switchboard-note:// maybe") == {}
    assert numbering_from_prompt("") == {}


def test_ask_thread_citations_are_links_that_open_the_hit_in_notes(
    make_window: Any, app_ctx: Any, demo_server: Any, qtbot: Any, arun: Callable[..., Any]
) -> None:
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    window = make_window()
    window.resize(1200, 800)
    window.show()
    opened: list[str] = []

    async def record(url: str) -> None:
        opened.append(url)

    window.notes_tab.open_note_link = record  # type: ignore[method-assign]
    prompt = context_prompt([(_hit(7, "vpn.md"), "keepalive 25"), (_hit(42, "wifi.md"), "restart")])
    tab = window.chat_tab

    async def scenario() -> None:
        thread_id = await _thread(app_ctx, prompt)
        await tab.open_thread(thread_id)

    arun(scenario())
    view = tab.message_view
    view.settle()
    layout = view.row_layout(1)
    assert layout.body is not None and len(layout.body.docs) == 1
    links = _anchors(layout.body.docs[0])
    # [1] and [2] are links to hits 7 and 42; [9] (no such hit) and code are not linked.
    assert [(text, parse_note_link(href)) for text, href, _p in links] == [("[1]", "7"), ("[2]", "42")]
    assert "[9]" in layout.body.docs[0].toPlainText()
    assert "settings[1]" in layout.body.docs[0].toPlainText()

    # A click on [2] opens the hit in the Notes tab (the main window's URL handler).
    index = tab.message_model.index(1, 0)
    view.scrollTo(index)
    view.settle()
    point = view.visualRect(index).topLeft() + QPoint(PAD_X, layout.body_y) + links[1][2]
    assert view.message_delegate.hit_test(tab.message_model.row(1), view.palette(), point - view.visualRect(index).topLeft()) == ("link", 0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.tabs.currentWidget() is window.notes_tab
    arun(_turns())
    assert [parse_note_link(url) for url in opened] == ["42"]


def test_other_threads_keep_bare_brackets(
    qtbot: Any, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    from tests.ui.chat.helpers import open_tab

    async def scenario() -> Any:
        tab = await open_tab(app_ctx, qtbot)
        thread_id = await _thread(app_ctx, "Be brief.")
        await tab.open_thread(thread_id)
        return tab

    tab = arun(scenario())
    try:
        tab.message_view.settle()
        layout = tab.message_view.row_layout(1)
        assert layout.body is not None
        assert _anchors(layout.body.docs[0]) == []
        assert "[1]" in layout.body.docs[0].toPlainText()
    finally:
        arun(tab.aclose())


async def _turns() -> None:
    import asyncio

    for _ in range(3):
        await asyncio.sleep(0)


