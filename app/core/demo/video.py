"""Video jobs of the demo server: created by either video dialect, progressing on a clock.

A job's state is computed from the injectable clock each time it is polled (queued for the first
10% of `duration`, running with a progress percentage, then completed), so tests drive it by
advancing a fake clock instead of sleeping. A prompt containing "fail" fails half-way.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class VideoJob:
    id: str
    prompt: str
    model: str
    style: str  # "openai" | "tasks"
    created_at: float  # on the server's clock
    created_epoch: int
    duration: float  # seconds until completed, fixed at creation
    seconds: str = "4"
    size: str = "1280x720"
    aspect_ratio: str | None = None

    @property
    def will_fail(self) -> bool:
        return "fail" in self.prompt.lower()

    def state(self, now: float) -> tuple[str, int]:
        """("queued" | "running" | "completed" | "failed", progress 0..100) at time `now`."""
        elapsed = now - self.created_at
        if self.will_fail and elapsed >= self.duration * 0.5:
            return "failed", 50
        if elapsed >= self.duration:
            return "completed", 100
        if elapsed < self.duration * 0.1:
            return "queued", 0
        return "running", max(1, min(99, int(100 * elapsed / self.duration)))


class VideoStore:
    """Thread-safe registry of video jobs by id."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._jobs: dict[str, VideoJob] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def create(
        self,
        *,
        prompt: str,
        model: str,
        style: str,
        duration: float,
        created_epoch: int,
        seconds: str = "4",
        size: str = "1280x720",
        aspect_ratio: str | None = None,
    ) -> VideoJob:
        prefix = "video_" if style == "openai" else "task_"
        job = VideoJob(
            id=prefix + uuid.uuid4().hex[:24],
            prompt=prompt,
            model=model,
            style=style,
            created_at=self._clock(),
            created_epoch=created_epoch,
            duration=max(0.0, duration),
            seconds=seconds,
            size=size,
            aspect_ratio=aspect_ratio,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> VideoJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
