"""NotesService against the real loopback demo server: index, incremental, search, app notes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.errors import ConfigError
from app.core.providers import ProviderProfile
from app.core.services.notes import HIGHLIGHT_START, NotesEvent, NotesService
from app.core.store.db import Database
from tests.core.notes.conftest import SAMPLE, notes_service, write_notes
from tests.core.notes.helpers import embed_inputs


async def indexed(service: NotesService, source_id: int | None = None) -> None:
    job = await service.wait(await service.index(source_id))
    assert job is not None and job.state == "completed", (job.state if job else None, job and job.error)


@pytest.mark.parametrize("profile_id,model", [("demo-openai", "demo-embedding"), ("demo-gemini", "text-embedding-004")])
def test_index_search_and_incremental(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str, model: str,
) -> None:
    folder = tmp_path / "vault"
    write_notes(folder, SAMPLE)

    async def main() -> None:
        async with notes_service(db, profiles, batch_size=2) as service:
            with pytest.raises(ConfigError):
                await service.index()  # no model chosen yet
            source = await service.add_folder(folder, excludes=["garden/"])
            cost = await service.set_index_model(profile_id, model, 32)
            assert cost.chunks == 0 and cost.index.dim == 32
            estimate = await service.estimate(source.id)
            assert estimate.files == 3 and estimate.tokens > 20 and estimate.model == model
            assert embed_inputs(server) == []  # estimating sends nothing
            events: list[NotesEvent] = []
            service.subscribe(events.append)
            await indexed(service)
            sent = embed_inputs(server)
            assert len(sent) == len(set(sent)) >= 4
            assert not any("ignored" in t or "Tomatoes" in t for t in sent)  # excludes held
            assert any(e.kind == "progress" and e.progress and e.progress.phase == "done" for e in events)
            if profile_id == "demo-gemini":
                batch = next(r for r in server.requests.snapshot() if "batchEmbedContents" in r.path)
                assert batch.json["requests"][0]["taskType"] == "RETRIEVAL_DOCUMENT"  # type: ignore[index]
                assert batch.json["requests"][0]["outputDimensionality"] == 32  # type: ignore[index]

            hits = await service.search("vpn drops when laptop sleeps", mode="semantic")
            assert hits[0].title == "vpn" and hits[0].heading_path == ["VPN", "Flaky connection"]
            assert hits[0].path == str(folder / "network/vpn.md") and hits[0].line_start == 5
            if profile_id == "demo-gemini":
                query = server.requests.snapshot()[-1]
                assert query.json["requests"][0]["taskType"] == "RETRIEVAL_QUERY"  # type: ignore[index]
            kw = await service.search("sourdough starter", mode="keyword")
            assert kw[0].title == "bread" and HIGHLIGHT_START in kw[0].snippet
            both = await service.search("restic restore", mode="both")
            assert both[0].title == "guide" and both[0].keyword_rank == 1
            assert both[0].semantic_rank is not None
            preview = await service.read_hit(both[0])
            assert "restic restore latest" in preview.text.split("\n")[both[0].line_start - 1]

            # Unchanged: nothing sent. One paragraph changed: only its chunk is sent.
            server.requests.clear()
            await indexed(service)
            assert embed_inputs(server) == []
            (folder / "kitchen/bread.md").write_text(
                "# Sourdough\n\nFeed the starter once a day in winter.\n"
            )
            (folder / "docs/guide.rst").unlink()
            await indexed(service)
            sent = embed_inputs(server)
            assert len(sent) == 1 and "once a day in winter" in sent[0]
            assert await service.search("restic", mode="keyword") == []
            sources = await service.list_sources()
            assert [s.files for s in sources] == [0, 2] and sources[1].pending_chunks == 0

    arun(main(), timeout=60)


def test_app_notes_undo_and_message(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, arun
) -> None:
    async def main() -> None:
        async with notes_service(db, profiles) as service:
            await service.set_index_model("demo-openai", "demo-embedding")
            note = await service.create_note("Printer", "The office printer jams on duplex jobs.")
            assert (await service.search("duplex", mode="keyword"))[0].note_id == note.id
            await indexed(service)
            first = embed_inputs(server)
            assert len(first) == 1
            hit = (await service.search("printer jams", mode="semantic"))[0]
            assert hit.note_id == note.id and hit.path == ""
            assert (await service.read_hit(hit)).text.startswith("The office printer")
            await service.delete_note(note.id)
            assert await service.search("duplex", mode="both") == []
            assert await service.list_notes() == []
            await service.restore_note(note.id)
            await indexed(service)
            documents = [t for t in embed_inputs(server) if "\n\n" in t]  # not the queries
            assert documents == first  # undo costs no embedding
            assert (await service.search("printer", mode="semantic"))[0].note_id == note.id
            await service.update_note(note.id, body="Duplex is fixed now.")
            assert (await service.search("fixed", mode="keyword"))[0].note_id == note.id

            def add_message(conn) -> int:  # type: ignore[no-untyped-def]
                conn.execute("INSERT INTO threads (id, title, created_at, updated_at) VALUES (7, 'Trip', 1, 1)")
                cur = conn.execute(
                    "INSERT INTO messages (thread_id, role, content, created_at, updated_at)"
                    " VALUES (7, 'assistant', 'Pack the charger.', 1, 1)"
                )
                return int(cur.lastrowid)

            message_id = await db.run(add_message)
            saved = await service.save_message_as_note(message_id)
            assert (saved.title, saved.body) == ("Trip", "Pack the charger.")

    arun(main(), timeout=60)


def test_failed_batch_is_retried_alone_and_pause_resumes(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "many"
    write_notes(folder, {f"n{i:02}.md": f"# Note {i}\n\nfact number {i} about topic {i * 7}\n" for i in range(12)})

    async def main() -> None:
        async with notes_service(db, profiles, batch_size=3, max_in_flight=1) as service:
            await service.add_folder(folder)
            await service.set_index_model("demo-openai", "demo-embedding")
            server.faults.add(FaultRule(path_contains="embeddings", status=500, times=1))
            job = await service.wait(await service.index())
            assert job is not None and job.state == "failed" and "Retry" in (job.error or "")
            first_run = embed_inputs(server)
            assert len(first_run) == 12  # four batches sent; the first one answered 500
            sources = await service.list_sources()
            assert sources[1].pending_chunks == 3
            server.requests.clear()
            await service.retry_failed(job.id)
            job = await service.wait(job.id)
            assert job is not None and job.state == "completed"
            assert embed_inputs(server) == first_run[:3]  # only the failed batch, again

            # Pause while a request is held in flight; resume finishes without repeats.
            for i in range(12):
                (folder / f"n{i:02}.md").write_text(f"# Note {i}\n\nrewritten fact {i}\n")
            server.requests.clear()
            server.faults.add(FaultRule(path_contains="embeddings", delay_s=1.0, times=1))
            paused = asyncio.Event()
            job_id = await service.index()

            def on(event: NotesEvent) -> None:
                p = event.progress
                if p is not None and p.phase == "embedding" and p.chunks_done >= 3:
                    paused.set()

            service.subscribe(on)
            await paused.wait()
            await service.pause(job_id)
            assert (await service.engine.store.get(job_id)).state == "interrupted"  # type: ignore[union-attr]
            await service.resume(job_id)
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed"
            sent = embed_inputs(server)
            assert sorted(set(sent)) == sorted(sent)  # nothing sent twice
            assert (await service.list_sources())[1].pending_chunks == 0

    arun(main(), timeout=60)


def test_a_pause_keeps_the_batches_already_sent(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    """Two batches are in flight when the user pauses: both are let finish and their vectors
    kept (cancelling them would pay for them again at the resume), nothing new is sent until
    the resume, and the resume sends only what was never sent."""
    folder = tmp_path / "held"
    write_notes(folder, {f"n{i:02}.md": f"# Note {i}\n\nheld fact {i} about topic {i * 3}\n" for i in range(12)})

    async def main() -> None:
        async with notes_service(db, profiles, batch_size=3, max_in_flight=2) as service:
            await service.add_folder(folder)
            await service.set_index_model("demo-openai", "demo-embedding")
            server.faults.add(FaultRule(path_contains="embeddings", delay_s=0.5, times=2))
            job_id = await service.index()

            def both_held(requests: list) -> bool:  # type: ignore[type-arg]
                return sum(r.path.endswith("/embeddings") for r in requests) >= 2

            assert await asyncio.to_thread(server.requests.wait_for, both_held, 10)
            await service.pause(job_id)
            assert (await service.engine.store.get(job_id)).state == "interrupted"  # type: ignore[union-attr]
            before_resume = embed_inputs(server)
            assert len(before_resume) == 6  # the two held batches, nothing sent while pausing
            assert (await service.list_sources())[1].pending_chunks == 6  # their vectors kept
            await service.resume(job_id)
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed"
            sent = embed_inputs(server)
            assert sorted(set(sent)) == sorted(sent)  # nothing sent twice
            assert len(sent) == 12
            assert (await service.list_sources())[1].pending_chunks == 0

    arun(main(), timeout=60)


def test_watching_indexes_a_new_file(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "watched"
    write_notes(folder, {"a.md": "# A\n\nalpha\n"})

    async def main() -> None:
        async with notes_service(db, profiles, poll_interval=0.05, debounce=0.05) as service:
            source = await service.add_folder(folder)
            await service.set_index_model("demo-openai", "demo-embedding")
            await indexed(service)
            done = asyncio.Event()

            def on(event: NotesEvent) -> None:
                if event.kind == "job" and event.job is not None and event.job.state == "completed":
                    done.set()

            service.subscribe(on)
            await service.watch(source.id)
            (folder / "b.md").write_text("# B\n\nbeta gamma delta\n")
            await done.wait()
            assert (await service.search("gamma", mode="keyword"))[0].title == "b"
            assert "beta gamma delta" in embed_inputs(server)[-1]
            await service.watch(source.id, False)

    arun(main(), timeout=30)


def test_demo_indexes_the_bundled_sample_notes(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, arun
) -> None:
    async def main() -> None:
        async with notes_service(db, profiles) as service:
            job_id = await service.index_sample_notes("demo-openai", "demo-embedding")
            assert job_id is not None
            job = await service.wait(job_id)
            assert job is not None and job.state == "completed"
            [app_notes, sample] = await service.list_sources()
            assert sample.files >= 20 and sample.pending_chunks == 0
            assert (app_notes.name, sample.name) == ("Notes written here", "Sample notes")
            hits = await service.search("restore a backup with restic", mode="both", limit=3)
            assert hits[0].title == "backups"
            # The folder's README (it lists the demo's suggested queries) is not indexed.
            hits = await service.search("vpn keeps dropping", mode="both", limit=3)
            assert hits[0].path.endswith("vpn.md") and "README.md" not in [Path(h.path).name for h in hits]
            hits = await service.search("proof the dough overnight", mode="semantic", limit=3)
            assert "sourdough" in [h.title for h in hits]
            # Another model already chosen: the demo never sends notes elsewhere.
            await service.set_index_model("demo-gemini", "text-embedding-004")
            assert await service.index_sample_notes("demo-openai", "demo-embedding") is None

    arun(main(), timeout=60)


def test_approximate_index_gives_the_same_top_hit(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "approx"
    write_notes(folder, SAMPLE)

    async def main() -> None:
        async with notes_service(db, profiles, exact_limit=2) as service:
            await service.add_folder(folder)
            await service.set_index_model("demo-openai", "demo-embedding")
            await indexed(service)
            await service.warm()
            await service.wait_search_ready()
            hits = await service.search("vpn drops when laptop sleeps", mode="semantic")
            assert service._vindex is not None and service._vindex.approximate
            assert hits[0].title == "vpn" and 0.0 < hits[0].score <= 1.0001

    arun(main(), timeout=60)


def test_requests_in_flight_stay_within_the_bound(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    folder = tmp_path / "bound"
    write_notes(folder, {f"n{i:02}.md": f"# Note {i}\n\nfact {i} about subject {i * 3}\n" for i in range(16)})

    async def main() -> None:
        async with notes_service(db, profiles, batch_size=2, max_in_flight=2) as service:
            await service.add_folder(folder)
            await service.set_index_model("demo-openai", "demo-embedding")
            client = await service.clients.get("demo-openai")
            original = client.embed
            now = peak = 0

            async def counted(request):  # type: ignore[no-untyped-def]
                nonlocal now, peak
                now += 1
                peak = max(peak, now)
                try:
                    return await original(request)
                finally:
                    now -= 1

            client.embed = counted
            server.faults.add(FaultRule(path_contains="embeddings", delay_s=0.05))
            job = await service.wait(await service.index())
            assert job is not None and job.state == "completed"
            assert peak == 2  # both slots used, never a third request
            sent = embed_inputs(server)
            assert len(sent) == 16 and len(set(sent)) == 16  # every chunk once

    arun(main(), timeout=60)
