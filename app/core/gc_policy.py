"""The app's garbage-collection policy, without Qt: collect on the event loop's thread only, and
leave start-up state out of every later collection.

- **One thread collects.** The automatic collector runs in whichever thread happens to allocate
  when a threshold is crossed (the database worker, a service's `to_thread` work, the demo
  server's handler threads). A collection holds the GIL, so one triggered there stalls the loop
  just the same; and if it frees a cycle holding QObjects, their C++ destructors run on a thread
  Qt does not allow (seen as random segfaults). So automatic collection is switched off and the
  loop's thread collects from a timer instead, with the interpreter's own generation thresholds
  (`collect_due`).
- **Start-up state is frozen.** Once start-up is over, `freeze_startup()` collects once and moves
  every object that survived (modules, classes, functions, the window's widgets) into the
  permanent generation with `gc.freeze()`, as CPython's documentation suggests for long-lived
  start-up state. A full collection then scans only what was made since. Measured: 43-48 ms of
  GUI-thread CPU per full collection right after the app's start before, under 1 ms after; in the
  core-only notes benchmark (about 52,000 objects of imports and set-up), 10-35 ms per full
  collection before, one of which landed inside a loop callback while notes indexed (a 27-35 ms
  stall in one run of five). Frozen objects are still freed by reference counting; only a cycle
  among them would stay (start-up state lives as long as the app).

`app.ui.gc_guard.GuiThreadGC` drives this from a Qt timer in the app; `LoopGC` drives it from an
asyncio loop, for the core run without a window (the `notes` benchmark measures the loop under the
policy the app runs).
"""

from __future__ import annotations

import asyncio
import gc


def due_generation(counts: tuple[int, int, int], thresholds: tuple[int, int, int]) -> int:
    """The oldest generation whose threshold `counts` crossed, or -1 when none is due."""
    generation = -1
    for gen in range(3):
        if thresholds[gen] and counts[gen] > thresholds[gen]:
            generation = gen
    return generation


def collect_due() -> int:
    """Collect the oldest generation whose threshold was crossed; returns objects freed."""
    generation = due_generation(gc.get_count(), gc.get_threshold())  # type: ignore[arg-type]
    return gc.collect(generation) if generation >= 0 else 0


class GCPolicy:
    """Automatic collection off while it lives; `freeze_startup()` once start-up is over;
    `stop()` restores the interpreter as it was found (tests run the app more than once in one
    process). The caller calls `collect_due()` from its loop's thread on a timer."""

    def __init__(self) -> None:
        self._was_enabled = gc.isenabled()
        self._froze = False
        gc.disable()

    def freeze_startup(self) -> int:
        """Collect once, then exclude everything alive from later collections; returns how many
        objects were frozen."""
        gc.collect()
        gc.freeze()
        self._froze = True
        return gc.get_freeze_count()

    def stop(self) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False
        gc.collect()
        if self._was_enabled:
            gc.enable()


class LoopGC(GCPolicy):
    """The policy on a running asyncio loop: `collect_due()` every `interval` seconds from the
    loop's thread (the app's Qt timer does the same every 500 ms)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.5) -> None:
        super().__init__()
        self._loop = loop
        self._interval = interval
        self._handle: asyncio.TimerHandle | None = loop.call_later(interval, self._tick)

    def _tick(self) -> None:
        collect_due()
        self._handle = self._loop.call_later(self._interval, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        super().stop()
