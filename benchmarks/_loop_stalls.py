"""The 5 ms ticker the service benchmarks measure event-loop stalls with.

It sleeps `period` again and again on the loop under test and records, in ms, how much later than
asked each sleep returned: a wall-clock figure, so it includes the machine's own scheduling noise,
which `idle_baseline()` measures first on the same loop. Shared by benchmarks/images.py,
benchmarks/videos.py and benchmarks/notes.py.
"""

from __future__ import annotations

import asyncio

__all__ = ["StallTicker"]


class StallTicker:
    """`start()`, the work, `await stop()`; the lateness of each tick is in `stalls` (ms)."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.stalls: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            t = loop.time()
            await asyncio.sleep(self.period)
            self.stalls.append((loop.time() - t - self.period) * 1000)

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def idle_baseline(self, seconds: float = 0.5) -> float:
        """The worst tick over `seconds` of an otherwise idle loop; `stalls` is cleared after."""
        self.start()
        await asyncio.sleep(seconds)
        await self.stop()
        baseline = max(self.stalls)
        self.stalls.clear()
        return baseline
