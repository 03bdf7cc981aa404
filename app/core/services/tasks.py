"""An owner for background tasks: nothing started through it is lost or left running.

A bare `asyncio.create_task` drops its exception unless someone awaits it, and the task can
outlive the tab or service that started it. `TaskOwner.spawn` keeps a strong reference,
forwards any exception (not cancellation) to `on_error`, and `aclose()` cancels and awaits
everything still running; a tab owns one, a service owns one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Self, TypeVar

__all__ = ["TaskOwner"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskOwner:
    """Keeps the tasks it spawns; `aclose()` cancels and awaits them."""

    def __init__(
        self,
        name: str = "tasks",
        *,
        on_error: Callable[[BaseException], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.name = name
        self._on_error = on_error
        self._loop = loop
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks still running."""
        return frozenset(self._tasks)

    @property
    def on_error(self) -> Callable[[BaseException], None] | None:
        """Where failures of these tasks go (a tab's own owner forwards to the app's)."""
        return self._on_error

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start `coro` as a task owned here. Raises RuntimeError after `aclose()`."""
        if self._closed:
            coro.close()  # never started: avoid "coroutine was never awaited"
            raise RuntimeError(f"{self.name}: spawn() after aclose()")
        loop = self._loop
        if loop is None:
            loop = asyncio.get_running_loop()
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if self._on_error is None:
            log.error("%s: task %s failed", self.name, task.get_name(), exc_info=exc)
            return
        try:
            self._on_error(exc)
        except Exception:  # the error handler must not hide the original failure
            log.exception("%s: on_error failed while handling %r", self.name, exc)
            log.error("%s: task %s failed", self.name, task.get_name(), exc_info=exc)

    def cancel_all(self) -> None:
        """Ask every running task to stop (does not wait)."""
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Refuse new tasks, cancel the running ones and wait until they have finished."""
        self._closed = True
        current = asyncio.current_task()
        while self._tasks - {current}:
            pending = [t for t in self._tasks if t is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            # Let the done callbacks (error forwarding) run before returning.
            for task in pending:
                self._tasks.discard(task)
        await asyncio.sleep(0)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
