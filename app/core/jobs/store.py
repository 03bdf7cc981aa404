"""`JobStore`: the `jobs` table (schema v4), every write one statement on the database thread.

State changes are compare-and-swap (`transition(job_id, from_states, to_state)`): the engine
claims a job by moving it out of the state it read, so two recoveries, or a recovery racing a
click on Retry, can never both run it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from app.core.jobs.records import JOB_STATES, JobRecord
from app.core.store.db import Database, transaction

__all__ = ["JobStore"]

_UNSET: Any = object()


class JobStore:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def create(self, kind: str, params: dict[str, Any], *, owner_key: str = "") -> JobRecord:
        """A new job row in state `submitting` (written before anything is sent anywhere)."""
        now = self._clock()
        params_json = json.dumps(params)

        def insert(conn: sqlite3.Connection) -> JobRecord:
            cur = conn.execute(
                "INSERT INTO jobs (kind, state, owner_key, params_json, attempts, created_at,"
                " updated_at) VALUES (?, 'submitting', ?, ?, 1, ?, ?)",
                (kind, owner_key, params_json, now, now),
            )
            return _get(conn, int(cur.lastrowid or 0))  # type: ignore[return-value]

        return await self.db.run(insert)

    async def get(self, job_id: int) -> JobRecord | None:
        return await self.db.run(_get, job_id)

    async def list(
        self,
        *,
        kind: str | None = None,
        states: Collection[str] | None = None,
        owner_key: str | None = None,
        limit: int = 500,
    ) -> list[JobRecord]:
        """Jobs newest first, optionally of one kind / owner / some states."""
        where, args = _where(kind=kind, states=states, owner_key=owner_key)

        def select(conn: sqlite3.Connection) -> list[JobRecord]:
            rows = conn.execute(
                f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?", (*args, limit)
            )
            return [JobRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def update(
        self,
        job_id: int,
        *,
        state: str | None = None,
        progress: float | None = _UNSET,
        progress_text: str | None = None,
        provider_task_id: str | None = _UNSET,
        error: str | None = _UNSET,
        result: dict[str, Any] | None = None,
        merge_result: dict[str, Any] | None = None,
        may_have_reached_provider: bool | None = None,
        attempts_delta: int = 0,
        only_if_state: Iterable[str] | None = None,
        only_if_attempts: int | None = None,
    ) -> JobRecord | None:
        """Write the given fields (one statement); None when `only_if_state` did not hold.

        `result` replaces the result JSON; `merge_result` updates its top-level keys.
        `only_if_attempts` makes the write a claim: it holds only if no other run (in this
        process or another) has started an attempt since the caller read the row.
        """
        if state is not None and state not in JOB_STATES:
            raise ValueError(f"unknown job state {state!r}")
        now = self._clock()

        def write(conn: sqlite3.Connection) -> JobRecord | None:
            with transaction(conn):
                current = _get(conn, job_id)
                if current is None:
                    return None
                if only_if_state is not None and current.state not in set(only_if_state):
                    return None
                if only_if_attempts is not None and current.attempts != only_if_attempts:
                    return None
                sets: list[str] = ["updated_at = ?"]
                args: list[Any] = [now]
                if state is not None:
                    sets.append("state = ?")
                    args.append(state)
                if progress is not _UNSET:
                    sets.append("progress = ?")
                    args.append(progress)
                if progress_text is not None:
                    sets.append("progress_text = ?")
                    args.append(progress_text)
                if provider_task_id is not _UNSET:
                    sets.append("provider_task_id = ?")
                    args.append(provider_task_id)
                if error is not _UNSET:
                    sets.append("error = ?")
                    args.append(error)
                if result is not None or merge_result is not None:
                    merged = dict(current.result if result is None else result)
                    merged.update(merge_result or {})
                    sets.append("result_json = ?")
                    args.append(json.dumps(merged))
                if may_have_reached_provider is not None:
                    sets.append("may_have_reached_provider = ?")
                    args.append(int(may_have_reached_provider))
                if attempts_delta:
                    sets.append("attempts = attempts + ?")
                    args.append(attempts_delta)
                conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))
                return _get(conn, job_id)

        return await self.db.run(write)

    async def transition(
        self, job_id: int, from_states: Iterable[str], to_state: str, **fields: Any
    ) -> JobRecord | None:
        """Move the job to `to_state` only if it is in one of `from_states` (atomic claim)."""
        return await self.update(job_id, state=to_state, only_if_state=list(from_states), **fields)

    async def delete(self, job_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)))


def _get(conn: sqlite3.Connection, job_id: int) -> JobRecord | None:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else JobRecord.from_row(row)


def _where(
    *, kind: str | None, states: Collection[str] | None, owner_key: str | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if kind is not None:
        clauses.append("kind = ?")
        args.append(kind)
    if owner_key is not None:
        clauses.append("owner_key = ?")
        args.append(owner_key)
    if states is not None:
        states = list(states)
        if not states:
            clauses.append("0")
        else:
            clauses.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args
