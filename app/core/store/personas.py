"""Personas: named system prompts a user can start a chat with."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from app.core.store.db import Database
from app.core.store.records import Persona

__all__ = ["PersonaRepository"]


class PersonaRepository:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def create(self, name: str, system_prompt: str = "") -> Persona:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> Persona:
            cur = conn.execute(
                "INSERT INTO personas (name, system_prompt, created_at) VALUES (?, ?, ?)",
                (name, system_prompt, now),
            )
            return Persona(int(cur.lastrowid or 0), name, system_prompt, now)

        return await self.db.run(insert)

    async def get(self, persona_id: int) -> Persona | None:
        def select(conn: sqlite3.Connection) -> Persona | None:
            row = conn.execute("SELECT * FROM personas WHERE id = ?", (persona_id,)).fetchone()
            return None if row is None else Persona.from_row(row)

        return await self.db.run(select)

    async def list_all(self) -> list[Persona]:
        def select(conn: sqlite3.Connection) -> list[Persona]:
            rows = conn.execute("SELECT * FROM personas ORDER BY name COLLATE NOCASE, id")
            return [Persona.from_row(r) for r in rows]

        return await self.db.run(select)

    async def update(self, persona_id: int, *, name: str, system_prompt: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE personas SET name = ?, system_prompt = ? WHERE id = ?",
                (name, system_prompt, persona_id),
            )
        )

    async def delete(self, persona_id: int) -> None:
        await self.db.run(
            lambda conn: conn.execute("DELETE FROM personas WHERE id = ?", (persona_id,))
        )
