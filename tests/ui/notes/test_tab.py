"""The Notes tab against the in-memory service stand-in: folder set-up and the first-indexing
question, progress with pause / resume / cancel / retry, the index model and its rebuild offer,
search with preview and open-at-line, the note editor with undo, "Ask about these" and citation
links, empty states and keys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from app.core.providers import ProviderProfile
from app.ui.async_bridge import signal_future
from tests.ui.notes.helpers import activate, click_box, find_box, find_dialog, until

DEMO = ProviderProfile(
    name="Demo (offline)",
    base_url="http://127.0.0.1:1/v1",
    id="demo",
    default_models={"embedding": "demo-embedding", "chat": "demo-chat"},
)


def _tab(make_tab: Any, service: Any, folder: Path | None = None, **kw: Any) -> Any:
    async def choose() -> str | None:
        return str(folder) if folder is not None else None

    return make_tab(service, profiles=lambda: [DEMO], choose_folder=choose, **kw)


async def _set_model(tab: Any) -> None:
    tab.sources_panel.model_combo.setCurrentText("demo-embedding")
    await tab.sources.apply_model_flow("demo", "demo-embedding", 0)


def test_empty_state_then_add_folder_asks_before_the_first_indexing(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder)
    tab.show()
    assert tab.results_stack.currentWidget() is tab.empty_state
    assert tab.empty_state.state == "no-sources"
    assert tab.empty_state.add_button.isVisible()

    async def scenario() -> None:
        await _set_model(tab)  # no folder yet: nothing to index, no question
        assert ("index", None) not in fake_service.calls
        flow = asyncio.ensure_future(tab.sources.add_folder_flow())
        dialog = await find_dialog("folderSettings")
        dialog.excludes_edit.setPlainText("drafts/\n# a comment\n*.log")
        dialog.max_size_spin.setValue(2)
        dialog.ok_button.click()
        box = await find_box()
        text = box.text()
        assert "3 files" in text and "Demo (offline)" in text and "demo-embedding" in text
        assert "tokens" in text
        click_box(box, "Index now")
        source = await flow
        assert source is not None
        assert (
            "add_folder",
            (str(notes_folder), ["drafts/", "*.log"], 2 * 1024 * 1024),
        ) in fake_service.calls
        await fake_service.wait(1)
        await until(
            tab.indexing.finished,
            lambda: (
                tab.progress_panel.job is not None and tab.progress_panel.job.state == "completed"
            ),
        )

    arun(scenario())
    assert ("index", 2) in fake_service.calls
    assert tab.progress_panel.title.text() == "Indexed"
    assert "files 3/3" in tab.progress_panel.detail.text()
    assert not tab.progress_panel.pause_button.isVisible()
    assert tab.empty_state.state == "ready"


def test_declining_the_first_indexing_sends_nothing(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder)

    async def scenario() -> None:
        fake_service.spec = None
        await fake_service.set_index_model("demo", "demo-embedding")
        await fake_service.add_folder(notes_folder)
        await tab.sources.refresh()
        flow = asyncio.ensure_future(tab.sources.index_flow(None))
        click_box(await find_box(), "Cancel")
        assert await flow is None

    arun(scenario())
    assert not any(c[0] == "index" for c in fake_service.calls)
    assert "Not indexed" in tab.message_label.text()


def test_progress_pause_resume_cancel_and_retry_failed(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder)
    tab.show()
    panel = tab.progress_panel

    async def scenario() -> None:
        await fake_service.set_index_model("demo", "demo-embedding")
        source = await fake_service.add_folder(notes_folder)
        source.last_indexed_at = 1.0  # indexed before: no question this time
        await tab.sources.refresh()
        fake_service.gate.clear()
        job_id = await tab.sources.index_flow(None)
        assert job_id == 1
        assert (
            panel.isVisible() and panel.pause_button.isVisible() and panel.cancel_button.isVisible()
        )
        panel.pause_button.click()
        await until(tab.indexing.jobChanged, lambda: panel.job.state == "interrupted")
        assert panel.resume_button.isVisible() and not panel.pause_button.isVisible()
        assert panel.title.text() == "Indexing paused"
        panel.resume_button.click()
        await until(tab.indexing.jobChanged, lambda: panel.job.state == "running")
        fake_service.gate.set()
        await until(tab.indexing.finished, lambda: panel.job.state == "completed")
        # A run whose batch fails offers "Retry failed", which re-runs the same job.
        fake_service.fail_next = True
        await tab.sources.index_flow(None)
        await until(tab.indexing.finished, lambda: panel.job.state == "failed")
        assert panel.retry_button.isVisible()
        assert "503" in panel.error.text() and panel.error.isVisible()
        assert "1 batch failed" in panel.detail.text()
        panel.retry_button.click()
        await until(tab.indexing.finished, lambda: panel.job.state == "completed")
        fake_service.gate.clear()
        await tab.sources.index_flow(None)
        panel.cancel_button.click()
        await until(tab.indexing.jobChanged, lambda: panel.job.state == "cancelled")
        fake_service.gate.set()

    arun(scenario())
    kinds = [c for c in fake_service.calls if c[0] in ("pause", "resume", "retry_failed", "cancel")]
    assert kinds == [("pause", 1), ("resume", 1), ("retry_failed", 2), ("cancel", 3)]
    assert not panel.cancel_button.isVisible() and panel.title.text() == "Indexing cancelled"


def test_changing_the_model_offers_a_rebuild_with_its_cost_and_cancel_keeps_the_old(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder)

    async def scenario() -> None:
        await fake_service.set_index_model("demo", "demo-embedding")
        source = await fake_service.add_folder(notes_folder)
        source.last_indexed_at, source.chunks, source.files = 1.0, 12, 3
        await tab.sources.refresh()
        flow = asyncio.ensure_future(tab.sources.apply_model_flow("demo", "other-embed", 256))
        box = await find_box()
        assert "12 chunks" in box.text() and "1,200 tokens" in box.text()
        assert "Cancel keeps demo-embedding" in box.informativeText()
        click_box(box, "Cancel")
        assert await flow is False
        assert fake_service.spec.model == "demo-embedding"
        flow = asyncio.ensure_future(tab.sources.apply_model_flow("demo", "other-embed", 256))
        click_box(await find_box(), "Rebuild now")
        assert await flow is True
        await fake_service.wait(1)

    arun(scenario())
    assert fake_service.spec.model == "other-embed" and fake_service.spec.dim == 256
    assert ("set_index_model", ("demo", "demo-embedding", None)) in fake_service.calls
    assert ("index", None) in fake_service.calls
    assert "other-embed" in tab.sources_panel.model_label.text()


def test_folder_settings_and_remove(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder)

    async def scenario() -> None:
        source = await fake_service.add_folder(notes_folder, ["old/"])
        await tab.sources.refresh()
        tab.sources_panel.select_source(source.id)
        tab.sources_panel.settings_button.click()
        dialog = await find_dialog("folderSettings")
        assert dialog.excludes_edit.toPlainText() == "old/"
        dialog.excludes_edit.setPlainText("new/")
        dialog.ok_button.click()
        await until(
            tab.sources.sourcesLoaded,
            lambda: any(c[0] == "update_folder" for c in fake_service.calls),
        )
        tab.sources_panel.select_source(source.id)
        tab.sources_panel.remove_button.click()
        box = await find_box()
        assert "files on disk are not touched" in box.informativeText()
        click_box(box, "Remove")
        await until(tab.sources.sourcesLoaded, lambda: not tab.sources_panel.folders())

    arun(scenario())
    assert ("update_folder", (2, ["new/"], 5 * 1024 * 1024)) in fake_service.calls
    assert ("remove_folder", 2) in fake_service.calls
    assert tab.empty_state.state == "no-sources"


def test_search_results_preview_open_at_line_reveal_and_keys(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any, recorder: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("shutil.which", lambda exe: "/usr/bin/" + exe)
    tab = _tab(make_tab, fake_service, notes_folder, environ={"VISUAL": "code"})
    tab.show()

    async def scenario() -> None:
        await activate(tab)
        await fake_service.add_folder(notes_folder)
        await tab.sources.refresh()
        tab.sources_panel.list.setFocus()
        QTest.keyClick(tab.sources_panel.list, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert tab.search_bar.query_edit.hasFocus()
        tab.search_bar.set_mode("keyword")
        tab.search_bar.query_edit.setText("vpn evening")
        shown = asyncio.ensure_future(
            until(tab.search.previewShown, lambda: tab.preview.preview is not None)
        )
        QTest.keyClick(tab.search_bar.query_edit, Qt.Key.Key_Return)
        await shown
        assert ("search", ("vpn evening", "keyword")) in fake_service.calls
        assert tab.results_stack.currentWidget() is tab.results
        assert tab.model.rowCount() == 2
        top = tab.model.hits[0]
        assert top.title == "vpn.md" and top.heading_path == ["VPN"]
        assert "Networking" in tab.preview.toPlainText() and "MTU" in tab.preview.toPlainText()
        assert tab.search_bar.ask_button.isEnabled()
        QTest.keyClick(tab.search_bar.query_edit, Qt.Key.Key_Down)
        assert tab.results.hasFocus()
        QTest.keyClick(tab.results, Qt.Key.Key_Return)
        tab.reveal_button.click()
        # Esc in the results goes back to the query; there Esc clears it.
        QTest.keyClick(tab.results, Qt.Key.Key_Escape)
        assert tab.search_bar.query_edit.hasFocus()
        tab.search_bar.query_edit.setText("zeppelin")
        QTest.keyClick(tab.search_bar.query_edit, Qt.Key.Key_Return)
        await until(tab.search.searched, lambda: tab.model.rowCount() == 0)
        assert tab.results_stack.currentWidget() is tab.empty_state
        assert tab.empty_state.state == "no-results" and "zeppelin" in tab.empty_state.body.text()
        assert not tab.search_bar.ask_button.isEnabled()
        QTest.keyClick(tab.search_bar.query_edit, Qt.Key.Key_Escape)
        assert tab.search_bar.query_edit.text() == ""

    arun(scenario())
    vpn = str(notes_folder / "vpn.md")
    assert recorder.runs[0] == ["code", "--goto", f"{vpn}:7"]
    assert recorder.runs[1][0] == "gdbus" and Path(vpn).as_uri() in recorder.runs[1][-2]
    assert recorder.urls == []


def test_semantic_search_without_an_index_says_what_to_do(
    make_tab: Any, fake_service: Any, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service)

    async def scenario() -> None:
        tab.search_bar.set_mode("semantic")
        tab.search_bar.query_edit.setText("vpn")
        tab.search_bar.query_edit.returnPressed.emit()
        await until(tab.problemShown, lambda: tab.problem_label.text() != "")

    arun(scenario())
    assert "choose the index model" in tab.problem_label.text()


def test_editor_new_save_search_delete_and_undo(
    make_tab: Any, fake_service: Any, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service)
    tab.show()

    async def scenario() -> None:
        await activate(tab)
        QTest.keyClick(
            tab.search_bar.query_edit,
            Qt.Key.Key_N,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        assert tab.right_stack.currentWidget() is tab.editor
        tab.editor.title_edit.setText("Boiler")
        tab.editor.body_edit.setPlainText("## Service\n\nThe boiler needs a yearly check in ")
        tab.editor.body_edit.moveCursor(QTextCursor.MoveOperation.End)
        tab.editor.wrap("**")
        assert tab.editor.body_edit.textCursor().position() == len(tab.editor.body) - 2
        assert tab.editor.dirty and tab.editor.state_label.text() == "Unsaved changes"
        QTest.keyClick(tab.editor.body_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        await until(tab.notes_editor.saved, lambda: tab.editor.note_id is not None)
        assert not tab.editor.dirty
        assert [n.title for n in tab.notes_list.notes] == ["Boiler"]
        tab.editor.tabs.setCurrentWidget(tab.editor.preview)
        assert "Service" in tab.editor.preview.toPlainText()
        # Found by search; Enter on an app note's hit opens it in this editor.
        QTest.keyClick(tab.editor.body_edit, Qt.Key.Key_Escape)
        assert tab.right_stack.currentWidget() is not tab.editor
        await tab.search.search("boiler yearly", "keyword")
        opened = signal_future(tab.notes_editor.opened)
        tab.search.open_row(0)
        assert (await opened).title == "Boiler"
        assert tab.right_stack.currentWidget() is tab.editor
        assert tab.editor.title_edit.text() == "Boiler"
        tab.notes_list.list.setCurrentRow(0)
        tab.notes_list.delete_button.click()
        await until(tab.notes_editor.deleted, lambda: tab.undo_bar.isVisible())
        assert tab.notes_list.notes == [] and "Boiler" in tab.undo_bar.label.text()
        assert tab.notes_list.list.hasFocus()
        QTest.keyClick(tab.notes_list.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        await until(tab.notes_editor.restored, lambda: bool(tab.notes_list.notes))

    arun(scenario())
    assert [n.title for n in tab.notes_list.notes] == ["Boiler"]
    assert fake_service.notes[1].body == "## Service\n\nThe boiler needs a yearly check in ****"
    assert not tab.undo_bar.isVisible()


def test_save_as_note_from_chat(make_tab: Any, fake_service: Any, arun: Any) -> None:
    tab = _tab(make_tab, fake_service)
    note = arun(tab.save_as_note("", "# Reply title\n\nthe answer"))
    assert note.title == "Reply title" and fake_service.notes[note.id].body.endswith("the answer")
    assert tab.right_stack.currentWidget() is tab.editor and tab.editor.note_id == note.id
    assert "Saved “Reply title”" in tab.message_label.text()


def test_ask_about_these_makes_a_cited_thread_and_links_open_the_hit(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    made: list[dict[str, Any]] = []

    async def create_thread(title: str, **kw: Any) -> Any:
        made.append({"title": title, **kw})
        return SimpleNamespace(id=41)

    tab = _tab(
        make_tab,
        fake_service,
        notes_folder,
        create_thread=create_thread,
        chat_target=lambda: ("demo", "demo-chat"),
    )
    asked: list[tuple[int, str]] = []
    tab.askInChatRequested.connect(lambda tid, q: asked.append((tid, q)))

    async def scenario() -> Any:
        await fake_service.add_folder(notes_folder)
        hits = await tab.search.search("vpn evening", "keyword")
        tab.search_bar.query_edit.setText("why does the vpn drop?")
        tab.search_bar.ask_button.click()
        await until(tab.ask.askReady, lambda: bool(asked))
        # A citation link from the answer: the hit is selected and previewed.
        tab.model.clear()
        tab.preview.clear_preview()
        found = await tab.open_note_link(f"switchboard-note://{hits[1].chunk_id}")
        unknown = await tab.open_note_link("switchboard-note://999999")
        return hits, found, unknown

    hits, found, unknown = arun(scenario())
    assert asked == [(41, "why does the vpn drop?")]
    thread = made[0]
    assert thread["profile_id"] == "demo" and thread["model"] == "demo-chat"
    assert thread["title"] == "Notes: why does the vpn drop?"
    prompt = thread["system_prompt"]
    assert f"[1] {hits[0].title}" in prompt and f"switchboard-note://{hits[0].chunk_id}" in prompt
    assert "MTU to 1380" in prompt  # the hit's own lines, not just the snippet
    assert tab.ask.numbering[41][1] == str(hits[0].chunk_id)
    assert found is not None and found.chunk_id == hits[1].chunk_id
    assert tab.search.current_hit().chunk_id == hits[1].chunk_id
    assert unknown is None and "earlier session" in tab.message_label.text()


def test_ask_without_a_chat_model_says_so(
    make_tab: Any, fake_service: Any, notes_folder: Path, arun: Any
) -> None:
    tab = _tab(make_tab, fake_service, notes_folder, chat_target=lambda: None)

    async def scenario() -> None:
        await fake_service.add_folder(notes_folder)
        await tab.search.search("vpn", "keyword")
        tab.search_bar.query_edit.setText("vpn")
        tab.search_bar.ask_button.click()
        await until(tab.problemShown, lambda: tab.problem_label.text() != "")

    arun(scenario())
    assert "add a provider with a chat model" in tab.problem_label.text()
