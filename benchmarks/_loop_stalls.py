"""The 5 ms ticker the service benchmarks measure event-loop stalls with.

It sleeps `period` again and again on the loop under test and records, in ms, how much later than
asked each sleep returned: a wall-clock figure, so it includes the machine's own scheduling noise,
which `idle_baseline()` measures first on the same loop. Shared by benchmarks/images.py,
benchmarks/videos.py and benchmarks/notes.py.

Those run the core on a plain asyncio loop, without the window; `app_gc_policy()` gives that loop
the collector policy the window's loop runs under (app.core.gc_policy), so that a stall measured
here is one the app would have.
"""

from __future__ import annotations

import asyncio

from app.core.gc_policy import LoopGC

__all__ = ["StallTicker", "app_gc_policy"]


def app_gc_policy() -> LoopGC:
    """The app's collector policy on the running loop, start-up state frozen now (call it once
    the set-up is done, as the window does after its start); `stop()` it at the end. Without
    it, the interpreter's automatic collector may run a full collection over all the imports
    and set-up (10-35 ms on this machine), in a worker thread or a loop callback: a stall the
    app never has."""
    policy = LoopGC(asyncio.get_running_loop())
    policy.freeze_startup()
    return policy


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


_CONTROL_SOURCE = r"""
import json, select, sys, time
period = float(sys.argv[1])
late_ticks = []
while True:
    start = time.monotonic()
    ready, _, _ = select.select([sys.stdin], [], [], period)
    if ready:  # the parent closed stdin: stop
        break
    late = (time.monotonic() - start - period) * 1000
    if late > 0.5:
        late_ticks.append((start, late))
print(json.dumps(late_ticks), flush=True)
"""


class ControlTicker:
    """The same 5 ms ticks in a separate, otherwise idle process (same priority): what the
    machine does to any process at that moment (a virtual CPU the host did not run, interrupts,
    other load), as opposed to what the process under test does to its own loop (a long
    callback, the GIL held by a worker thread). `shared(start, late)` is the control's worst
    lateness over an interval of the process under test; both use `time.monotonic()`, the
    clock of asyncio's `loop.time()`."""

    def __init__(self, period: float = 0.005) -> None:
        import subprocess
        import sys

        self.period = period
        self.late: list[tuple[float, float]] = []  # (tick start, ms late), ticks > 0.5 ms late
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CONTROL_SOURCE, str(period)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def stop(self) -> None:
        import json

        out, _ = self._proc.communicate(input="", timeout=30)
        self.late = [tuple(x) for x in json.loads(out or "[]")]  # type: ignore[misc]

    def longest(self) -> float:
        """The worst lateness (ms) of any of its ticks (after `stop()`)."""
        return max((late for _, late in self.late), default=0.0)

    def shared(self, start: float, late_ms: float) -> float:
        """The control's worst lateness (ms) among its ticks overlapping [start, start +
        period + late]."""
        end = start + self.period + late_ms / 1000
        return max(
            (late for s, late in self.late if s < end and s + self.period + late / 1000 > start),
            default=0.0,
        )


def machine_floor_ms(seconds: float = 10.0, period: float = 0.005) -> tuple[float, float]:
    """(longest tick of an idle process alone, longest while another process keeps one CPU
    busy), in ms, over `seconds` each: the machine's own stalls, with no Switchboard code in
    the measured process. On a virtual machine whose idle vCPUs are slow to wake, the second is
    far above the first (seen here: ~1-2 ms alone, 39-58 ms beside one busy process)."""
    import subprocess
    import sys
    import time

    def longest() -> float:
        ticker = ControlTicker(period)
        time.sleep(seconds)
        ticker.stop()
        return ticker.longest()

    alone = longest()
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.monotonic() + %r\nwhile time.monotonic() < end: pass" % (seconds + 5)]
    )
    try:
        busy = longest()
    finally:
        spinner.kill()
        spinner.wait()
    return alone, busy
