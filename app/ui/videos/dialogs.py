"""Questions the Videos tab asks, as awaitables: a dialog is `open()`ed and a future awaited,
never `exec()`ed inside a coroutine (a nested loop breaks qasync)."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

__all__ = ["ask_save_path", "ask_yes_no"]


async def ask_yes_no(parent: QWidget | None, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent
    )
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # a stray Enter never deletes
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finished(_code: int) -> None:
        if not done.done():
            done.set_result(box.clickedButton() is yes_button)

    box.finished.connect(finished)
    box.open()
    try:
        return await done
    finally:
        box.deleteLater()


async def ask_save_path(parent: QWidget | None, title: str, suggested: str, filters: str) -> str:
    dialog = QFileDialog(parent, title, suggested, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.selectFile(suggested)
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not done.done():
            files = dialog.selectedFiles()
            done.set_result(files[0] if code and files else "")

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await done
    finally:
        dialog.deleteLater()
