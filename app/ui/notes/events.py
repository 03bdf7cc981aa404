"""Adapts the NotesService's plain-callback events to Qt signals, for the tab's controllers.

The service calls listeners on the loop's thread (the Qt thread under qasync), so the signals are
emitted directly. `close()` unsubscribes; the tab calls it when it closes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.services.notes import NotesEvent, NotesService

__all__ = ["NotesSignals"]


class NotesSignals(QObject):
    progress = Signal(object)  # IndexProgress
    job = Signal(object)  # JobRecord
    sources = Signal()
    notes = Signal(object)  # AppNote | None

    def __init__(self, service: NotesService, parent: Any = None) -> None:
        super().__init__(parent)
        self._unsubscribe = service.subscribe(self._on_event)

    def _on_event(self, event: NotesEvent) -> None:
        if event.kind == "progress" and event.progress is not None:
            self.progress.emit(event.progress)
        elif event.kind == "job" and event.job is not None:
            self.job.emit(event.job)
        elif event.kind == "sources":
            self.sources.emit()
        elif event.kind == "notes":
            self.notes.emit(event.note)

    def close(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
