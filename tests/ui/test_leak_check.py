"""The leak check of tests/ui/conftest.py finds what a test leaves behind (so it can fail)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from tests.ui.helpers import find_leaks


def test_a_visible_top_level_widget_left_open_is_a_leak(qapp: Any) -> None:
    w = QWidget()
    w.setObjectName("forgotten")
    w.show()
    problems = find_leaks(qapp, [], clean_up=True)
    assert problems and "forgotten" in problems[0]
    assert not w.isVisible()  # cleaned up for the next test
    assert find_leaks(qapp, [], clean_up=False) == []


def test_a_running_timer_is_a_leak_and_a_stopped_one_is_not(qapp: Any) -> None:
    running, stopped = QTimer(), QTimer()
    running.setObjectName("ticker")
    running.start(10_000)
    stopped.start(10_000)
    stopped.stop()
    problems = find_leaks(qapp, [running, stopped], clean_up=True)
    assert len(problems) == 1 and "ticker" in problems[0]
    assert not running.isActive()


def test_started_timers_are_tracked(_track_timers: list[Any]) -> None:
    t = QTimer()
    t.start(10_000)
    assert t in _track_timers
    t.stop()
