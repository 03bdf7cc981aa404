"""Runs the detail view: which image is open, moving between images, and every action.

Given the service, a spawn function, the detail view, the gallery model (for previous/next), and
callbacks for what belongs to others: filling the form, re-running, starring and deleting through
the gallery controller. File-manager and viewer calls go through `open_url` (QDesktopServices by
default) so tests can see them without launching anything.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.errors import SwitchboardError
from app.ui.images.adapters import detail_info, form_settings
from app.ui.images.detail_view import DetailView
from app.ui.images.gallery_model import GalleryModel

if TYPE_CHECKING:
    from app.core.services.images import ImageService
    from app.core.store.records import ImageRecord
    from app.ui.images.generate_form import FormSettings

__all__ = ["DetailController"]

log = logging.getLogger(__name__)
SpawnFn = Callable[[Any], Any]


class DetailController(QObject):
    opened = Signal(int)  # image id shown
    closed = Signal()
    message = Signal(str)  # a short status line ("Prompt copied")
    sendToChatRequested = Signal(str)  # absolute path of the image file
    saved = Signal(str)  # path written by Save as

    def __init__(
        self,
        service: ImageService,
        spawn: SpawnFn,
        view: DetailView,
        model: GalleryModel,
        *,
        use_settings: Callable[[FormSettings], None],
        rerun: Callable[[int], Awaitable[Any]],
        star: Callable[[int, bool], Awaitable[Any]],
        delete: Callable[[int], Awaitable[Any]],
        profile_name: Callable[[str], str] = lambda p: p,
        open_url: Callable[[QUrl], Any] = QDesktopServices.openUrl,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.spawn = spawn
        self.view = view
        self.model = model
        self._use_settings = use_settings
        self._rerun = rerun
        self._star = star
        self._delete = delete
        self._profile_name = profile_name
        self._open_url = open_url
        self.record: ImageRecord | None = None
        self._save_dialog: QFileDialog | None = None
        v = view
        v.backRequested.connect(self.close)
        v.previousRequested.connect(lambda: self.step(-1))
        v.nextRequested.connect(lambda: self.step(+1))
        v.copyImageRequested.connect(self.copy_image)
        v.copyPromptRequested.connect(self.copy_prompt)
        v.saveAsRequested.connect(self.save_as)
        v.revealRequested.connect(self.reveal)
        v.openExternalRequested.connect(self.open_external)
        v.useSettingsRequested.connect(self.use_settings)
        v.rerunRequested.connect(lambda _i: self.spawn(self._rerun_current()))
        v.sendToChatRequested.connect(self.send_to_chat)
        v.starRequested.connect(lambda i, s: self.spawn(self._star_and_show(i, s)))
        v.deleteRequested.connect(lambda i: self.spawn(self._delete_and_move(i)))

    # -- opening --

    async def open(self, image_id: int) -> bool:
        rec = await self.service.get(image_id)
        if rec is None:
            self.message.emit("That image is no longer in the library.")
            return False
        batch_size = 0
        if rec.job_id is not None:
            batch_size = len(await self.service.batch(rec.job_id))
        path = self.service.file_path(rec)
        image = await asyncio.to_thread(QImage, str(path))
        from PySide6.QtGui import QPixmap

        self.record = rec
        info = detail_info(rec, self.service.file_path, self._profile_name, batch_size)
        self.view.show_info(info, QPixmap.fromImage(image))
        if image.isNull():
            self.message.emit(
                "The image file could not be read; it may have been moved or deleted."
            )
        self.opened.emit(rec.id)
        return True

    def close(self) -> None:
        self.record = None
        self.closed.emit()

    def step(self, delta: int) -> None:
        if self.record is None:
            return
        row = self.model.row_of(self.record.id)
        target = self.model.item(row + delta) if row >= 0 else None
        if target is None and delta > 0 and self.model.canFetchMore():
            self.model.fetchMore()
        if target is not None:
            self.spawn(self.open(target.id))

    # -- actions --

    def _path(self) -> Path | None:
        return self.service.file_path(self.record) if self.record is not None else None

    def copy_image(self, _image_id: int = 0) -> None:
        path = self._path()
        if path is not None:
            self.copy_file(path, self.view.viewer.pixmap().toImage())

    def copy_file(self, path: Path, image: QImage | None = None) -> None:
        """Put the image on the clipboard as image data and as a file URL."""
        data = QMimeData()
        if image is None or image.isNull():
            image = QImage(str(path))
        if not image.isNull():
            data.setImageData(image)
        data.setUrls([QUrl.fromLocalFile(str(path))])
        QGuiApplication.clipboard().setMimeData(data)
        self.message.emit("Image copied")

    def copy_prompt(self, _image_id: int = 0) -> None:
        if self.record is not None:
            QGuiApplication.clipboard().setText(self.record.prompt)
            self.message.emit("Prompt copied")

    def save_as(self, _image_id: int = 0) -> None:
        path = self._path()
        if path is None:
            return
        parent = self.view if isinstance(self.view, QWidget) else None
        dialog = QFileDialog(parent, "Save image as", str(Path.home() / path.name))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(path.suffix.lstrip("."))
        dialog.fileSelected.connect(lambda target: self.spawn(self.save_to(Path(target))))
        self._save_dialog = dialog
        dialog.open()  # never exec(): no nested loop

    async def save_to(self, target: Path) -> None:
        path = self._path()
        if path is None:
            return
        try:
            await asyncio.to_thread(shutil.copyfile, path, target)
        except OSError as exc:
            self.message.emit(
                f"Could not save {target.name}: {exc.strerror or exc}. Pick another folder."
            )
            return
        self.message.emit(f"Saved {target}")
        self.saved.emit(str(target))

    def reveal(self, _image_id: int = 0) -> None:
        path = self._path()
        if path is not None:
            # Opening the folder works on every desktop; selecting the file needs per-platform
            # calls (explorer /select, open -R, the FileManager1 D-Bus interface).
            self._open_url(QUrl.fromLocalFile(str(path.parent)))

    def open_external(self, _image_id: int = 0) -> None:
        path = self._path()
        if path is not None:
            self._open_url(QUrl.fromLocalFile(str(path)))

    def use_settings(self, _image_id: int = 0) -> None:
        if self.record is not None:
            self._use_settings(form_settings(self.record))
            self.message.emit("The form now holds this image's settings")

    def send_to_chat(self, _image_id: int = 0) -> None:
        path = self._path()
        if path is not None:
            self.sendToChatRequested.emit(str(path))

    async def _rerun_current(self) -> None:
        if self.record is None or self.record.job_id is None:
            self.message.emit(
                "This image has no generation to run again; use its settings instead."
            )
            return
        await self._rerun(self.record.job_id)

    async def _star_and_show(self, image_id: int, starred: bool) -> None:
        try:
            rec = await self._star(image_id, starred)
        except SwitchboardError as exc:
            self.message.emit(exc.user_message)
            return
        if rec is not None and self.record is not None and self.record.id == image_id:
            self.record = rec
            self.view.set_starred(rec.starred)

    async def _delete_and_move(self, image_id: int) -> None:
        row = self.model.row_of(image_id)
        await self._delete(image_id)
        # Show the image that took its place, or go back when none is left.
        target = self.model.item(row) or self.model.item(row - 1)
        if target is not None:
            await self.open(target.id)
        else:
            self.close()
