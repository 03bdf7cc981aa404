"""Per-message actions against a real DemoServer: regenerate, versions `‹ i/n ›`, edit & resend,
delete a branch, copy (message and code block), the reasoning toggle and the context menu.

Clicks go to the painted controls through the view's viewport (the delegate's hit-testing);
keys go to the view with a row selected. Everything is awaited through signals.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.messages.message_model import ChatRow
from app.ui.chat.messages.message_rules import (
    actions_for,
    can_continue,
    delete_question,
    sibling_positions,
    subtree_size,
)
from app.ui.context import AppContext
from tests.ui.chat.helpers import click, open_tab, select_row, send_and_wait, strip_rect

# --- helpers shared with test_streaming_view.py ---------------------------------------------------












async def answer_confirm(tab: ChatTab, yes: bool) -> str:
    """Wait for the confirmation box (shown with open()), answer it, return its question."""
    box = None
    while box is None or not box.isVisible():
        await asyncio.sleep(0)
        box = tab.findChild(QMessageBox, "confirmBox")
    question = f"{box.text()} {box.informativeText()}"
    buttons = {b.text(): b for b in box.buttons()}
    buttons["Delete" if yes else "Cancel"].click()
    return question


# --- pure rules ------------------------------------------------------------------------------------


def test_action_rules() -> None:
    user = ChatRow(id=3, role="user", content="hi", parent_id=None)
    reply = ChatRow(id=4, role="assistant", content="text", parent_id=3)
    assert actions_for(user) == ["copy", "save_note", "edit", "delete"]
    assert actions_for(reply) == ["copy", "save_note", "regenerate", "delete"]
    assert actions_for(ChatRow(id=5, role="assistant", status="streaming", parent_id=3)) == []
    assert actions_for(ChatRow(id=-1, role="user", content="unsaved")) == ["copy"]
    cut = ChatRow(id=6, role="assistant", content="abc", parent_id=3, finish_reason="length")
    assert can_continue(cut) and "continue" in actions_for(cut)
    assert can_continue(ChatRow(id=7, role="assistant", content="ab", parent_id=3, status="interrupted"))
    assert not can_continue(ChatRow(id=8, role="assistant", content="", parent_id=3, status="error"))
    assert not can_continue(ChatRow(id=9, role="assistant", content="done", parent_id=3))

    class M:
        def __init__(self, id: int, parent_id: int | None) -> None:
            self.id, self.parent_id = id, parent_id

    tree = [M(1, None), M(2, 1), M(3, 1), M(4, 3), M(5, 4), M(6, None)]
    positions = sibling_positions(tree)
    assert positions[2] == (0, 2) and positions[3] == (1, 2)
    assert positions[1] == (0, 2) and positions[6] == (1, 2) and positions[5] == (0, 1)
    assert subtree_size(tree, 3) == 3 and subtree_size(tree, 99) == 0
    question, details = delete_question(ChatRow(id=3, role="user", sibling_count=2), 3)
    assert question == "Delete your message and the 2 messages below it?"
    assert details.startswith("3 messages will be deleted") and "other versions" in details


# --- regenerate and versions -----------------------------------------------------------------------


def test_regenerate_by_click_makes_a_version_and_arrows_switch_between_them(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            first = await send_and_wait(tab, "Explain Python generators")
            assert not model.row(1).has_siblings
            assert view.row_layout(1).nav_rect is None  # no navigator on an only child

            # Regenerate from the painted strip (mouse).
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            select_row(view, 1)
            click(qtbot, view, 1, strip_rect(view, 1, "regenerate"))
            assert tab.is_streaming
            second = await finished
            await refreshed
            assert second != first and model.rowCount() == 2
            row = model.row(1)
            assert row.id == second and (row.sibling_index, row.sibling_count) == (1, 2)
            layout = view.row_layout(1)
            assert layout.nav_text == "2/2" and layout.nav_prev is not None
            assert await app_ctx.chat.sibling_position(second) == (1, 2)

            # Alt+Left on the selected reply shows the first version (keyboard).
            reloaded = signal_future(tab.message_actions.pathReloaded)
            select_row(view, 1)
            qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
            await reloaded
            assert model.row(1).id == first and model.row(1).sibling_index == 0
            assert view.row_layout(1).nav_text == "1/2"
            assert view.currentIndex().row() == 1
            stored = await app_ctx.threads.current_path(tab.current_thread_id or 0)
            assert [m.id for m in stored][-1] == first  # the choice is remembered

            # Alt+Left on the first version does nothing; the painted › goes forward again.
            assert not tab.message_actions.trigger("prev", first)
            reloaded = signal_future(tab.message_actions.pathReloaded)
            layout = view.row_layout(1)
            assert layout.nav_next is not None
            click(qtbot, view, 1, layout.nav_next)
            await reloaded
            assert model.row(1).id == second
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_actions_refuse_while_streaming_and_say_what_to_do(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        messages: list[str] = []
        app_ctx.events.statusMessage.connect(messages.append)
        try:
            first = await send_and_wait(tab, "Hello")
            app_ctx.demo.token_rate = 40.0
            started = signal_future(tab.replyStarted)
            tab.composer.set_text("Please write 300 tokens about hills")
            assert tab.send()
            await started
            assert not tab.message_actions.trigger("regenerate", first)
            assert not tab.message_actions.trigger("delete", first)
            assert messages and "Stop it first (Esc)" in messages[-1]
            finished = signal_future(tab.replyFinished)
            tab.stop()
            await finished
        finally:
            app_ctx.events.statusMessage.disconnect(messages.append)
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- edit & resend ---------------------------------------------------------------------------------


def test_edit_and_resend_opens_a_prefilled_panel_and_makes_a_branch(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        panel = tab.message_actions.edit_panel
        try:
            await send_and_wait(tab, "What is a closure?")
            original_user = model.row(0).id

            # F2 on the selected user message opens the non-modal editor, pre-filled.
            select_row(view, 0)
            qtbot.keyClick(view, Qt.Key.Key_F2)
            assert panel.isVisible() and panel.text == "What is a closure?"
            assert panel.edit.hasFocus()
            assert panel.save_button.accessibleName() == "Save and resend"

            # Esc cancels without sending.
            qtbot.keyClick(panel.edit, Qt.Key.Key_Escape)
            assert not panel.isVisible() and not tab.is_streaming

            # The Edit pill opens it again; Ctrl+Enter saves & resends.
            click(qtbot, view, 0, strip_rect(view, 0, "edit"))
            assert panel.isVisible()
            panel.edit.setPlainText("What is a closure in JavaScript?")
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            qtbot.keyClick(panel.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            assert not panel.isVisible() and tab.is_streaming
            reply = await finished
            await refreshed
            assert [r.role for r in model.rows] == ["user", "assistant"]
            assert model.row(0).content == "What is a closure in JavaScript?"
            assert model.row(0).id != original_user
            assert (model.row(0).sibling_index, model.row(0).sibling_count) == (1, 2)
            assert model.row(1).id == reply and model.row(1).status == "complete"
            siblings = await app_ctx.threads.siblings(original_user)
            assert [m.content for m in siblings] == ["What is a closure?", "What is a closure in JavaScript?"]

            # The original question and its answer are one ‹ away.
            reloaded = signal_future(tab.message_actions.pathReloaded)
            assert tab.message_actions.trigger("prev", model.row(0).id)
            await reloaded
            assert model.row(0).id == original_user and model.rowCount() == 2
            assert model.row(1).status == "complete"
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_empty_edit_is_refused_with_a_reason(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        panel = tab.message_actions.edit_panel
        try:
            await send_and_wait(tab, "Short question")
            assert tab.message_actions.trigger("edit", tab.message_model.row(0).id)
            panel.edit.setPlainText("   ")
            assert not panel.save_button.isEnabled()
            panel.save()
            assert "empty" in panel.error_label.text() and panel.error_label.isVisible()
            assert not tab.is_streaming
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- delete a branch ------------------------------------------------------------------------------


def test_delete_asks_how_many_go_then_shows_the_remaining_version(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            first = await send_and_wait(tab, "Name a colour")
            await send_and_wait(tab, "And another one")
            assert model.rowCount() == 4

            # Deleting the first reply takes the 2 messages below it too: the box says so.
            deleted = signal_future(tab.message_actions.branchDeleted)
            select_row(view, 1)
            qtbot.keyClick(view, Qt.Key.Key_Delete)
            question = await answer_confirm(tab, yes=False)
            assert "the 2 messages below it" in question and "3 messages will be deleted" in question
            assert await deleted == 0
            assert model.rowCount() == 4

            # Make a second version, then delete it: the first version comes back, navigator gone.
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            assert tab.message_actions.trigger("regenerate", first)
            second = await finished
            await refreshed
            assert model.rowCount() == 2 and model.row(1).sibling_count == 2

            deleted = signal_future(tab.message_actions.branchDeleted)
            click(qtbot, view, 1, strip_rect(view, 1, "delete"))
            question = await answer_confirm(tab, yes=True)
            assert question.startswith("Delete this reply?") and "other versions" in question
            assert await deleted == 1
            assert await app_ctx.threads.get_message(second) is None
            assert [r.id for r in model.rows][1] == first and model.rowCount() == 4
            assert not any(r.has_siblings for r in model.rows)
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


# --- copy -----------------------------------------------------------------------------------------


def test_copy_message_and_each_code_block(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot, (1000, 900))
        view, model = tab.message_view, tab.message_model
        clipboard = QGuiApplication.clipboard()
        try:
            await send_and_wait(tab, "How do I read a file in Python?")
            reply = model.row(1)

            # Ctrl+C on the selected reply copies its markdown source.
            select_row(view, 1)
            qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
            assert clipboard.text() == reply.content and "```python" in clipboard.text()

            # The painted "Copy" on the code block copies the raw code, not highlighted HTML.
            fenced = re.findall(r"```[a-z]*\n(.*?)\n```", reply.content, re.DOTALL)
            layout = view.row_layout(1)
            assert len(layout.code_blocks) == len(fenced) >= 1
            assert len(layout.code_copy_rects) == len(fenced)
            clipboard.setText("")
            copied = signal_future(view.codeCopied)
            click(qtbot, view, 1, layout.code_copy_rects[0])
            assert await copied == (reply.id, 0)
            assert clipboard.text() == fenced[0]
            assert "<span" not in clipboard.text()
            assert view.message_delegate.copied == (reply.id, 0)  # the label says "Copied ✓"

            # The Copy pill of the strip copies the whole message too.
            clipboard.setText("")
            click(qtbot, view, 1, strip_rect(view, 1, "copy"))
            assert clipboard.text() == reply.content
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_code_blocks_are_found_in_a_rendered_document(qapp: Any) -> None:
    from PySide6.QtGui import QFont

    from app.ui.chat.messages.documents import code_blocks_in, new_document
    from app.ui.chat.messages.markdown_render import render_markdown

    text = (
        "Intro\n\n```python\ndef f(x):\n    return  x * 2  # two  spaces\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nplain <b>not html</b> &amp;\n```\n"
    )
    for dark in (False, True):
        doc = new_document(QFont(), qapp.palette())
        doc.setHtml(render_markdown(text, dark=dark))
        doc.setTextWidth(600)
        blocks = code_blocks_in(doc, dark)
        assert [b.code for b in blocks] == [
            "def f(x):\n    return  x * 2  # two  spaces",
            "plain <b>not html</b> &amp;",
        ]  # the markdown table is not a code block
        assert blocks[0].rect.bottom() < blocks[1].rect.top()


# --- reasoning and the context menu -------------------------------------------------------------


def test_reasoning_is_collapsed_and_toggles_by_click_and_space(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            tab.set_model("demo-reasoner")
            await send_and_wait(tab, "Why is the sky blue?")
            row = model.row(1)
            words = len(row.reasoning.split())
            assert words > 0 and not row.reasoning_expanded
            layout = view.row_layout(1)
            assert layout.reasoning_label == f"▸ Reasoning · {words:,} words"
            assert layout.reasoning_doc is None and layout.reasoning_toggle is not None
            collapsed_height = layout.height

            click(qtbot, view, 1, layout.reasoning_toggle)
            layout = view.row_layout(1)
            assert model.row(1).reasoning_expanded and layout.reasoning_label.startswith("▾ Reasoning")
            assert layout.reasoning_doc is not None and layout.height > collapsed_height

            select_row(view, 1)
            qtbot.keyClick(view, Qt.Key.Key_Space)
            assert not model.row(1).reasoning_expanded
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)


def test_context_menu_offers_the_actions_with_their_keys(
    qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        view, model = tab.message_view, tab.message_model
        try:
            first = await send_and_wait(tab, "Give me a tip")
            user_menu = view.context_menu(0)
            user_items = {a.text(): a.shortcut().toString() for a in user_menu.actions() if a.text()}
            assert user_items["&Edit and resend…"] == "F2"
            assert user_items["&Copy text"] == "Ctrl+C"
            assert "&Delete…" in user_items and "Re&generate" not in user_items
            user_menu.deleteLater()

            menu = view.context_menu(1)
            items = {a.text(): a for a in menu.actions() if a.text()}
            assert items["Re&generate"].shortcut().toString() == "Ctrl+Shift+R"
            assert "Copy code block &1" in items
            assert menu.accessibleName() == "Message actions"

            # Triggering the menu's Regenerate streams a new version.
            refreshed = signal_future(tab.message_actions.siblingsRefreshed)
            finished = signal_future(tab.replyFinished)
            items["Re&generate"].trigger()
            assert await finished != first
            await refreshed
            menu.deleteLater()
            menu = view.context_menu(1)
            nav = {a.text(): a for a in menu.actions() if a.text()}
            assert nav["&Previous version"].isEnabled() and not nav["&Next version"].isEnabled()
            assert nav["&Previous version"].shortcut().toString() == "Alt+Left"
            assert model.row(1).accessible_text().endswith("Version 2 of 2")
            menu.deleteLater()
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)
