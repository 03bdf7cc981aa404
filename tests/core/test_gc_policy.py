"""The collector policy without Qt (app/core/gc_policy.py): only the loop's thread collects, and
start-up state is left out of later collections."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest

from app.core.gc_policy import GCPolicy, LoopGC, collect_due, due_generation


class Node:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((0, 0, 0), -1),
        ((700, 0, 0), -1),  # at the threshold, not over it
        ((701, 0, 0), 0),
        ((701, 11, 0), 1),
        ((701, 11, 11), 2),
        ((0, 0, 11), 2),  # the oldest one due wins
    ],
)
def test_due_generation_is_the_oldest_generation_over_its_threshold(
    counts: tuple[int, int, int], expected: int
) -> None:
    assert due_generation(counts, (700, 10, 10)) == expected


def test_a_zero_threshold_never_makes_its_generation_due() -> None:
    assert due_generation((5000, 0, 0), (0, 10, 10)) == -1


def test_collect_due_collects_nothing_before_a_threshold_and_a_cycle_after() -> None:
    policy = GCPolicy()
    try:
        gc.collect()
        assert collect_due() == 0  # nothing was allocated since
        for _ in range(gc.get_threshold()[0] + 10):
            Node()
        assert collect_due() > 0
    finally:
        policy.stop()


def test_policy_freezes_startup_state_and_stop_restores_the_interpreter() -> None:
    was = gc.isenabled()
    policy = GCPolicy()
    try:
        assert not gc.isenabled()
        startup_state = [Node() for _ in range(100)]
        frozen = policy.freeze_startup()
        assert frozen >= len(startup_state) and gc.get_freeze_count() == frozen
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(node) in tracked for node in startup_state)
    finally:
        policy.stop()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled() == was


def test_loop_gc_collects_a_worker_threads_cycles_on_the_loop_thread() -> None:
    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        collected_on: asyncio.Future[int] = loop.create_future()
        policy = LoopGC(loop, interval=0.01)
        try:
            policy.freeze_startup()

            def work() -> int:
                # A cycle, then enough allocations to cross every threshold many times over:
                # with automatic collection on, this thread would collect it itself.
                garbage = Node()
                weakref.finalize(
                    garbage,
                    lambda: loop.call_soon_threadsafe(
                        collected_on.set_result, threading.get_ident()
                    ),
                )
                del garbage
                for _ in range(50 * gc.get_threshold()[0]):
                    Node()
                return threading.get_ident()

            worker = await asyncio.to_thread(work)
            # Had the worker collected, the finalizer would have run on (and named) its thread.
            return worker, await asyncio.wait_for(collected_on, 10), threading.get_ident()
        finally:
            policy.stop()

    worker, collector, loop_thread = asyncio.run(main())
    assert worker != loop_thread
    assert collector == loop_thread

