"""The shape every lazily built tab's host shares: cheap until first shown, attached, closed staged.

The window's shell paints before any service exists, so a host starts empty. `attach(ctx)` takes
its service from the composition root's context (and makes the tab's `TaskOwner`); the tab's
widgets are built on first show, or earlier through `ensure_tab()`. `aclose()` is part of the
staged shutdown: it closes the tab (which closes its tasks), or only the tasks when the tab was
never built. A subclass keeps only what differs: which service, how its tab is made, and what it
wires once the tab exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.ui.context import AppContext

__all__ = ["TabHost"]


class TabHost(QWidget):
    """Holds one tab; builds it on first show once attached.

    Subclasses set `accessible_name` and `tasks_name`, and implement `_service_from(ctx)` and
    `_make_tab(ctx)`; `_on_attached()` and `_tab_built(tab)` are optional hooks.
    """

    tabBuilt = Signal()

    accessible_name = ""
    tasks_name = "tab"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.accessible_name)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.ctx: AppContext | None = None
        self.service: Any = None
        self.tab: Any = None
        self._tasks: Any = None
        self._focused_once = False

    def build(self) -> None:
        """Called by the window with its other tabs; the real work waits for the first show."""
        if self.isVisible():
            self._build_tab()

    def attach(self, ctx: AppContext) -> None:
        if self.ctx is not None:
            return
        from app.core.services.tasks import TaskOwner

        self.ctx = ctx
        self._tasks = TaskOwner(self.tasks_name, on_error=self._tasks_on_error())
        self.service = self._service_from(ctx)
        self._on_attached()
        if self.isVisible():
            self._build_tab()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._build_tab()
        # After Qt has placed the focus for the page just shown (next loop turn).
        QTimer.singleShot(0, self._focus_primary_if_needed)

    def _focus_primary_if_needed(self) -> None:
        """The first time the tab is shown, typing goes to its main field (the prompt, the
        search box) instead of whatever Qt picked first; later, only when the focus is lost
        (Qt puts it back where the user left it otherwise)."""
        tab = self.tab
        focus = getattr(tab, "focus_primary", None)
        if focus is None or not self.isVisible():
            return
        focused = self.window().focusWidget()
        lost = (
            focused is None
            or not focused.isVisible()
            or not focused.isEnabled()
            or not self.isAncestorOf(focused)
        )
        if lost or not self._focused_once:
            focus()
        self._focused_once = True

    def ensure_tab(self) -> Any:
        """Build the tab now if it can be built (attached); the tab, or None."""
        self._build_tab()
        return self.tab

    def _build_tab(self) -> None:
        if self.tab is not None or self.ctx is None or self.service is None:
            return
        ctx = self.ctx
        self.tab = tab = self._make_tab(ctx)
        ctx.events.profilesChanged.connect(tab.refresh_profiles)
        self._layout.addWidget(tab)
        self._tab_built(tab)
        self.tabBuilt.emit()

    # What differs per tab.

    def _service_from(self, ctx: AppContext) -> Any:
        raise NotImplementedError

    def _make_tab(self, ctx: AppContext) -> Any:
        raise NotImplementedError

    def _tasks_on_error(self) -> Callable[[BaseException], None] | None:
        """Where the tab's task errors go; None keeps the TaskOwner's default."""
        return None

    def _on_attached(self) -> None:
        """After the service is taken, before a visible host builds its tab."""

    def _tab_built(self, tab: Any) -> None:
        """After the tab is in the layout, before `tabBuilt` is emitted."""

    async def aclose(self) -> None:
        if self.tab is not None:
            await self.tab.aclose()
        elif self._tasks is not None:
            await self._tasks.aclose()
