"""Automatic titles when the first reply did not complete: the first message names the thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.services.chat import ChatService
from app.core.services.titles import fallback_title
from app.core.store.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "chat.db")
    try:
        yield database
    finally:
        database.close()


def no_client(_profile_id: str) -> Any:
    raise AssertionError("a failed first reply must not ask the model for a title")


@pytest.mark.parametrize("status", ["error", "cancelled", "interrupted"])
def test_a_thread_whose_first_reply_failed_is_titled_from_its_first_message(db: Database, arun: Any, status: str) -> None:
    service = ChatService(db, no_client)
    repo = service.threads

    async def main() -> tuple[str | None, str]:
        thread = await repo.create_thread(profile_id="gone", model="m")
        user = await repo.add_message(thread.id, None, "user", "Plan a weekend in Porto for two")
        await repo.add_message(thread.id, user.id, "assistant", "", status=status, error="refused")
        title = await service.auto_title(thread.id, ask_model=True)
        stored = await repo.get_thread(thread.id)
        assert stored is not None
        return title, stored.title

    title, stored = arun(main())
    assert title == fallback_title("Plan a weekend in Porto for two") and title.startswith("Plan a weekend")
    assert stored == title


def test_no_title_while_the_first_reply_still_streams_or_before_any_message(db: Database, arun: Any) -> None:
    service = ChatService(db, no_client)
    repo = service.threads

    async def main() -> tuple[str | None, str | None, str]:
        thread = await repo.create_thread(profile_id="p", model="m")
        empty = await service.auto_title(thread.id, ask_model=True)
        user = await repo.add_message(thread.id, None, "user", "Hello there")
        await repo.add_message(thread.id, user.id, "assistant", "Hel", status="streaming")
        streaming = await service.auto_title(thread.id, ask_model=True)
        stored = await repo.get_thread(thread.id)
        assert stored is not None
        return empty, streaming, stored.title

    assert arun(main()) == (None, None, "New chat")
