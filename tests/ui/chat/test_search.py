"""Search from the sidebar: debounced box, ranked hits with safe highlights, empty state, Esc,
opening a hit on another branch; and artifacts/screenshots/chat-search.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.store.records import SearchHit
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.sidebar.search_panel import DEBOUNCE_MS, HIT_ROLE, hit_html, lead_in
from app.ui.context import AppContext
from tests.ui.chat.helpers import activate, make_tab

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


def _open(qtbot: QtBot, ctx: AppContext, arun: Callable[..., Any], size: tuple[int, int] = (1000, 640)) -> ChatTab:
    tab = arun(make_tab(ctx))
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    arun(activate(tab))
    return tab


async def _seed(ctx: AppContext) -> dict[str, int]:
    """Threads about cooking and code; one thread has two alternative replies (a branch)."""
    t = ctx.threads
    soup = await t.create_thread("Tomato soup")
    u = await t.add_message(soup.id, None, "user", "How do I make a quick tomato soup?")
    await t.add_message(soup.id, u.id, "assistant", "Roast the tomatoes with garlic, then blend with stock.")
    code = await t.create_thread("Python sorting")
    q = await t.add_message(code.id, None, "user", "Sort a list of dicts by key <b>not bold</b>")
    old = await t.add_message(code.id, q.id, "assistant", "Use sorted(items, key=itemgetter('name')) — the tomato way.")
    new = await t.add_message(code.id, q.id, "assistant", "Use sorted with a lambda as the key.")
    return {"soup": soup.id, "code": code.id, "old_reply": old.id, "new_reply": new.id, "question": q.id}


async def _search(tab: ChatTab, text: str) -> tuple[str, int]:
    done = signal_future(tab.sidebar.searchFinished)
    box = tab.thread_list.search_box
    box.setFocus()
    box.clear()
    QtBot.keyClicks(box, text)
    # Typing is debounced: one search after the pause, not one per key.
    assert box.debounce_timer.isActive() and box.debounce_timer.interval() == DEBOUNCE_MS
    return await done


def test_typing_searches_and_shows_highlighted_hits(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    ids = arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        finished: list[tuple[str, int]] = []
        tab.sidebar.searchFinished.connect(lambda q, n: finished.append((q, n)))
        assert arun(_search(tab, "tomato")) == ("tomato", 3)
        assert finished == [("tomato", 3)]  # one search for six key presses
        assert sidebar.searching and sidebar.stack.currentWidget() is sidebar.results
        hits: list[SearchHit] = sidebar.results.model.hits()
        assert {h.thread_id for h in hits} == {ids["soup"], ids["code"]}
        assert all("\ue000" in h.snippet for h in hits)
        first = sidebar.results.model.index(0, 0)
        assert first.data(HIT_ROLE) is hits[0]
        markup = hit_html(hits[0])
        assert "<mark>" not in markup and "background-color" in markup
    finally:
        arun(tab.aclose())


def test_hit_markup_is_escaped(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    try:
        assert arun(_search(tab, "bold")) == ("bold", 1)
        hit = tab.thread_list.results.model.hit(0)
        markup = hit_html(hit)
        # The message's own tags are text, never markup; only our highlight spans are markup.
        assert "&lt;b&gt;not" in markup and "<b>not" not in markup
        assert markup.count("<span") == 2  # the role prefix and one highlighted word
    finally:
        arun(tab.aclose())


def test_long_lead_in_is_cut_so_the_match_shows() -> None:
    snippet = "Try the famous places near the station for tsukemen and \ue000ramen\ue001 bowls"
    cut = lead_in(snippet, lead=20)
    assert cut.startswith("…") and cut.endswith("\ue000ramen\ue001 bowls")
    assert cut.index("\ue000") <= 22
    assert lead_in("short \ue000hit\ue001 here") == "short \ue000hit\ue001 here"


def test_no_match_shows_an_empty_state_and_esc_returns(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        assert arun(_search(tab, "zeppelin")) == ("zeppelin", 0)
        assert sidebar.results.is_empty_state()
        assert sidebar.results.empty.text().startswith("No messages match “zeppelin”.")
        QtBot.keyClick(sidebar.search_box, Qt.Key.Key_Escape)
        assert sidebar.search_box.text() == "" and not sidebar.searching
        assert sidebar.stack.currentWidget() is sidebar.list
    finally:
        arun(tab.aclose())


def test_ctrl_k_and_ctrl_f_focus_the_search_box(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    tab = _open(qtbot, app_ctx, arun)
    try:
        # Ctrl+F from anywhere in the tab; Ctrl+K from outside text fields (in a text field on
        # Linux, Ctrl+K is the standard "delete to the end of the line").
        for key, start in ((Qt.Key.Key_F, tab.composer.edit), (Qt.Key.Key_K, tab.message_view),
                           (Qt.Key.Key_K, tab.thread_list.list)):
            start.setFocus()
            assert not tab.thread_list.search_box.hasFocus()
            QtBot.keyClick(start, key, Qt.KeyboardModifier.ControlModifier)
            assert tab.thread_list.search_box.hasFocus(), (key, start)
    finally:
        arun(tab.aclose())


def test_choosing_a_hit_on_another_branch_opens_it_there(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    ids = arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    sidebar = tab.thread_list
    try:
        # The code thread shows its newest reply; the tomato one is the older alternative.
        path = arun(app_ctx.threads.current_path(ids["code"]))
        assert path[-1].id == ids["new_reply"]
        arun(_search(tab, "itemgetter"))
        assert sidebar.results.model.hit(0).message_id == ids["old_reply"]

        async def choose_with_enter() -> int:
            revealed = signal_future(tab.sidebar.hitRevealed)
            QtBot.keyClick(sidebar.search_box, Qt.Key.Key_Return)
            return await revealed

        assert arun(choose_with_enter()) == ids["old_reply"]
        assert tab.current_thread_id == ids["code"]
        assert [r.id for r in tab.message_model.rows] == [ids["question"], ids["old_reply"]]
        current = tab.message_view.currentIndex()
        assert current.isValid() and tab.message_model.row(current.row()).id == ids["old_reply"]
        assert arun(app_ctx.threads.current_path(ids["code"]))[-1].id == ids["old_reply"]
        assert sidebar.searching  # the hits stay, to pick another one
    finally:
        arun(tab.aclose())


def test_screenshot_of_search_hits(
    qtbot: QtBot, qapp: QApplication, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.theme import ThemeManager

    async def seed() -> None:
        t = app_ctx.threads
        convos = [
            ("Weekend ramen project", "What broth should I use for a rich tonkotsu ramen?",
             "Simmer pork bones for 12 hours; the broth turns milky. Add the tare and ramen noodles last."),
            ("Japanese pantry basics", "Which sauces do I need?",
             "Soy sauce, mirin, sake, and miso cover most recipes, including a quick shoyu ramen."),
            ("Meal prep for the week", "Plan five lunches", "Monday: leftover ramen with a soft egg; Tuesday: grain bowls."),
            ("Travel: Tokyo food list", "Where to eat in Tokyo?", "Try Fuunji for tsukemen and Afuri for yuzu shio ramen."),
        ]
        for title, question, answer in convos:
            thread = await t.create_thread(title)
            q = await t.add_message(thread.id, None, "user", question)
            await t.add_message(thread.id, q.id, "assistant", answer)

    arun(seed())
    theme = ThemeManager(qapp, "light")
    tab = _open(qtbot, app_ctx, arun, size=(1100, 720))
    try:
        arun(_search(tab, "ramen"))

        async def choose() -> int:
            revealed = signal_future(tab.sidebar.hitRevealed)
            tab.thread_list.results.choose_current()
            return await revealed

        arun(choose())
        tab.thread_list.results.view.viewport().repaint()
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "chat-search.png"
        assert tab.grab().save(str(path))
        assert path.stat().st_size > 10_000
    finally:
        arun(tab.aclose())
        qapp.setStyleSheet("")
        theme.deleteLater()


def test_snippets_strip_markdown() -> None:
    from app.ui.chat.sidebar.search_panel import strip_markdown

    assert strip_markdown("## Setup \ue000ramen\ue001 here") == "Setup \ue000ramen\ue001 here"
    assert strip_markdown("…done. ### Next \ue000part\ue001") == "…done. Next \ue000part\ue001"
    assert strip_markdown("**\ue000bold\ue001** and `code`") == "\ue000bold\ue001 and code"
    assert strip_markdown("see [the docs](https://x.example/a) now") == "see the docs now"
    assert strip_markdown("![a cat](cat.png) and *em*") == "a cat and em"
    assert strip_markdown("- item\n> quoted") == "item\nquoted"
    assert strip_markdown("snake_case stays, a*b stays") == "snake_case stays, a*b stays"


def _hit_line(snippet: str, word: str, width: int) -> int:
    """The line (0-based) of the snippet block on which `word` is laid out at `width` px."""
    from PySide6.QtGui import QTextDocument

    hit = SearchHit(
        thread_id=1, message_id=2, thread_title="Ramen trip", role="user", snippet=snippet, rank=0.0
    )
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(QApplication.font())
    doc.setHtml(hit_html(hit))
    doc.setTextWidth(width)
    block = doc.begin().next()  # the title is the first block, the snippet the second
    pos = block.text().find(word)
    assert pos >= 0, block.text()
    layout = block.layout()
    return layout.lineForTextPosition(pos).lineNumber()


def test_hit_is_visible_at_the_default_sidebar_width(qtbot: QtBot) -> None:
    snippet = (
        "## Where to eat\n\nTry the **famous** places near the old station, the ones in "
        "[the guide](https://example.com/guide), for tsukemen and \ue000ramen\ue001 bowls late"
    )
    plain = hit_html(
        SearchHit(thread_id=1, message_id=2, thread_title="t", role="user", snippet=snippet, rank=0.0)
    )
    assert "##" not in plain and "**" not in plain and "](" not in plain
    # The sidebar's default width is 230 px; the delegate paints inside ~16 px of padding.
    assert _hit_line(snippet, "ramen", 230 - 16) == 0
    assert _hit_line(snippet, "ramen", 180) <= 1
