"""The saved graph: built once in the background, saved beside the database with a fingerprint,
loaded at the next start instead of a rebuild; a mismatch or a damaged file rebuilds it, and a
search meanwhile is exact rather than waiting."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.services.notes import NotesService
from app.core.store.db import Database
from tests.core.notes.conftest import SAMPLE, notes_service, write_notes


async def _index_sample(service: NotesService, folder: Path) -> None:
    await service.add_folder(folder)
    await service.set_index_model("demo-openai", "demo-embedding")
    job = await service.wait(await service.index())
    assert job is not None and job.state == "completed"


def _files(db: Database) -> tuple[Path, Path]:
    assert db.path is not None
    folder = Path(db.path).parent / "notes-vectors"
    graphs = sorted(folder.glob("index-*.usearch"))
    assert len(graphs) == 1, graphs
    return graphs[0], graphs[0].with_suffix(".json")


def test_the_graph_is_saved_and_loaded_at_the_next_start(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "vault"
    write_notes(folder, SAMPLE)

    async def first() -> str:
        async with notes_service(db, profiles, exact_limit=2) as service:
            await _index_sample(service, folder)
            await service.warm()
            assert not service.search_ready  # the graph is being built in the background
            await service.wait_search_ready()
            assert service._vindex is not None and service._vindex.approximate
            return (await service.search("vpn drops when laptop sleeps", mode="semantic"))[0].title

    assert arun(first(), timeout=60) == "vpn"
    _, fingerprint = _files(db)
    saved = json.loads(fingerprint.read_text())
    assert saved["count"] == len(SAMPLE) - 2 + 1 and saved["model"] == "demo-embedding"  # rst: 2 chunks

    async def second() -> None:
        async with notes_service(db, profiles, exact_limit=2, warm_after=0.0) as service:
            await service.recover()  # loads the saved copy in the background, before any search
            assert service._warming is not None
            await service._warming
            assert service.search_ready and service._vbuild is None  # loaded, not rebuilt
            assert service._vindex is not None and service._vindex.approximate
            hits = await service.search("vpn drops when laptop sleeps", mode="semantic")
            assert hits[0].title == "vpn"

    arun(second(), timeout=60)


def test_a_changed_index_or_a_damaged_file_is_rebuilt_and_searched_exactly_meanwhile(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "vault"
    write_notes(folder, SAMPLE)

    async def build_and_change() -> None:
        async with notes_service(db, profiles, exact_limit=2) as service:
            await _index_sample(service, folder)
            await service.warm()
            await service.wait_search_ready()
        # Closed: a note rewritten and indexed by a service that never loaded the copy, so the
        # saved graph no longer matches SQLite, with as many vectors as before (one replaced).
        (folder / "garden/tomatoes.txt").write_text("The bike chain needs oil every month.\n")
        async with notes_service(db, profiles, exact_limit=2) as service:
            job = await service.wait(await service.index())
            assert job is not None and job.state == "completed"

    arun(build_and_change(), timeout=60)
    graph, fingerprint = _files(db)
    before = json.loads(fingerprint.read_text())

    async def reopen(expect_title: str, query: str) -> None:
        async with notes_service(db, profiles, exact_limit=2) as service:
            await service.warm()
            assert service._vbuild is not None  # a mismatch: rebuilt in the background
            assert service._vindex is not None and not service._vindex.approximate
            hits = await service.search(query, mode="semantic")  # exact meanwhile
            assert hits[0].title == expect_title
            await service.wait_search_ready()
            assert service._vindex.approximate

    arun(reopen("tomatoes", "bike chain oil"), timeout=60)
    after = json.loads(fingerprint.read_text())
    assert after["generation"] > before["generation"] and after["count"] == before["count"]

    graph.write_bytes(b"not a graph" * 100)  # damaged (the fingerprint still matches)
    arun(reopen("vpn", "vpn drops when laptop sleeps"), timeout=60)
    assert graph.stat().st_size > 1100  # saved again
