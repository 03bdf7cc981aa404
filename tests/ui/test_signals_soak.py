"""Emit a Qt signal 10,000 times carrying None/True/str, queued and direct, and count arrivals.

Guards against the PySide6 6.12 + Python 3.11 abort (a `bool_dealloc` refcount error after a few
thousand emissions of Python objects such as True/None, which 3.12's immortal objects absorb).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from app.ui.async_bridge import signal_future

N = 10_000
PAYLOADS: tuple[object, ...] = (None, True, "text")


class Emitter(QObject):
    value = Signal(object)


class Receiver(QObject):
    """Counts what arrives; says so once all `expected` values are in."""

    allArrived = Signal()

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.counts: dict[object, int] = {p: 0 for p in PAYLOADS}
        self.total = 0

    def on_value(self, value: object) -> None:
        self.counts[value] += 1
        self.total += 1
        if self.total == self.expected:
            self.allArrived.emit()


@pytest.mark.parametrize(
    "kind",
    [Qt.ConnectionType.DirectConnection, Qt.ConnectionType.QueuedConnection],
    ids=["direct", "queued"],
)
def test_ten_thousand_emissions_all_arrive(
    kind: Qt.ConnectionType, arun: Callable[..., Any]
) -> None:
    emitter = Emitter()
    receiver = Receiver(N)
    emitter.value.connect(receiver.on_value, kind)

    async def soak() -> int:
        arrived = signal_future(receiver.allArrived)
        for i in range(N):
            emitter.value.emit(PAYLOADS[i % len(PAYLOADS)])
        if kind == Qt.ConnectionType.DirectConnection:
            assert receiver.total == N  # delivered during emit()
        await arrived
        return receiver.total

    assert arun(soak(), timeout=60) == N
    assert receiver.counts == {None: 3334, True: 3333, "text": 3333}


def test_soak_through_app_events(app_ctx: Any, arun: Callable[..., Any]) -> None:
    """The app's own signals, carrying the same payload types, queued to a receiver."""
    receiver = Receiver(N)
    app_ctx.events.rateLimitChanged.connect(
        lambda _pid, info: receiver.on_value(info), Qt.ConnectionType.QueuedConnection
    )

    async def soak() -> None:
        arrived = signal_future(receiver.allArrived)
        for i in range(N):
            app_ctx.events.rateLimitChanged.emit("p", PAYLOADS[i % len(PAYLOADS)])
        await arrived

    arun(soak(), timeout=60)
    assert receiver.total == N
