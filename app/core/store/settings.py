"""Application settings as a key/value table; values are stored as JSON."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from app.core.store.db import Database

__all__ = ["SettingsRepository"]


class SettingsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str, default: Any = None) -> Any:
        """The value stored under `key` (decoded from JSON), or `default`."""

        def select(conn: sqlite3.Connection) -> Any:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            return default if row is None or row[0] is None else json.loads(row[0])

        return await self.db.run(select)

    async def set(self, key: str, value: Any) -> None:
        text = json.dumps(value)
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, text),
            )
        )

    async def delete(self, key: str) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM settings WHERE key = ?", (key,)))

    async def all(self) -> dict[str, Any]:
        def select(conn: sqlite3.Connection) -> dict[str, Any]:
            return {
                r[0]: None if r[1] is None else json.loads(r[1])
                for r in conn.execute("SELECT key, value FROM settings ORDER BY key")
            }

        return await self.db.run(select)
