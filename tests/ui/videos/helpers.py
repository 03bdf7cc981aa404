"""A fake `VideoPort` for the Videos tab's tests (the real service is used where it exists)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import SwitchboardError

# What QtMultimedia's FFmpeg backend says on a machine without audio/GPU libraries (CI,
# offscreen): noise, not a failure of ours. Modules that play or grab frames ignore it.
MULTIMEDIA_NOISE = (
    r"Couldn't (load|resolve) ",
    r"propagateSizeHints",
    r"No RHI backend",
    r"No HW decoder",
    r"Using Qt multimedia with FFmpeg",
    r"PulseAudioService",  # no sound server here
    r"This plugin does not support setParent",  # offscreen: a full-screen video widget
    r"systemTrayWindowChanged",  # offscreen has no tray window
)
from app.ui.videos.records import VideoDraft, VideoRow, status_word


@dataclass
class FakeProfile:
    id: str
    name: str
    video_dialect: str = "openai"
    dialect: str = "openai"
    default_models: dict[str, str] = field(default_factory=lambda: {"video": "sora-2"})


PROFILES = [
    FakeProfile("gw", "Gateway", "openai"),
    FakeProfile("tasks", "Task host", "tasks", default_models={"video": "veo-fast"}),
    FakeProfile("gem", "Gemini", "veo", "gemini", default_models={"video": "veo-3.0"}),
    FakeProfile("chat", "Chat only", "none", "openai", default_models={}),
]


class FakePort:
    """In memory: rows keyed by id; `advance(id, state, ...)` plays the service's events."""

    def __init__(self, rows: list[VideoRow] | None = None, *, now: float = 1000.0) -> None:
        self.now = now
        self._rows: dict[int, VideoRow] = {r.job_id: r for r in rows or []}
        self._ids = itertools.count(max(self._rows, default=0) + 1)
        self._listeners: list[Callable[[VideoRow], None]] = []
        self.calls: list[tuple[str, Any]] = []
        self.fail_submit: SwitchboardError | None = None
        self.posters: dict[int, str] = {}
        self.told: dict[str, Any] = {}  # profile id -> DialectOptions the "service" gives

    def add(self, draft: VideoDraft, state: str = "running", **kw: Any) -> VideoRow:
        job_id = next(self._ids)
        self.now += 1
        # A job first seen finished took a while (elapsed is frozen at its end).
        end = (
            self.now
            if state in ("submitting", "queued", "running", "downloading")
            else self.now + 83
        )
        row = VideoRow(
            job_id, state, status_word(state, kw.pop("raw", "")), self.now, end, draft, **kw
        )
        self._rows[job_id] = row
        self._emit(row)
        return row

    def advance(self, job_id: int, state: str, raw: str = "", **kw: Any) -> VideoRow:
        self.now += 1
        row = dataclasses.replace(
            self._rows[job_id],
            state=state,
            status=status_word(state, raw),
            updated_at=self.now,
            **kw,
        )
        self._rows[job_id] = row
        self._emit(row)
        return row

    def _emit(self, row: VideoRow) -> None:
        for fn in list(self._listeners):
            fn(row)

    async def submit(self, draft: VideoDraft) -> int:
        self.calls.append(("submit", draft))
        if self.fail_submit is not None:
            raise self.fail_submit
        return self.add(draft, "submitting").job_id

    async def rows(self, limit: int = 5000) -> list[VideoRow]:
        return list(self._rows.values())[:limit]

    def on_row(self, listener: Callable[[VideoRow], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def cancel(self, job_id: int) -> str:
        self.calls.append(("cancel", job_id))
        self.advance(job_id, "cancelled")
        return "Stopped tracking: this provider cannot cancel a job."

    async def retry(self, job_id: int) -> int:
        self.calls.append(("retry", job_id))
        old = self._rows[job_id]
        return self.add(old.draft, "submitting", retry_of=job_id).job_id

    async def remove(self, job_id: int, *, delete_file: bool) -> None:
        self.calls.append(("remove", (job_id, delete_file)))
        row = self._rows.pop(job_id)
        if delete_file and row.video_path:
            import os

            os.unlink(row.video_path)

    async def poster(self, row: VideoRow) -> str:
        return self.posters.get(row.job_id, row.poster_path)

    async def options(self, profile_id: str) -> Any:
        return self.told.get(profile_id)


def rows(n: int, *, active_every: int = 5) -> list[VideoRow]:
    out = []
    for i in range(1, n + 1):
        state = "running" if i % active_every == 0 else ("failed" if i % 7 == 0 else "completed")
        out.append(
            VideoRow(
                i,
                state,
                state,
                float(i),
                float(i) + 30,
                VideoDraft("gw", "sora-2", f"prompt number {i}: a fox runs through snow"),
                progress=0.4 if state == "running" else None,
                error="The provider refused the prompt." if state == "failed" else "",
            )
        )
    return out


async def until(model: Any, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait, on the loop, until `predicate()` holds; checked after each change of `model`."""
    import asyncio

    if predicate():
        return
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(*_args: Any) -> None:
        if not fut.done() and predicate():
            fut.set_result(None)

    signals = (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset)
    for s in signals:
        s.connect(check)
    try:
        await asyncio.wait_for(fut, timeout)
    finally:
        for s in signals:
            s.disconnect(check)


async def signal_once(signal: Any, timeout: float = 10.0) -> tuple[Any, ...]:
    import asyncio

    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def got(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    signal.connect(got)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        signal.disconnect(got)
