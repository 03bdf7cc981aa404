"""The durable job record and its states (see `app.core.jobs` for the contract)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ACTIVE_STATES", "FINAL_STATES", "JOB_STATES", "JobEvent", "JobRecord", "JobState"]

JobState = Literal[
    "submitting", "running", "downloading", "completed", "failed", "cancelled", "interrupted"
]
JOB_STATES: tuple[str, ...] = (
    "submitting",
    "running",
    "downloading",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
)
# A job in one of these states is owned by a live task (or was, before a crash).
ACTIVE_STATES: frozenset[str] = frozenset({"submitting", "running", "downloading"})
# Nothing runs for a job in one of these states until someone explicitly asks (`rerun`).
FINAL_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "interrupted"})


@dataclass
class JobRecord:
    """One row of the `jobs` table.

    `params` is what the job was asked to do (JSON); `result` is what it has achieved so far
    (JSON, written as it goes: e.g. the image URLs a provider returned before they are
    downloaded, or the last file indexed), so a resumed run knows where to carry on.
    """

    id: int
    kind: str
    state: JobState = "submitting"
    owner_key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    provider_task_id: str | None = None
    progress: float | None = None  # 0..1 when known
    progress_text: str = ""
    error: str | None = None
    attempts: int = 0
    may_have_reached_provider: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        return cls(
            id=row["id"],
            kind=row["kind"],
            state=row["state"],
            owner_key=row["owner_key"],
            params=json.loads(row["params_json"] or "{}"),
            provider_task_id=row["provider_task_id"],
            progress=row["progress"],
            progress_text=row["progress_text"],
            error=row["error"],
            attempts=row["attempts"],
            may_have_reached_provider=bool(row["may_have_reached_provider"]),
            result=json.loads(row["result_json"] or "{}"),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True)
class JobEvent:
    """What a subscriber is told: `what` is "state" (the state or error changed, including
    creation) or "progress" (only progress/progress_text changed). `job` is the row as written."""

    what: Literal["state", "progress"]
    job: JobRecord
