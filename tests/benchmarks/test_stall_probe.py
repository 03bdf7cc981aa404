"""The stall probe (benchmarks/_stall_probe.py) tells a loop thread asleep in epoll_wait (the
kernel waking it late) from one waiting on a lock (the GIL or a lock a worker holds)."""

from __future__ import annotations

import select
import sys
import threading
import time

import pytest

from benchmarks._stall_probe import ThreadSampler

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads Linux procfs")


def test_probe_sees_the_thread_asleep_in_epoll_then_on_a_lock() -> None:
    sampler = ThreadSampler()
    try:
        ep = select.epoll()
        a = time.monotonic()
        ep.poll(0.3)  # asleep in epoll_wait, nothing ready
        b = time.monotonic()
        ep.close()
        lock = threading.Lock()
        lock.acquire()
        holder = threading.Timer(0.3, lock.release)
        holder.start()
        c = time.monotonic()
        lock.acquire()  # asleep in futex until the other thread releases it
        d = time.monotonic()
        lock.release()
        holder.join()
    finally:
        sampler.stop()
    in_epoll = sampler.explain(a, b)
    on_lock = sampler.explain(c, d)
    assert in_epoll.get("asleep in epoll_wait", 0) > 0.8 * sum(
        v for k, v in in_epoll.items() if k != "another thread running"
    ), in_epoll
    assert on_lock.get("asleep in futex", 0) > 0.8 * sum(
        v for k, v in on_lock.items() if k != "another thread running"
    ), on_lock
    assert "asleep in futex" not in in_epoll and "asleep in epoll_wait" not in on_lock
