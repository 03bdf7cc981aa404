"""The listener fan-out the engine and the services share: order, unsubscribe, failing listeners."""

from __future__ import annotations

import logging

import pytest

from app.core.jobs import Listeners

log = logging.getLogger("tests.listeners")


def test_emits_in_order_and_unsubscribes_once() -> None:
    seen: list[tuple[str, int]] = []
    fan: Listeners[int] = Listeners(log, "listener failed")
    off_a = fan.add(lambda e: seen.append(("a", e)))
    fan.add(lambda e: seen.append(("b", e)))
    fan.emit(1)
    off_a()
    off_a()  # a second call is harmless
    fan.emit(2)
    assert seen == [("a", 1), ("b", 1), ("b", 2)]
    assert len(fan) == 1 and fan
    fan.clear()
    assert not fan


def test_a_listener_may_unsubscribe_itself_while_emitting() -> None:
    seen: list[str] = []
    fan: Listeners[str] = Listeners(log, "listener failed")

    def once(event: str) -> None:
        seen.append(f"once:{event}")
        off()

    off = fan.add(once)
    fan.add(lambda e: seen.append(f"always:{e}"))
    fan.emit("x")
    fan.emit("y")
    assert seen == ["once:x", "always:x", "always:y"]


def test_a_failing_listener_goes_to_on_error_and_the_others_still_run() -> None:
    errors: list[BaseException] = []
    seen: list[int] = []
    fan: Listeners[int] = Listeners(log, "listener failed", errors.append)

    def broken(event: int) -> None:
        raise ValueError(f"bad {event}")

    fan.add(broken)
    fan.add(seen.append)
    fan.emit(7)
    assert seen == [7]
    assert [str(e) for e in errors] == ["bad 7"]


def test_without_on_error_the_failure_is_logged_with_the_owners_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fan: Listeners[int] = Listeners(log, "video listener failed")
    fan.add(lambda e: 1 / 0)
    seen: list[int] = []
    fan.add(seen.append)
    with caplog.at_level(logging.ERROR, logger="tests.listeners"):
        fan.emit(3)
    assert seen == [3]
    assert [r.getMessage() for r in caplog.records] == ["video listener failed"]
    assert caplog.records[0].exc_info is not None
