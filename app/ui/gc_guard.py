"""Run Python's cyclic garbage collector on the GUI thread only.

The automatic collector runs in whichever thread happens to allocate when a threshold is crossed
— here that can be the database worker or the demo server's handler threads. If it then frees a
cycle holding QObjects, their C++ destructors run on that thread, which Qt does not allow (seen
as random segfaults). So automatic collection is switched off and a timer on the GUI thread
collects instead, with the same generation thresholds.

Once start-up is over, `freeze_startup()` collects once and moves every object that survived
(modules, classes, functions, the window's widgets: ~65,000 objects) into the permanent
generation with `gc.freeze()`, as CPython's documentation suggests for long-lived start-up state.
A full collection then scans only what was made since, instead of all of it: measured on this
app right after start, 43-48 ms of GUI-thread CPU per full collection before, under 1 ms after —
otherwise every full collection was a dropped frame while a reply streams, the gallery scrolls or
notes index. Frozen objects are still freed by reference counting; only a cycle among them would
stay (start-up state lives as long as the app). `stop()` unfreezes, so the interpreter is left as
it was found (tests run the app more than once in one process).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGC(QObject):
    """Disables automatic GC and collects from a GUI-thread timer; `stop()` restores it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._froze = False
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

    def freeze_startup(self) -> int:
        """Collect once, then exclude everything alive from later collections; returns how many
        objects were frozen."""
        gc.collect()
        gc.freeze()
        self._froze = True
        return gc.get_freeze_count()

    def stop(self) -> None:
        self._timer.stop()
        if self._froze:
            gc.unfreeze()
            self._froze = False
        gc.collect()
        if self._was_enabled:
            gc.enable()
