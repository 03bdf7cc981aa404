"""Run Python's cyclic garbage collector on the GUI thread only, and leave start-up state out of
later collections: the policy of `app.core.gc_policy` (which says why, with the measurements),
driven by a Qt timer on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from app.core.gc_policy import GCPolicy, collect_due


class GuiThreadGC(QObject):
    """Disables automatic GC and collects from a GUI-thread timer; `stop()` restores it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._policy = GCPolicy()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int:
        """Collect the oldest generation whose threshold was crossed; returns objects freed."""
        return collect_due()

    def freeze_startup(self) -> int:
        """Collect once, then exclude everything alive from later collections; returns how many
        objects were frozen."""
        return self._policy.freeze_startup()

    def stop(self) -> None:
        self._timer.stop()
        self._policy.stop()
