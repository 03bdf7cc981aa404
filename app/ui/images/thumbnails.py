"""Thumbnails for the gallery: asked for only for what is on or near the screen, decoded off the
UI thread, kept in a bounded in-memory cache.

The view tells the loader which image ids it wants, nearest first (`want(ids)`); the loader keeps
at most `concurrency` requests in flight, drops wanted ids that scrolled away before their turn,
and merges duplicates. Each request awaits the service's `thumbnail(id) -> Path` (which makes and
caches the file on disk), then decodes and scales it with QImage in a worker thread (QImage, unlike
QPixmap, may be used off the GUI thread). `loaded(id)` is reported so the model repaints one cell.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from app.core.errors import SwitchboardError

__all__ = ["ThumbnailLoader", "decode_thumbnail"]

log = logging.getLogger(__name__)

ThumbFn = Callable[[int], Awaitable[Path]]
SpawnFn = Callable[[Any], Any]


def decode_thumbnail(path: Path, size: QSize) -> QImage:
    """Read `path` and scale it to fit `size` (runs in a worker thread)."""
    image = QImage(str(path))
    if image.isNull():
        return image
    if image.width() > size.width() or image.height() > size.height():
        image = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return image


class ThumbnailLoader(QObject):
    """Loads thumbnails for wanted ids, a few at a time; an LRU of decoded pixmaps."""

    loaded = Signal(int)  # image id: its pixmap (or failure) is now known
    idle = Signal()  # nothing wanted is left to load

    def __init__(
        self,
        thumbnail: ThumbFn,
        spawn: SpawnFn,
        *,
        size: QSize | None = None,
        concurrency: int = 4,
        capacity: int = 600,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._thumbnail = thumbnail
        self._spawn = spawn
        self.size = size if size is not None else QSize(176, 176)
        self.concurrency = concurrency
        self.capacity = capacity
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: set[int] = set()
        self._wanted: list[int] = []
        self._in_flight: set[int] = set()
        self._closed = False

    # -- reading --

    def pixmap(self, image_id: int) -> QPixmap | None:
        pix = self._cache.get(image_id)
        if pix is not None:
            self._cache.move_to_end(image_id)
        return pix

    def failed(self, image_id: int) -> bool:
        return image_id in self._failed

    def pending(self) -> int:
        """Requests in flight plus those waiting (for tests and benchmarks)."""
        return len(self._in_flight) + len(self._wanted)

    # -- asking --

    def want(self, ids: Iterable[int]) -> None:
        """Replace what is wanted (nearest the screen first); start loading what is missing."""
        self._wanted = [
            i
            for i in ids
            if i not in self._cache and i not in self._in_flight and i not in self._failed
        ]
        self._pump()
        if not self._wanted and not self._in_flight:
            self.idle.emit()

    def forget(self, image_id: int) -> None:
        """Drop a cached pixmap (the image was deleted or its thumbnail changed)."""
        self._cache.pop(image_id, None)
        self._failed.discard(image_id)

    def close(self) -> None:
        self._closed = True
        self._wanted = []

    def _pump(self) -> None:
        while not self._closed and self._wanted and len(self._in_flight) < self.concurrency:
            image_id = self._wanted.pop(0)
            self._in_flight.add(image_id)
            self._spawn(self._load(image_id))

    async def _load(self, image_id: int) -> None:
        try:
            path = await self._thumbnail(image_id)
            image = await asyncio.to_thread(decode_thumbnail, Path(path), self.size)
        except (SwitchboardError, OSError) as exc:
            log.info("thumbnail %s failed: %s", image_id, exc)
            image = QImage()
        finally:
            self._in_flight.discard(image_id)
        if self._closed:
            return
        if image.isNull():
            self._failed.add(image_id)
        else:
            self._cache[image_id] = QPixmap.fromImage(image)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self.loaded.emit(image_id)
        self._pump()
        if not self._wanted and not self._in_flight:
            self.idle.emit()
