"""A real process killed (SIGKILL) mid-index: the next start embeds only what is still pending."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.store.db import Database
from tests.core.notes.conftest import KEY, notes_service, write_notes
from tests.core.notes.helpers import embed_inputs

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("kill_child.py")


async def run_child(server: DemoServer, db_path: Path, folder: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), str(db_path), str(folder), str(server.port), KEY,
        stdout=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT),
    )
    assert proc.stdout is not None
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
            assert line, "the child ended early"
            if line.startswith("EMBEDDED") and int(line.split()[1]) >= 4:
                break  # two batches stored; the next request is held by the delay fault
    finally:
        proc.kill()
        await proc.communicate()
    assert proc.returncode == -9


def test_killed_mid_index_resumes_without_re_embedding(
    server: DemoServer, profiles: list[ProviderProfile], tmp_path: Path, arun
) -> None:
    folder = tmp_path / "vault"
    write_notes(folder, {f"n{i:02}.md": f"# Note {i}\n\nfact {i} of the vault\n" for i in range(10)})
    db_path = tmp_path / "kill.db"
    Database.open(db_path).close()
    # Third request and later are slow: the kill lands while one is in flight.
    server.faults.add(FaultRule(path_contains="embeddings", delay_s=0.0, times=2))
    server.faults.add(FaultRule(path_contains="embeddings", delay_s=3.0, times=1))
    arun(run_child(server, db_path, folder), timeout=60)
    before = embed_inputs(server)
    stored_before = before[:4]  # the two answered batches

    db = Database.open(db_path)
    try:
        async def resume() -> list[str]:
            server.requests.clear()
            async with notes_service(db, profiles) as service:
                [job] = await service.recover()
                assert job.state == "running"
                final = await service.wait(job.id)
                assert final is not None and final.state == "completed", final and final.error
                assert (await service.list_sources())[1].pending_chunks == 0
                hits = await service.search("fact 7 of the vault", mode="semantic", limit=1)
                assert hits[0].title == "n07"
            return [t for t in embed_inputs(server) if "\n\n" in t]  # documents, not the query

        after = arun(resume(), timeout=60)
    finally:
        db.close()
    assert not set(after) & set(stored_before)  # nothing already stored is sent again
    assert len(after) == len(set(after)) == 10 - 4
