"""Small bridges between Qt's signals/dialogs and asyncio on the qasync loop.

- `Spawner(owner, on_known_error=..., widget=...)`: THE "spawn with a guard" — start a coroutine
  through a `TaskOwner` (a tab's or a dialog's own); a known error (SwitchboardError) goes to
  `on_known_error`, a bug is re-raised so the owner's on_error (the excepthook) sees it; after the
  owner closed it starts nothing; a coroutine cancelled before its first step is closed.
- `spawn_from_slot(ctx, coro, on_error=...)`: the same through the app's TaskOwner (known errors to
  `on_error` or the status bar).
- `signal_future(signal)`: a future resolved by the next emission of a Qt signal.
- `open_dialog(dialog)`: show a dialog with `open()` (never `exec()`, which would nest an event loop
  inside a coroutine) and await its result code.
- `confirm(parent, title, text)`: a Yes/No question awaited the same way.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from app.core.errors import SwitchboardError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QFileDialog

    from app.core.services.tasks import TaskOwner
    from app.ui.context import AppContext

log = logging.getLogger(__name__)


class Spawner:
    """Start coroutines through one TaskOwner with the guard every caller needs (see module doc).

    Called like a function: `spawn(coro)` returns the task, or None once the owner is closed (the
    coroutine is closed unstarted, so nothing warns "never awaited").
    """

    def __init__(
        self,
        owner: TaskOwner,
        *,
        on_known_error: Callable[[SwitchboardError], None],
        widget: QObject | None = None,
    ) -> None:
        self.owner = owner
        self._on_known_error = on_known_error
        # A task may wind down after this widget was destroyed (its tab deleted first): its
        # database work is done, only the widgets are gone, so that RuntimeError is expected.
        self._widget = widget

    @property
    def closed(self) -> bool:
        return self.owner.closed

    def __call__(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        if self.owner.closed:
            coro.close()
            return None
        widget = self._widget

        async def guarded() -> Any:
            try:
                return await coro
            except SwitchboardError as exc:  # known errors are shown, never lost
                log.info("known error: %s", exc)
                self._on_known_error(exc)
                return None
            except RuntimeError:
                if widget is not None and self.owner.closed and not shiboken6.isValid(widget):
                    return None
                raise

        task = self.owner.spawn(guarded())
        # Cancelled before its first step (e.g. by aclose): close `coro`, or it warns "never awaited".
        if inspect.iscoroutine(coro):
            task.add_done_callback(lambda _t: close_if_unstarted(coro))
        return task


def spawn_from_slot(
    ctx: AppContext,
    coro: Coroutine[Any, Any, Any],
    *,
    on_error: Callable[[SwitchboardError], None] | None = None,
) -> asyncio.Task[Any] | None:
    """Run `coro` under the app's TaskOwner; route known errors to `on_error` (or the status bar)."""
    handler = on_error if on_error is not None else (lambda exc: ctx.events.statusMessage.emit(exc.user_message))
    return Spawner(ctx.tasks, on_known_error=handler)(coro)


def close_if_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    """Close a coroutine that never ran (its task was cancelled before the first step)."""
    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        coro.close()


def signal_future(signal: SignalInstance) -> asyncio.Future[Any]:
    """A future resolved with the arguments of the next emission of `signal`.

    No arguments -> None; one argument -> that value; several -> a tuple.
    """
    loop = asyncio.get_event_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def on_emit(*args: Any) -> None:
        try:
            signal.disconnect(on_emit)
        except (RuntimeError, TypeError):  # already disconnected / sender destroyed
            pass
        if not future.done():
            future.set_result(None if not args else args[0] if len(args) == 1 else args)

    signal.connect(on_emit)
    return future


async def wait_signal(signal: SignalInstance, timeout: float | None = None) -> Any:
    """Await the next emission of `signal` (optionally with a timeout)."""
    fut = signal_future(signal)
    if timeout is None:
        return await fut
    return await asyncio.wait_for(fut, timeout)


async def open_dialog(dialog: QDialog) -> int:
    """Show `dialog` window-modally with `open()` and await its result code."""
    fut = signal_future(dialog.finished)
    dialog.open()
    result = await fut
    return int(result)


async def confirm(
    parent: QWidget | None,
    title: str,
    text: str,
    *,
    yes_text: str = "Delete",
    informative: str = "",
) -> bool:
    """Ask a yes/no question with a message box shown by `open()`; True when confirmed."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    yes.setAccessibleName(yes_text)
    no.setAccessibleName("Cancel")
    box.setDefaultButton(no)
    box.setAccessibleName(title)
    box.setObjectName("confirmBox")
    fut = signal_future(box.finished)
    box.open()
    await fut
    confirmed = box.clickedButton() is yes
    box.deleteLater()
    return confirmed


def file_dialog(
    parent: QWidget | None,
    caption: str,
    *,
    save: bool = False,
    name_filter: str = "",
    default_name: str = "",
    default_suffix: str = "",
) -> QFileDialog:
    """The app's file dialog, not shown yet (callers may add to it, then `await run_file_dialog`)."""
    from PySide6.QtWidgets import QFileDialog

    dlg = QFileDialog(parent, caption)
    dlg.setAccessibleName(caption)
    dlg.setObjectName("fileChooser")
    if name_filter:
        dlg.setNameFilter(name_filter)
    if default_suffix:
        dlg.setDefaultSuffix(default_suffix)
    if save:
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        if default_name:
            dlg.selectFile(default_name)
    else:
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
    return dlg


async def run_file_dialog(dlg: QFileDialog) -> tuple[str, str] | None:
    """Show `dlg` with `open()` and await it: (chosen path, chosen name filter), or None when
    cancelled. The dialog is deleted afterwards."""
    fut = signal_future(dlg.finished)
    dlg.open()
    try:
        result = await fut
        files = dlg.selectedFiles()
        return (files[0], dlg.selectedNameFilter()) if result and files else None
    finally:
        dlg.deleteLater()


async def choose_file(
    parent: QWidget | None,
    caption: str,
    *,
    save: bool = False,
    name_filter: str = "",
    default_name: str = "",
    default_suffix: str = "",
) -> str | None:
    """A file dialog shown with `open()`; the chosen path, or None when cancelled."""
    dlg = file_dialog(
        parent, caption, save=save, name_filter=name_filter, default_name=default_name,
        default_suffix=default_suffix,
    )
    chosen = await run_file_dialog(dlg)
    return None if chosen is None else chosen[0]
