"""The indexing progress card: a bar, files / chunks / tokens / ETA, and pause, resume, cancel,
retry failed batches. It only shows what it is told (`show_progress`, `show_job`); the
IndexingController decides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from app.core.jobs import JobRecord
from app.core.services.notes import IndexProgress

__all__ = ["ProgressPanel", "format_eta", "format_progress"]


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s left"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min left"


def format_progress(p: IndexProgress) -> str:
    """One line of progress, e.g. "Embedding · files 40/40 · chunks 120/300 · 45,210 tokens"."""
    phase = {"scanning": "Reading files", "embedding": "Embedding", "done": "Done"}[p.phase]
    parts = [phase, f"files {p.files_done:,}/{p.files_total:,}"]
    if p.phase != "scanning" or p.chunks_total:
        parts.append(f"chunks {p.chunks_done:,}/{p.chunks_total:,}")
    parts.append(f"{p.tokens:,} tokens")
    if p.phase != "done":
        parts.append(format_eta(p.eta_seconds))
    if p.failed_batches:
        parts.append(f"{p.failed_batches} batch{'es' if p.failed_batches != 1 else ''} failed")
    return " · ".join(parts)


class ProgressPanel(QFrame):
    """Shows one indexing job. Buttons emit; the controller acts."""

    pauseClicked = Signal()
    resumeClicked = Signal()
    cancelClicked = Signal()
    retryClicked = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("notesProgress")
        self.setAccessibleName("Indexing progress")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel("Indexing")
        self.title.setProperty("role", "subheading")
        column.addWidget(self.title)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Indexing progress bar")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        column.addWidget(self.bar)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName("Indexing details")
        column.addWidget(self.detail)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setProperty("role", "error")
        self.error.setAccessibleName("Indexing error")
        self.error.hide()
        column.addWidget(self.error)
        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setToolTip("Send again only the chunks that still have no vector")
        for button in (
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.retry_button,
        ):
            button.setAccessibleName(f"{button.text()} indexing")
            row.addWidget(button)
        row.addStretch(1)
        column.addLayout(row)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.resume_button.clicked.connect(self.resumeClicked)
        self.cancel_button.clicked.connect(self.cancelClicked)
        self.retry_button.clicked.connect(self.retryClicked)
        self.job: JobRecord | None = None
        self.show_job(None)

    def show_progress(self, p: IndexProgress) -> None:
        fraction = p.fraction
        if fraction is None:
            self.bar.setRange(0, 0)  # busy
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
        self.detail.setText(format_progress(p))

    def show_job(self, job: JobRecord | None) -> None:
        """Buttons follow the job's state; None hides the card."""
        self.job = job
        if job is None:
            self.hide()
            return
        self.show()
        state = job.state
        running = state in ("submitting", "running", "downloading")
        paused = state == "interrupted"
        failed = state == "failed"
        self.title.setText(
            {
                "completed": "Indexed",
                "cancelled": "Indexing cancelled",
                "failed": "Indexing stopped",
                "interrupted": "Indexing paused",
            }.get(state, "Indexing…")
        )
        self.pause_button.setVisible(running)
        self.resume_button.setVisible(paused)
        self.cancel_button.setVisible(running or paused)
        self.retry_button.setVisible(failed)
        if state == "completed":
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
        error = job.error or ""
        self.error.setText(error)
        self.error.setVisible(bool(error) and state in ("failed", "interrupted"))
