"""The generations beside the form: one row per job, with its state, progress, elapsed time and
Cancel; a failed one becomes an error card with the provider's message, what to do next, and the
buttons that do it (Retry download, Run again, Dismiss).

Rows are keyed by job id and fed `JobView` records by the controller; this widget knows nothing of
the service. A one-second timer refreshes the elapsed times of active rows only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.ui.images.icons import standard

__all__ = ["JobList", "JobRow", "JobView", "next_step"]

ACTIVE = frozenset({"submitting", "running", "downloading"})
STATE_TEXT = {
    "submitting": "Sending…",
    "running": "Generating…",
    "downloading": "Saving images…",
    "completed": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted",
}


@dataclass
class JobView:
    """One generation as the list shows it."""

    id: int
    state: str
    prompt: str = ""
    created_at: float = 0.0
    progress: float | None = None  # 0..1
    progress_text: str = ""
    error: str = ""
    saved: int = 0  # images saved so far
    wanted: int = 1  # images asked for
    can_retry_download: bool = False
    may_have_reached_provider: bool = False


def next_step(
    error: str,
    state: str,
    may_have_reached_provider: bool = False,
    can_retry_download: bool = False,
) -> str:
    """What the user can do about a failed or interrupted generation, in one sentence."""
    low = error.lower()
    if can_retry_download:
        return "Retry the download while the provider still keeps the images, or run it again."
    if state == "interrupted":
        if may_have_reached_provider:
            return (
                "The request may have reached the provider before the app stopped; run it "
                "again only if no image arrived (it may be billed twice)."
            )
        return "It stopped before anything was sent; run it again."
    if "rate" in low and "limit" in low or "429" in low:
        return "Wait a moment, then run it again (or lower the count)."
    if "moderat" in low or "safety" in low or "policy" in low or "refus" in low:
        return "Reword the prompt, then run it again."
    if "size" in low:
        return "Pick a size this model supports, then run it again."
    if "expire" in low or "download" in low:
        return "Retry the download while the provider still keeps the image, or run it again."
    if "key" in low or "401" in low or "unauthor" in low:
        return "Check the profile's API key in Settings."
    if "connect" in low or "reach" in low or "timed out" in low or "timeout" in low:
        return "Check the connection or the profile's address, then run it again."
    return "Change the settings if the message asks for it, then run it again."


class JobRow(QFrame):
    """One generation: state, progress, elapsed, and its buttons."""

    cancelRequested = Signal(int)
    retryDownloadRequested = Signal(int)
    rerunRequested = Signal(int)
    dismissRequested = Signal(int)

    def __init__(
        self, job: JobView, clock: Callable[[], float], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.job_id = job.id
        self._clock = clock
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Generation {job.id}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.prompt_label = QLabel()
        self.prompt_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.prompt_label, 1)
        self.elapsed_label = QLabel()
        self.elapsed_label.setProperty("role", "muted")
        self.elapsed_label.setAccessibleName("Elapsed time")
        top.addWidget(self.elapsed_label)
        layout.addLayout(top)
        mid = QHBoxLayout()
        self.state_label = QLabel()
        self.state_label.setAccessibleName("State")
        mid.addWidget(self.state_label)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Progress")
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        mid.addWidget(self.progress, 1)
        self.cancel_button = QPushButton(
            standard(QStyle.StandardPixmap.SP_DialogCancelButton), "Cancel"
        )
        self.cancel_button.setToolTip("Stop this generation (images already saved stay)")
        self.cancel_button.clicked.connect(lambda: self.cancelRequested.emit(self.job_id))
        mid.addWidget(self.cancel_button)
        layout.addLayout(mid)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setAccessibleName("Error")
        self.error_label.setProperty("role", "error")
        layout.addWidget(self.error_label)
        self.next_label = QLabel()
        self.next_label.setWordWrap(True)
        self.next_label.setAccessibleName("What to do next")
        layout.addWidget(self.next_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.retry_button = QPushButton(
            standard(QStyle.StandardPixmap.SP_ArrowDown), "Retry download"
        )
        self.retry_button.clicked.connect(lambda: self.retryDownloadRequested.emit(self.job_id))
        self.rerun_button = QPushButton(
            standard(QStyle.StandardPixmap.SP_BrowserReload), "Run again"
        )
        self.rerun_button.clicked.connect(lambda: self.rerunRequested.emit(self.job_id))
        self.dismiss_button = QPushButton(
            standard(QStyle.StandardPixmap.SP_DialogCloseButton), "Dismiss"
        )
        self.dismiss_button.clicked.connect(lambda: self.dismissRequested.emit(self.job_id))
        for b in (self.retry_button, self.rerun_button, self.dismiss_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.job = job
        self.update_job(job)

    @property
    def active(self) -> bool:
        return self.job.state in ACTIVE

    def update_job(self, job: JobView) -> None:
        self.job = job
        prompt = " ".join(job.prompt.split())
        self.prompt_label.setText(prompt if len(prompt) <= 80 else prompt[:79] + "…")
        self.prompt_label.setToolTip(job.prompt)
        active = job.state in ACTIVE
        text = STATE_TEXT.get(job.state, job.state)
        if job.progress_text and active:
            text = job.progress_text
        if job.wanted > 1 or job.saved:
            text += f"  {job.saved}/{job.wanted}"
        self.state_label.setText(text)
        if job.progress is None and active:
            self.progress.setRange(0, 0)  # busy
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(
                round((job.progress or (1.0 if job.state == "completed" else 0.0)) * 100)
            )
        self.progress.setVisible(active)
        self.cancel_button.setVisible(active)
        failed = job.state in ("failed", "interrupted")
        self.error_label.setVisible(failed and bool(job.error))
        self.error_label.setText(job.error)
        self.next_label.setVisible(failed)
        self.next_label.setText(
            next_step(job.error, job.state, job.may_have_reached_provider, job.can_retry_download)
            if failed
            else ""
        )
        self.retry_button.setVisible(failed and job.can_retry_download)
        self.rerun_button.setVisible(failed or job.state == "cancelled")
        self.dismiss_button.setVisible(not active)
        role = "errorCard" if failed else ""
        if self.property("role") != role:
            # Re-polishing restyles every child: only when the card's look really changes.
            self.setProperty("role", role)
            self.style().unpolish(self)
            self.style().polish(self)
        self.tick()

    def tick(self) -> None:
        start = self.job.created_at or self._clock()
        seconds = max(0, int(self._clock() - start)) if self.active else None
        if seconds is None:
            self.elapsed_label.setText("")
            return
        self.elapsed_label.setText(f"{seconds // 60}:{seconds % 60:02d}")


class JobList(QWidget):
    """The column of generation rows, newest on top."""

    cancelRequested = Signal(int)
    retryDownloadRequested = Signal(int)
    rerunRequested = Signal(int)
    dismissRequested = Signal(int)

    def __init__(
        self, clock: Callable[[], float] = time.time, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Generations")
        self._clock = clock
        self._rows: dict[int, JobRow] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def rows(self) -> dict[int, JobRow]:
        return dict(self._rows)

    def row(self, job_id: int) -> JobRow | None:
        return self._rows.get(job_id)

    def update_job(self, job: JobView) -> JobRow:
        row = self._rows.get(job.id)
        if row is None:
            row = JobRow(job, self._clock)
            row.cancelRequested.connect(self.cancelRequested)
            row.retryDownloadRequested.connect(self.retryDownloadRequested)
            row.rerunRequested.connect(self.rerunRequested)
            row.dismissRequested.connect(self.dismiss)
            row.dismissRequested.connect(self.dismissRequested)
            self._rows[job.id] = row
            self._layout.insertWidget(0, row)
        else:
            row.update_job(job)
        self._sync_timer()
        return row

    def dismiss(self, job_id: int) -> None:
        row = self._rows.pop(job_id, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self._sync_timer()

    def _sync_timer(self) -> None:
        any_active = any(r.active for r in self._rows.values())
        if any_active and not self._timer.isActive():
            self._timer.start()
        elif not any_active:
            self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        for row in self._rows.values():
            if row.active:
                row.tick()
