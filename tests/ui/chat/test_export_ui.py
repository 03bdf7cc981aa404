"""Export and import from the UI: the File menu actions and the coroutines they run (called with
a path, since offscreen tests cannot click a file dialog)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.errors import ConfigError
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.sidebar.export_actions import (
    ThreadTransfer,
    detect_import_kind,
    suggested_file_name,
)
from app.ui.context import AppContext
from tests.ui.chat.helpers import make_tab

ROOT = Path(__file__).resolve().parents[3]
CHATGPT = ROOT / "tests" / "fixtures" / "chatgpt" / "conversations.json"


def _open(qtbot: QtBot, ctx: AppContext, arun: Callable[..., Any]) -> ChatTab:
    tab = arun(make_tab(ctx))
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    return tab


async def _seed(ctx: AppContext) -> int:
    thread = await ctx.threads.create_thread("Export <me> & friends")
    q = await ctx.threads.add_message(thread.id, None, "user", "Show **bold** and <script>alert(1)</script>")
    await ctx.threads.add_message(thread.id, q.id, "assistant", "Here:\n\n```python\nprint('hi')\n```")
    return thread.id


def test_export_thread_in_each_format(qtbot: QtBot, tmp_path: Path, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    thread_id = arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    transfer = tab.sidebar.transfer
    statuses: list[str] = []
    app_ctx.events.statusMessage.connect(statuses.append)
    try:
        md = arun(transfer.export_thread_to(thread_id, tmp_path / "t.md"))
        text = md.read_text(encoding="utf-8")
        assert "Export <me> & friends" in text and "```python\nprint('hi')\n```" in text
        assert statuses[-1].startswith("Exported the thread as Markdown to")

        html_path = arun(transfer.export_thread_to(thread_id, tmp_path / "t.html"))
        page = html_path.read_text(encoding="utf-8")
        assert page.lstrip().lower().startswith("<!doctype html")
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert "Export &lt;me&gt; &amp; friends" in page

        js = arun(transfer.export_thread_to(thread_id, tmp_path / "t.json"))
        doc = json.loads(js.read_text(encoding="utf-8"))
        assert doc["format"] == "switchboard-thread"
        assert [m["role"] for m in doc["messages"]] == ["user", "assistant"]
    finally:
        arun(tab.aclose())


def test_export_all_then_import_the_archive(qtbot: QtBot, tmp_path: Path, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    transfer = tab.sidebar.transfer
    try:
        assert arun(transfer.export_all_to(tmp_path / "all.json")) == 1
        assert json.loads((tmp_path / "all.json").read_text())["format"] == "switchboard-archive"
        report = arun(transfer.import_from(tmp_path / "all.json"))
        assert (report.threads, report.messages) == (1, 2)
        assert tab.thread_list.thread_ids()[0] in report.thread_ids  # reloaded
        assert len(tab.thread_list.thread_ids()) == 2
    finally:
        arun(tab.aclose())


def test_import_chatgpt_from_the_file_menu(qtbot: QtBot, window: Any, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    # The File menu has the three thread actions, enabled once the services are attached.
    transfer: ThreadTransfer = window.thread_transfer
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert {"Export &thread…", "Export &all threads…", "Import t&hreads…"} <= set(texts)
    assert all(a.isEnabled() for a in transfer.actions())

    tab = window.chat_tab
    assert isinstance(tab, ChatTab)
    arun(tab.reload_threads())
    assert tab.thread_list.thread_ids() == []

    async def run_import() -> Any:
        imported = signal_future(transfer.imported)
        report = await transfer.import_from(CHATGPT)
        assert await imported is report
        return report

    report = arun(run_import())
    assert report.threads == 2
    titles = [tab.thread_list.title_of(i) for i in tab.thread_list.thread_ids()]
    assert sorted(titles) == ["Autumn haiku", "Squaring numbers in Python"]
    assert "Imported 2 threads" in window.status.currentMessage()


def test_a_bad_file_shows_the_sentence_in_a_message_box(
    qtbot: QtBot, tmp_path: Path, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}', encoding="utf-8")
    tab = _open(qtbot, app_ctx, arun)
    transfer = tab.sidebar.transfer
    try:
        async def run() -> str:
            failed = signal_future(transfer.failed)
            transfer._start(transfer.import_from(bad))
            return await failed

        sentence = arun(run())
        assert "neither a Switchboard export nor a ChatGPT conversations.json" in sentence
        box = tab.findChild(QMessageBox, "threadTransferError")
        assert box is not None and box.isVisible() and box.text() == sentence
        box.close()

        broken = tmp_path / "broken.json"
        broken.write_text("[{", encoding="utf-8")
        with pytest.raises(ConfigError, match="not valid JSON"):
            arun(transfer.import_from(broken))
        with pytest.raises(ConfigError, match="Open a thread first"):
            arun(transfer.export_thread_flow())
    finally:
        arun(tab.aclose())


def test_sidebar_export_opens_a_save_dialog(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> None:
    thread_id = arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    try:
        async def cancel_dialog() -> Any:
            task = tab.spawn(tab.sidebar._export(thread_id))
            dialog = None
            while dialog is None:  # shown with open(), not exec()
                await asyncio.sleep(0)
                dialog = tab.findChild(QFileDialog, "fileChooser")
            assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
            assert dialog.selectedFiles()[0].endswith("Export-me-friends.md")
            dialog.reject()
            return await task

        assert arun(cancel_dialog()) is None
    finally:
        arun(tab.aclose())


def test_detect_import_kind_and_file_names() -> None:
    assert detect_import_kind({"format": "switchboard-archive"}) == "archive"
    assert detect_import_kind([{"mapping": {}}]) == "chatgpt"
    assert detect_import_kind({"mapping": {}, "title": "x"}) == "chatgpt"
    with pytest.raises(ConfigError):
        detect_import_kind({"hello": 1})
    with pytest.raises(ConfigError):
        detect_import_kind([1, 2])
    assert suggested_file_name("What's up? / ok", "md") == "Whats-up-ok.md"
    assert suggested_file_name("", "json") == "thread.json"


def test_start_folder_exists_and_file_type_sets_the_suffix(tmp_path: Path) -> None:
    from app.ui.chat.sidebar.export_actions import path_for_filter, start_folder

    home = tmp_path / "home"
    home.mkdir()
    missing_docs = home / "Documents"
    # No ~/Documents (a fresh Linux account): home, not a folder that does not exist.
    assert start_folder("", str(missing_docs), home) == home
    assert start_folder(str(tmp_path / "gone"), str(missing_docs), home) == home
    missing_docs.mkdir()
    assert start_folder("", str(missing_docs), home) == missing_docs
    assert start_folder(str(tmp_path), str(missing_docs), home) == tmp_path

    html = "HTML page (*.html)"
    assert path_for_filter(Path("/x/chat.md"), html) == Path("/x/chat.html")
    assert path_for_filter(Path("/x/chat.html"), html) == Path("/x/chat.html")
    assert path_for_filter(Path("/x/chat.v2"), html) == Path("/x/chat.v2.html")
    assert path_for_filter(Path("/x/chat.html"), "Switchboard JSON (*.json)") == Path("/x/chat.json")
    assert path_for_filter(Path("/x/chat.md"), "Markdown (*.md)") == Path("/x/chat.md")


def test_html_chosen_in_the_dialog_writes_html_and_the_folder_is_remembered(
    qtbot: QtBot, tmp_path: Path, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    from app.ui.chat.sidebar.export_actions import LAST_FOLDER_SETTING

    thread_id = arun(_seed(app_ctx))
    tab = _open(qtbot, app_ctx, arun)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    app_ctx.settings.setValue(LAST_FOLDER_SETTING, str(out_dir))
    transfer = tab.sidebar.transfer

    async def find_dialog() -> QFileDialog:
        while True:  # shown with open(), not exec()
            await asyncio.sleep(0)
            dialog = tab.findChild(QFileDialog, "fileChooser")
            if dialog is not None and dialog.isVisible():
                return dialog

    async def export_as_html() -> Any:
        task = tab.spawn(transfer.export_thread_flow(thread_id))
        dialog = await find_dialog()
        assert Path(dialog.directory().absolutePath()) == out_dir  # the remembered folder
        html_filter = "HTML page (*.html)"
        dialog.selectNameFilter(html_filter)
        dialog.filterSelected.emit(html_filter)  # what choosing it in the list emits
        assert dialog.selectedFiles()[0].endswith("Export-me-friends.html")
        dialog.accept()
        return await task

    try:
        written = arun(export_as_html())
        assert written == out_dir / "Export-me-friends.html"
        assert written.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
        assert not (out_dir / "Export-me-friends.md").exists()
        assert app_ctx.settings.value(LAST_FOLDER_SETTING) == str(out_dir)
    finally:
        arun(tab.aclose())
