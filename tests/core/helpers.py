"""Helpers the core service tests share (not a test module): a client-pool stand-in, the demo
server's profiles without retries, a database that closes, and a service over a job engine.

The images, notes and videos conftests each build the same fixtures from these; only the key,
the database's name and the service's constructor differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from app.core.client import ProviderClient
from app.core.demo.server import DemoServer
from app.core.errors import ConfigError
from app.core.jobs import JobEngine, JobStore
from app.core.providers import ProviderProfile
from app.core.store.db import Database

__all__ = ["Clients", "open_database", "profiles_without_retries", "service_over"]


class Clients:
    """A minimal client pool: one ProviderClient per profile, closed by `aclose`."""

    def __init__(self, profiles: list[ProviderProfile], key: str | None) -> None:
        self.profiles = {p.id: p for p in profiles}
        self.key = key
        self.open: dict[str, ProviderClient] = {}

    async def get(self, profile_id: str) -> ProviderClient:
        if profile_id not in self.profiles:
            # What ClientPool raises for a deleted profile.
            raise ConfigError("This provider profile no longer exists.")
        if profile_id not in self.open:
            self.open[profile_id] = ProviderClient(self.profiles[profile_id], self.key)
        return self.open[profile_id]

    async def aclose(self) -> None:
        for client in self.open.values():
            await client.aclose()
        self.open.clear()


def profiles_without_retries(server: DemoServer) -> list[ProviderProfile]:
    """The demo server's profiles with retries off, so a fault shows at once."""
    return [dataclasses.replace(p, max_retries=0) for p in server.profiles()]


@contextmanager
def open_database(path: Path) -> Iterator[Database]:
    database = Database.open(path)
    try:
        yield database
    finally:
        database.close()


@asynccontextmanager
async def service_over[S](
    make: Callable[..., S],
    db: Database,
    profiles: list[ProviderProfile],
    key: str,
    *args: object,
    **kwargs: object,
) -> AsyncIterator[S]:
    """`make(db, engine, clients, *args, **kwargs)` over a fresh job engine and client pool;
    the service, then the engine, then the clients are closed on the way out."""
    clients = Clients(profiles, key)
    engine = JobEngine(JobStore(db))
    service: Any = make(db, engine, clients, *args, **kwargs)
    try:
        yield service
    finally:
        await service.aclose()
        await engine.aclose()
        await clients.aclose()
