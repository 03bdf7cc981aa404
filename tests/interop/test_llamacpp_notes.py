"""The notes index against llama.cpp's server (the interop suite's tiny random-weight model: real
tokenisation and real, if meaningless, embeddings). A folder is indexed as a job through
`/v1/embeddings`, vectors are stored, and a semantic search for a chunk's own text finds that
chunk first (the same text embeds to the same vector); a rescan of unchanged files sends nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.jobs import JobEngine, JobStore
from app.core.providers import KeySource, ProviderProfile, new_profile_from_preset
from app.core.services.notes import NotesService
from app.core.store.db import Database
from tests.interop.conftest import require_env

pytestmark = pytest.mark.interop

NAMES = ("SWITCHBOARD_LLAMACPP_URL", "SWITCHBOARD_LLAMACPP_KEY", "SWITCHBOARD_LLAMACPP_MODEL")
NOTES = {
    "vpn.md": "# VPN\n\nThe office VPN drops every evening when the keepalive is too long.\n",
    "garden.md": "# Garden\n\nTomatoes want six hours of sun and a deep watering twice a week.\n",
    "bread.md": "# Bread\n\nA sourdough starter needs feeding with equal weights of flour and water.\n",
}


class OneClient:
    def __init__(self, profile: ProviderProfile, key: str) -> None:
        self.client = ProviderClient(profile, key)
        self.profile = profile
        self.requests = 0
        original = self.client.embed

        async def counted(req: Any) -> Any:
            self.requests += 1
            return await original(req)

        self.client.embed = counted  # type: ignore[method-assign]

    async def get(self, profile_id: str) -> ProviderClient:
        assert profile_id == self.profile.id
        return self.client

    def profile_for(self, profile_id: str) -> ProviderProfile | None:
        return self.profile if profile_id == self.profile.id else None


def test_index_and_search_notes_with_llamacpp_embeddings(
    tmp_path: Path, arun: Callable[..., Any]
) -> None:
    env = require_env(*NAMES)
    profile = dataclasses.replace(
        new_profile_from_preset("llamacpp"),
        name="llama.cpp",
        base_url=env["SWITCHBOARD_LLAMACPP_URL"] + "/v1",
        key_source=KeySource.SESSION,
        max_retries=0,
    )
    folder = tmp_path / "vault"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    db = Database.open(tmp_path / "switchboard.db")
    clients = OneClient(profile, env["SWITCHBOARD_LLAMACPP_KEY"])

    class Profiles:
        def get(self, profile_id: str) -> ProviderProfile | None:
            return clients.profile_for(profile_id)

    async def scenario() -> tuple[Any, Any, int, Any]:
        engine = JobEngine(JobStore(db))
        notes = NotesService(db, engine, clients, profiles=Profiles())
        try:
            await notes.set_index_model(profile.id, env["SWITCHBOARD_LLAMACPP_MODEL"])
            source = await notes.add_folder(folder)
            job = await notes.wait(await notes.index(source.id))
            hits = await notes.search(NOTES["garden.md"].strip(), mode="semantic")
            sent = clients.requests
            again = await notes.wait(await notes.index(source.id))
            return job, hits, sent, (again, clients.requests - sent)
        finally:
            await notes.aclose()
            await engine.aclose()
            await clients.client.aclose()

    try:
        job, hits, sent, (again, resent) = arun(scenario(), timeout=120)
    finally:
        db.close()
    assert job.state == "completed", job.error
    assert sent >= 1
    assert hits and Path(hits[0].path).name == "garden.md"
    # The chunk is its heading plus that text: far closer to the query than the other notes.
    print([(Path(h.path).name, round(h.score, 3)) for h in hits])
    assert all(hits[0].score > other.score + 0.05 for other in hits[1:])
    assert again.state == "completed" and resent == 0  # nothing unchanged is embedded twice
