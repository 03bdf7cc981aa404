"""Fixtures for the store tests: a fresh migrated database in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.store.db import Database
from app.core.store.threads import ThreadRepository


class StepClock:
    """A wall clock that advances one second per reading, so orderings are deterministic."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = Database.open(db_path)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def repo(db: Database) -> ThreadRepository:
    return ThreadRepository(db, clock=StepClock())
