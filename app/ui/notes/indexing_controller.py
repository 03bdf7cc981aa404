"""Indexing progress: follows the service's job and progress events into the ProgressPanel and
turns its buttons into pause / resume / cancel / retry failed batches. Given the service, a spawn
function, the panel and the event signals; never the tab."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.services.notes import INDEX_KIND
from app.ui.notes.events import NotesSignals
from app.ui.notes.progress_panel import ProgressPanel

if TYPE_CHECKING:
    from app.core.jobs import JobRecord
    from app.core.services.notes import IndexProgress, NotesService

__all__ = ["IndexingController"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class IndexingController(QObject):
    """`jobChanged(JobRecord)` after the panel showed a job's new state."""

    jobChanged = Signal(object)
    progressShown = Signal(object)
    finished = Signal(object)  # JobRecord that reached a final state

    def __init__(
        self,
        service: NotesService,
        spawn: Spawn,
        panel: ProgressPanel,
        signals: NotesSignals,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._spawn = spawn
        self.panel = panel
        self.job_id: int | None = None
        signals.job.connect(self._on_job)
        signals.progress.connect(self._on_progress)
        panel.pauseClicked.connect(lambda: self._act(self.service.pause))
        panel.resumeClicked.connect(lambda: self._act(self.service.resume))
        panel.cancelClicked.connect(lambda: self._act(self.service.cancel))
        panel.retryClicked.connect(lambda: self._act(self.service.retry_failed))

    async def load(self) -> None:
        """Show the latest indexing job that still needs the user (running, paused, failed)."""
        jobs = [j for j in await self.service.jobs(limit=5) if j.kind == INDEX_KIND]
        if not jobs:
            return
        latest = max(jobs, key=lambda j: (j.updated_at, j.id))
        if latest.state in ("completed", "cancelled"):
            return
        self.follow(latest.id)
        self._on_job(latest)

    def follow(self, job_id: int) -> None:
        self.job_id = job_id
        progress = self.service.progress(job_id)
        if progress is not None:
            self._on_progress(progress)

    def _act(self, action: Callable[[int], Coroutine[Any, Any, Any]]) -> None:
        if self.job_id is not None:
            self._spawn(action(self.job_id))

    def _on_job(self, job: JobRecord) -> None:
        if job.kind != INDEX_KIND:
            return
        if self.job_id is None or job.id >= self.job_id or job.id == self.job_id:
            self.job_id = job.id
        if job.id != self.job_id:
            return
        self.panel.show_job(job)
        self.jobChanged.emit(job)
        if job.state in ("completed", "failed", "cancelled"):
            self.finished.emit(job)

    def _on_progress(self, progress: IndexProgress) -> None:
        if self.job_id is None:
            self.job_id = progress.job_id
        if progress.job_id != self.job_id:
            return
        self.panel.setVisible(True)
        self.panel.show_progress(progress)
        self.progressShown.emit(progress)
