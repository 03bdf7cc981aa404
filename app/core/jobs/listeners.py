"""A list of plain-callback listeners with one fan-out: the engine's and every service's events.

`add(fn)` returns the function that removes it again (idempotent); `emit(event)` calls each
listener in the order they were added, on a copy of the list, so a listener may unsubscribe
itself. A listener that raises does not stop the others or the work that emitted: its exception
goes to `on_error` (the excepthook in the app) or, without one, to the owner's log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Listeners"]


class Listeners[E]:
    """Listeners of events of type E, for one owner (an engine, a service)."""

    def __init__(
        self,
        log: logging.Logger,
        failed: str,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        # The owner's logger and sentence, so a failing listener is logged where it was before.
        self._log = log
        self._failed = failed
        self._on_error = on_error
        self._fns: list[Callable[[E], None]] = []

    def add(self, fn: Callable[[E], None]) -> Callable[[], None]:
        """Call `fn(event)` on every emit; returns a function that unsubscribes."""
        self._fns.append(fn)

        def unsubscribe() -> None:
            if fn in self._fns:
                self._fns.remove(fn)

        return unsubscribe

    def emit(self, event: E) -> None:
        for fn in list(self._fns):
            try:
                fn(event)
            except Exception as exc:  # noqa: BLE001 (a listener's bug must not stop the work that emitted)
                if self._on_error is not None:
                    self._on_error(exc)
                else:
                    self._log.exception(self._failed)

    def clear(self) -> None:
        self._fns.clear()

    def __len__(self) -> int:
        return len(self._fns)

    def __bool__(self) -> bool:
        return bool(self._fns)
