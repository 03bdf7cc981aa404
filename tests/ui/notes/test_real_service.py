"""The Notes tab against the real NotesService (SQLite, the job engine) and the real loopback
demo server's embeddings, in the OpenAI and Gemini dialects: folder set-up with the first-indexing
question, indexing to the end, search in each mode with a preview, a note written in the editor
found by search."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.notes.helpers import click_box, find_box, find_dialog, until


@pytest.fixture
def real_service(app_ctx: Any, demo_server: Any) -> Iterator[Any]:
    """The context's NotesService (built by app.main.build_context; shut down with it)."""
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    yield app_ctx.notes


@pytest.mark.parametrize(
    ("profile_id", "model"),
    [("demo-openai", "demo-embedding"), ("demo-gemini", "text-embedding-004")],
)
def test_set_up_index_and_search_against_the_demo_server(
    make_tab: Any,
    real_service: Any,
    app_ctx: Any,
    notes_folder: Path,
    arun: Any,
    profile_id: str,
    model: str,
) -> None:
    from app.ui.notes.host import embedding_models

    if app_ctx.profile(profile_id) is None:
        pytest.skip(f"the demo server has no {profile_id} profile")

    async def choose() -> str:
        return str(notes_folder)

    tab = make_tab(
        real_service,
        profiles=lambda: list(app_ctx.profile_list),
        choose_folder=choose,
        list_models=embedding_models(app_ctx),
    )
    tab.show()

    async def scenario() -> None:
        i = tab.sources_panel.profile_combo.findData(profile_id)
        assert i >= 0
        tab.sources_panel.profile_combo.setCurrentIndex(i)
        tab.sources_panel.model_combo.setCurrentText(model)
        assert await tab.sources.apply_model_flow(profile_id, model, 0)
        assert model in tab.sources_panel.model_label.text()
        flow = asyncio.ensure_future(tab.sources.add_folder_flow())
        (await find_dialog("folderSettings")).ok_button.click()
        box = await find_box()
        assert "3 files" in box.text() and "tokens" in box.text() and model in box.text()
        assert app_ctx.profile(profile_id).name in box.text()
        click_box(box, "Index now")
        assert await flow is not None
        await until(
            tab.indexing.finished,
            lambda: (
                tab.progress_panel.job is not None
                and tab.progress_panel.job.state in ("completed", "failed")
            ),
            timeout=20,
        )
        assert tab.progress_panel.job.state == "completed", tab.progress_panel.job.error
        assert "chunks" in tab.progress_panel.detail.text()
        await until(
            tab.sources.sourcesLoaded,
            lambda: any(s.kind == "folder" and s.files == 3 for s in tab.sources.sources),
            timeout=10,
        )
        for mode in ("keyword", "semantic", "both"):
            hits = await tab.search.search("vpn evening router", mode)
            assert hits, mode
            assert tab.results_stack.currentWidget() is tab.results
        hits = await tab.search.search("MTU wireguard", "keyword")
        assert hits[0].path == str(notes_folder / "vpn.md")
        assert tab.model.data(tab.model.index(0, 0)) == "vpn.md"
        shown = await tab.search.preview_row(0)
        assert shown is not None and "MTU" in tab.preview.toPlainText()
        # A note written in the app is found by search once indexed.
        tab.notes_editor.new_note()
        tab.editor.title_edit.setText("Boiler")
        tab.editor.body_edit.setPlainText("The boiler pressure should sit at 1.5 bar.")
        note = await tab.notes_editor.save()
        assert note is not None and [n.title for n in tab.notes_list.notes] == ["Boiler"]
        job_id = await real_service.index(None)
        await real_service.wait(job_id)
        hits = await tab.search.search("boiler pressure", "keyword")
        assert hits and hits[0].note_id == note.id

    arun(scenario(), timeout=40)


def test_model_change_offers_the_rebuild_with_the_real_cost(
    make_tab: Any, real_service: Any, app_ctx: Any, notes_folder: Path, arun: Any
) -> None:
    tab = make_tab(real_service, profiles=lambda: list(app_ctx.profile_list))

    async def scenario() -> None:
        assert await tab.sources.apply_model_flow("demo-openai", "demo-embedding", 0)
        await real_service.add_folder(notes_folder)
        job_id = await real_service.index(None)
        await real_service.wait(job_id)
        await tab.sources.refresh()
        chunks = sum(s.chunks for s in tab.sources.sources)
        assert chunks > 0
        flow = asyncio.ensure_future(
            tab.sources.apply_model_flow("demo-openai", "demo-embedding", 32)
        )
        box = await find_box()
        assert f"lacks vectors for {chunks:,} chunks" in box.text()
        assert "Cancel keeps demo-embedding" in box.informativeText()
        click_box(box, "Cancel")
        assert await flow is False
        spec = await real_service.index_spec()
        assert (spec.model, spec.dim) == ("demo-embedding", None)
        flow = asyncio.ensure_future(
            tab.sources.apply_model_flow("demo-openai", "demo-embedding", 32)
        )
        click_box(await find_box(), "Rebuild now")
        assert await flow is True
        await until(
            tab.indexing.finished,
            lambda: (
                tab.progress_panel.job is not None and tab.progress_panel.job.state == "completed"
            ),
            timeout=20,
        )
        spec = await real_service.index_spec()
        assert spec.dim == 32 and spec.vectors == chunks

    arun(scenario(), timeout=40)
