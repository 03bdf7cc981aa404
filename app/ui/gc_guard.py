"""Run Python's cyclic garbage collector on the GUI thread only.

The automatic collector runs in whichever thread happens to allocate when a threshold is crossed
— here that can be the database worker or the demo server's handler threads. If it then frees a
cycle holding QObjects, their C++ destructors run on that thread, which Qt does not allow (seen
as random segfaults). So automatic collection is switched off and a timer on the GUI thread
collects instead, with the same generation thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGC(QObject):
    """Disables automatic GC and collects from a GUI-thread timer; `stop()` restores it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int:
        """Collect the oldest generation whose threshold was crossed; returns objects freed."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        generation = -1
        for gen in range(3):
            if thresholds[gen] and counts[gen] > thresholds[gen]:
                generation = gen
        return gc.collect(generation) if generation >= 0 else 0

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
