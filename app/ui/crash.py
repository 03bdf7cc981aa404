"""The one place bugs end up: an excepthook that logs the traceback and shows a crash dialog.

A *known* error (`SwitchboardError`) that escapes to here is not a crash: its `user_message` is
shown in a plain message box. Everything else is logged with its traceback to the log file and a
non-blocking crash dialog offers to copy the details. Unhandled exceptions from asyncio callbacks
and tasks are routed here through the loop's exception handler.

The dialogs' widgets are imported when one is first shown (app.ui.crash_dialog, QMessageBox):
the handler is installed at every start, and PySide6 builds the Python enums of each widget class
on its first touch, which the composer accepting typing does not need (issue 9).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtWidgets import QApplication, QWidget

from app.core.errors import SwitchboardError, redact

log = logging.getLogger("switchboard.crash")


class CrashHandler:
    """Installed as `sys.excepthook` and as the asyncio loop's exception handler."""

    def __init__(
        self,
        log_path: Path | None,
        parent_getter: Callable[[], QWidget | None] = lambda: None,
        *,
        show_dialogs: bool = True,
    ) -> None:
        self.log_path = log_path
        self.parent_getter = parent_getter
        self.show_dialogs = show_dialogs
        self._previous_hook = sys.excepthook
        self._open: list[QWidget] = []

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        sys.excepthook = self.excepthook
        if loop is not None:
            loop.set_exception_handler(self.loop_exception_handler)

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook

    def excepthook(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, SwitchboardError):
            log.warning("known error reached the excepthook: %s", exc)
            self._show_known(exc)
            return
        if isinstance(exc, KeyboardInterrupt):
            QApplication.quit()
            return
        details = redact("".join(traceback.format_exception(exc_type, exc, tb)))
        log.error("unhandled exception\n%s", details)
        self._show_crash(details)

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.excepthook(type(exc), exc, exc.__traceback__)
        else:
            log.error("asyncio: %s", redact(str(context.get("message"))))

    def _show_known(self, exc: SwitchboardError) -> None:
        if not self.show_dialogs or QApplication.instance() is None:
            return
        text = exc.user_message
        provider = getattr(exc, "provider_message", None)
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self.parent_getter())
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Switchboard")
        box.setText(text)
        if provider:
            box.setInformativeText(f"The provider said: {provider}")
        box.setAccessibleName("Error message")
        self._keep(box)
        box.open()

    def _show_crash(self, details: str) -> None:
        if not self.show_dialogs or QApplication.instance() is None:
            sys.stderr.write(details)
            return
        from app.ui.crash_dialog import CrashDialog

        dlg = CrashDialog(details, self.log_path, self.parent_getter())
        self._keep(dlg)
        dlg.open()

    def _keep(self, widget: QWidget) -> None:
        self._open.append(widget)

        def forget() -> None:
            if widget in self._open:
                self._open.remove(widget)
            widget.deleteLater()

        widget.finished.connect(forget)  # type: ignore[attr-defined]
