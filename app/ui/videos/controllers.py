"""The Videos tab's controllers. Each is given what it uses (the port to the service, a spawn
function, its view and the few effects it causes); none knows the tab.

- `SubmitController`: the form's Submit -> `port.submit`, a known error shown in the form.
- `QueueController`: fills the queue, follows the service's row events, runs the row actions
  (cancel, retry, remove, open, reveal, save as, copy prompt, use these settings, play) and
  tells the notifier when a job completes.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import SwitchboardError
from app.ui.videos.port import VideoPort
from app.ui.videos.queue_model import QueueModel
from app.ui.videos.queue_view import QueuePanel
from app.ui.videos.records import VideoDraft, VideoRow
from app.ui.videos.submit_form import SubmitForm

__all__ = ["Effects", "QueueController", "SubmitController"]

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, Any]], Any]


class SubmitController(QObject):
    submitted = Signal(int)  # the new job's id

    def __init__(self, port: VideoPort, spawn: Spawn, form: SubmitForm) -> None:
        super().__init__(form)
        self.port = port
        self.spawn = spawn
        self.form = form
        form.submitRequested.connect(self._on_submit)
        form.profile_combo.currentIndexChanged.connect(self.refresh_options)

    def refresh_options(self, *_args: object) -> None:
        """Ask the service for the chosen profile's fields and words."""
        profile_id = self.form.profile_id()
        if profile_id:
            self.spawn(self.load_options(profile_id))

    async def load_options(self, profile_id: str) -> None:
        opts = await self.port.options(profile_id)
        if opts is not None:
            self.form.apply_options(profile_id, opts)

    def _on_submit(self, draft: VideoDraft) -> None:
        self.spawn(self.submit(draft))

    async def submit(self, draft: VideoDraft) -> int | None:
        self.form.submit_button.setEnabled(False)
        self.form.submit_button.setText("Submitting…")
        try:
            job_id = await self.port.submit(draft)
        except SwitchboardError as exc:
            # Known: a bad key, a refused prompt, a full disk... said where Submit was pressed.
            self.form.show_error(exc.user_message)
            return None
        finally:
            self.form.submit_button.setText("Submit")
            self.form.submit_button.setEnabled(not self.form.problem())
        self.form.show_error("")
        self.submitted.emit(job_id)
        return job_id


@dataclass
class Effects:
    """What the queue's actions do outside the tab (replaced in tests)."""

    confirm: Callable[[str, str, str], Awaitable[bool]]  # (title, text, yes label)
    ask_save_path: Callable[[str], Awaitable[str]]  # suggested path -> chosen, "" if cancelled
    open_url: Callable[[str], None]  # a local path opened with the desktop's handler
    reveal: Callable[[str], None]  # show a file in the file manager
    copy_text: Callable[[str], None]
    status: Callable[[str], None]  # a short message for the status bar


class QueueController(QObject):
    playRequested = Signal(object)  # VideoRow
    reuseRequested = Signal(object)  # VideoDraft
    jobCompleted = Signal(object)  # VideoRow: finished while we watched
    loaded = Signal()

    def __init__(
        self,
        port: VideoPort,
        spawn: Spawn,
        panel: QueuePanel,
        effects: Effects,
        *,
        limit: int = 5000,
    ) -> None:
        super().__init__(panel)
        self.port = port
        self.spawn = spawn
        self.panel = panel
        self.model: QueueModel = panel.model
        self.effects = effects
        self.limit = limit
        self._unsubscribe: Callable[[], None] | None = None
        self._pending_select: int | None = None
        panel.actionRequested.connect(self.run_action)

    def start(self) -> None:
        self._unsubscribe = self.port.on_row(self._on_row)
        self.spawn(self.load())

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def load(self) -> None:
        rows = await self.port.rows(limit=self.limit)
        # Events that arrived while loading are newer than the list: keep them.
        known = {r.job_id: r for r in self.model.rows()}
        merged = {r.job_id: r for r in rows}
        for job_id, row in known.items():
            if row.updated_at >= merged.get(job_id, row).updated_at:
                merged[job_id] = row
        self.model.set_rows(list(merged.values()))
        self.loaded.emit()

    def _on_row(self, row: VideoRow) -> None:
        old = self.model.row_for(row.job_id)
        if row.state == "removed":
            self.model.remove(row.job_id)
            return
        self.model.upsert(row)
        if row.state == "completed" and (old is None or old.state != "completed"):
            self.jobCompleted.emit(row)
        if self._pending_select == row.job_id:
            self._pending_select = None
            self.panel.select(row.job_id)

    def select_when_shown(self, job_id: int) -> None:
        if self.model.row_for(job_id) is not None:
            self.panel.select(job_id)
        else:
            self._pending_select = job_id

    # -- actions --

    def run_action(self, action: str, job_id: int) -> None:
        row = self.model.row_for(job_id)
        if row is None:
            return
        if action == "copy":
            self.effects.copy_text(row.draft.prompt)
            self.effects.status("Prompt copied.")
        elif action == "reuse":
            self.reuseRequested.emit(row.draft)
        elif action == "play":
            self.playRequested.emit(row)
        elif action == "open":
            self.effects.open_url(row.video_path)
        elif action == "reveal":
            self.effects.reveal(row.video_path)
        elif action == "cancel":
            self.spawn(self.cancel(row))
        elif action == "retry":
            self.spawn(self.retry(row))
        elif action == "remove":
            self.spawn(self.remove(row))
        elif action == "save":
            self.spawn(self.save_as(row))

    async def _known(self, work: Awaitable[Any]) -> Any:
        try:
            return await work
        except SwitchboardError as exc:
            self.effects.status(exc.user_message)
            return None

    async def cancel(self, row: VideoRow) -> None:
        said = await self._known(self.port.cancel(row.job_id))
        if said:
            self.effects.status(said)

    async def retry(self, row: VideoRow) -> int | None:
        new_id = await self._known(self.port.retry(row.job_id))
        if new_id is not None:
            self.select_when_shown(int(new_id))
        return new_id

    async def remove(self, row: VideoRow) -> bool:
        has_file = bool(row.video_path) and Path(row.video_path).exists()
        text = "Remove this job from the queue?"
        if has_file:
            text = "Remove this job and delete its video file? This cannot be undone."
        if not await self.effects.confirm("Remove video", text, "Remove"):
            return False
        try:
            await self.port.remove(row.job_id, delete_file=has_file)
        except SwitchboardError as exc:
            self.effects.status(exc.user_message)
            return False
        self.model.remove(row.job_id)
        return True

    async def save_as(self, row: VideoRow) -> str:
        source = Path(row.video_path)
        target = await self.effects.ask_save_path(str(Path.home() / source.name))
        if not target:
            return ""
        try:
            await asyncio.to_thread(_copy_atomically, source, Path(target))
        except OSError as exc:
            self.effects.status(f"The video could not be saved to {target}: {exc.strerror or exc}.")
            return ""
        self.effects.status(f"Saved {Path(target).name}.")
        return target


def _copy_atomically(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    try:
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
