"""A shorter thread switch interval while notes are indexed: 1 ms instead of Python's 5 ms.

While an indexing run goes, the event loop shares the GIL with several busy worker threads (the
database thread writing chunks and FTS rows, numpy packing vectors, the scanner reading and
chunking files). A thread that wants the GIL waits until the holder reaches a switch point, and
with several busy threads the loop can lose several turns in a row: at 5 ms that showed as loop
stalls of 15–37 ms, although no callback of the loop ran longer than 10 ms (issue 12).

Measured with the `notes` suite's indexing rows on an idle 2-core machine: longest loop stall
9.2–36.9 ms over nine runs at 5 ms (three above 16 ms), 9.6–13.7 ms over eight runs at 1 ms; the
client's own indexing time stayed at 1.7–2.8 s.

It is not the app-wide setting, because it hurts where the loop itself is the busy thread: with
1 ms for the whole run, the `images` suite's stalls while ten generations arrive went from
3–7 ms to 16–25 ms (the loop, painting, was made to hand the GIL to the decoding threads more
often). So `NotesService` holds `shorter_switch_interval()` only while a run indexes; nested
holders share it, and the last one out puts back the interval it found.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.001

__all__ = ["SWITCH_INTERVAL_S", "shorter_switch_interval"]

_lock = threading.Lock()
_holders = 0
_previous = 0.0


@contextmanager
def shorter_switch_interval() -> Iterator[None]:
    """Hold the interpreter's switch interval at `SWITCH_INTERVAL_S` for the block."""
    global _holders, _previous
    with _lock:
        if _holders == 0:
            _previous = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                sys.setswitchinterval(_previous)
