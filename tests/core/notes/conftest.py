"""Fixtures for the notes tests: the real loopback demo server (its embeddings) and a service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.services.notes import NotesService
from app.core.store.db import Database
from tests.core.helpers import open_database, profiles_without_retries, service_over

KEY = "sk-notes-secret-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()


@pytest.fixture
def profiles(server: DemoServer) -> list[ProviderProfile]:
    return profiles_without_retries(server)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "notes.db") as database:
        yield database


def write_notes(folder: Path, notes: dict[str, str]) -> None:
    for rel, text in notes.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


SAMPLE = {
    "network/vpn.md": "# VPN\n\n## Flaky connection\n\nThe office VPN drops every evening when the "
    "laptop sleeps. Fix: disable power saving on the wifi adapter and reconnect.\n",
    "kitchen/bread.md": "# Sourdough\n\nFeed the starter twice a day. Bake at 230 degrees with "
    "steam for the first twenty minutes.\n",
    "garden/tomatoes.txt": "Tomatoes need six hours of sun, deep watering twice a week, and a "
    "stake before the first flowers.\n",
    "docs/guide.rst": "Backups\n=======\n\nRestic runs nightly to the NAS.\n\nRestore\n-------\n\n"
    "Use restic restore latest --target /tmp/restore.\n",
    ".git/config": "ignored",
    "node_modules/x/readme.md": "# ignored module readme",
}


@asynccontextmanager
async def notes_service(
    db: Database, profiles: list[ProviderProfile], **kwargs: object
) -> AsyncIterator[NotesService]:
    async with service_over(NotesService, db, profiles, KEY, **kwargs) as service:
        yield service
