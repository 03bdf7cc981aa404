"""Shared test fixtures: recorded provider bodies and a way to run coroutines in core tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDED = Path(__file__).resolve().parent / "fixtures" / "recorded"

T = TypeVar("T")


@pytest.fixture
def arun() -> Callable[..., Any]:
    """Run a coroutine to completion on a fresh event loop, failing after `timeout` seconds."""

    def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
        async def guarded() -> T:
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run(guarded())

    return run


@pytest.fixture
def recorded() -> Path:
    return RECORDED


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once a UI test has made the QApplication, collect cycles on this (the GUI) thread before
    each test outside tests/ui: otherwise a later automatic collection may run on a worker thread
    (the database's) and destroy QObjects there, which crashes Qt's timers. The app itself runs
    the collector on the GUI thread only (app/ui/gc_guard.py); UI tests collect in `qloop`."""
    import sys

    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is not None and widgets.QApplication.instance() is not None:
        import gc

        gc.collect()
