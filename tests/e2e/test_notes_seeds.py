"""Notes indexing and search, end to end, in each embedding dialect a seed documents, against the
real loopback demo server enforcing it: the seed's exact embeddings path (prefix, trailing slash),
its auth header, the body it documents; and Gemini's batchEmbedContents with taskType (document
while indexing, query while searching) and outputDimensionality. One test per preset.

Seeds 000 (Mollyra, `POST /v1/embeddings`) and 002 (star-sizes, `POST /v1/embeddings`,
`intfloat/e5-large-v2`) document embeddings; seeds 001, 003 and 004 do not (004's server has no
embeddings route at all: indexing ends in a known error and nothing is marked embedded)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.demo import DemoServer
from app.core.providers import Dialect, ProviderProfile, new_profile_from_preset
from app.core.services.notes import NotesService
from app.core.store.db import Database
from tests.core.helpers import open_database, service_over
from tests.e2e.helpers import seed_profile

from .conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e
Arun = Callable[..., Any]

NOTES = {
    "network/vpn.md": "# VPN\n\n## Flaky connection\n\nThe office VPN drops every evening when the "
    "laptop sleeps. Fix: disable power saving on the wifi adapter and reconnect.\n",
    "kitchen/bread.md": "# Sourdough\n\nFeed the starter twice a day. Bake at 230 degrees with "
    "steam for the first twenty minutes.\n",
    "garden/tomatoes.txt": "Tomatoes need six hours of sun, deep watering twice a week, and a "
    "stake before the first flowers.\n",
    "docs/backups.rst": "Backups\n=======\n\nRestic runs nightly to the NAS.\n",
}


def _write(folder: Path) -> None:
    for rel, text in NOTES.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _gemini_profile(server: DemoServer) -> ProviderProfile:
    """The Gemini preset (its model and dialect) pointed at the demo's native Gemini API."""
    profile = new_profile_from_preset("gemini")
    profile.base_url = server.base_url("gemini").removesuffix("/v1beta")
    return profile


async def _index_and_search(
    profile: ProviderProfile, model: str, dim: int | None, db: Database, folder: Path
) -> tuple[str, int | None]:
    profile = dataclasses.replace(profile, max_retries=0)
    async with service_over(NotesService, db, [profile], DEMO_API_KEY, exact_limit=2) as service:
        source = await service.add_folder(folder)
        await service.set_index_model(profile.id, model, dim)
        job = await service.wait(await service.index(source.id))
        assert job is not None and job.state == "completed", job and job.error
        await service.warm()
        await service.wait_search_ready()  # above exact_limit: the graph path is searched
        hits = await service.search("the vpn drops when my laptop sleeps", mode="semantic")
        spec = await service.index_spec()
        assert spec is not None and spec.vectors == len(NOTES)
        return hits[0].title, (await service.store.indexes())[0].actual_dim


@pytest.mark.parametrize(
    ("preset", "flavour", "path"),
    [
        ("openai", "openai", "/v1/embeddings"),
        ("mollyra", "mollyra", "/v1/embeddings"),  # seed 000
        ("star-sizes", "siliconlike", "/siliconlike/v1/embeddings"),  # seed 002
    ],
)
def test_openai_compatible_seeds_index_and_search_notes(
    preset: str, flavour: str, path: str, demo_server: DemoServer, tmp_path: Path, arun: Arun
) -> None:
    if preset == "openai":
        profile = new_profile_from_preset("openai")
        profile.base_url = demo_server.base_url("openai")
    else:
        profile = seed_profile(demo_server, preset, flavour)
    model = profile.default_models["embedding"]
    folder = tmp_path / "vault"
    _write(folder)
    demo_server.requests.clear()
    with open_database(tmp_path / "notes.db") as db:
        top, dim = arun(_index_and_search(profile, model, None, db, folder), timeout=60)
    assert top == "vpn" and dim is not None and dim > 0
    sent = [r for r in demo_server.requests.snapshot() if "embed" in r.path]
    assert len(sent) >= 2  # the documents, then the query
    for request in sent:
        assert (request.method, request.path) == ("POST", path)
        assert request.auth_present and request.auth_valid is True
        assert request.headers.get("authorization") == "<redacted>"
        # What the seed documents, input (a list of texts) and model, and the encoding_format
        # "base64" that OpenAI's own SDKs send every OpenAI-compatible server by default.
        assert set(request.json) == {"input", "model", "encoding_format"}
        assert request.json["model"] == model and request.json["encoding_format"] == "base64"
        assert isinstance(request.json["input"], list) and request.json["input"]
    assert any("laptop sleeps" in t for t in sent[-1].json["input"])  # the query came last


def test_gemini_batch_embed_contents_with_task_types_and_dimensions(
    demo_server: DemoServer, tmp_path: Path, arun: Arun
) -> None:
    profile = _gemini_profile(demo_server)
    assert profile.dialect == Dialect.GEMINI
    model = profile.default_models["embedding"]
    folder = tmp_path / "vault"
    _write(folder)
    demo_server.requests.clear()
    with open_database(tmp_path / "notes.db") as db:
        top, dim = arun(_index_and_search(profile, model, 64, db, folder), timeout=60)
    assert top == "vpn" and dim == 64
    sent = [r for r in demo_server.requests.snapshot() if "embed" in r.path.lower()]
    assert len(sent) >= 2
    for request in sent:
        assert (request.method, request.path) == ("POST", f"/gemini/v1beta/models/{model}:batchEmbedContents")
        assert request.headers.get("x-goog-api-key") == "<redacted>"
        assert "authorization" not in request.headers
        for item in request.json["requests"]:
            assert item["model"] == f"models/{model}" and item["outputDimensionality"] == 64
    *documents, query = sent
    assert {i["taskType"] for r in documents for i in r.json["requests"]} == {"RETRIEVAL_DOCUMENT"}
    assert [i["taskType"] for i in query.json["requests"]] == ["RETRIEVAL_QUERY"]


def test_a_seed_without_embeddings_fails_clearly_and_keeps_the_chunks_pending(
    demo_server: DemoServer, tmp_path: Path, arun: Arun
) -> None:
    profile = dataclasses.replace(seed_profile(demo_server, "melancholy", "melancholy"), max_retries=0)
    folder = tmp_path / "vault"
    _write(folder)

    async def scenario(db: Database) -> tuple[str, int]:
        async with service_over(NotesService, db, [profile], DEMO_API_KEY) as service:
            source = await service.add_folder(folder)
            await service.set_index_model(profile.id, "some-embedding-model")
            job = await service.wait(await service.index(source.id))
            assert job is not None and job.state == "failed"
            sources = {s.id: s for s in await service.list_sources()}
            return str(job.error), sources[source.id].pending_chunks

    with open_database(tmp_path / "notes.db") as db:
        error, pending = arun(scenario(db), timeout=60)
    assert "could not be embedded" in error and "Retry" in error
    assert pending == len(NOTES)
    assert DEMO_API_KEY not in error
