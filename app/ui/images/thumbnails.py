"""Thumbnails for the gallery: asked for only for what is on or near the screen, read and scaled
off the UI thread, kept in a bounded in-memory cache.

The view tells the loader what it wants, nearest first (`want([(image_id, source), ...])`); the
loader keeps at most `concurrency` reads in flight, drops wanted ids that scrolled away before
their turn, and merges duplicates. What the UI thread does per thumbnail is O(1) and touches
neither the database nor a file:

- where the cached thumbnail file is comes from `locate(source)` (a path computed from the
  content hash, no I/O);
- a worker thread of the loader's own pool checks the file, reads it with `QImageReader` scaled
  to the drawn size while reading, and converts it to the format the raster painter blits
  (`QImage` may be used off the GUI thread; `QPixmap` may not). `QImage.scaled` was not used:
  it holds the GIL for its whole run (measured ~0.4 ms a tile, the UI thread waiting), while
  `QImageReader.read` releases it;
- only a thumbnail missing from the disk cache goes to `make(source)` (the service's
  `thumbnail_file`, Pillow on its pool), then is read as above;
- on the UI thread, one long-lived pump task (owned by the given spawn function's owner) wakes
  once per batch of finished reads, turns each `QImage` into a `QPixmap` (a copy) and reports
  `loaded(id)` so the model repaints one cell.

Compared with one task per thumbnail (the previous design: a task, a database read for the
record, a stat on the loop's thread and a second thread hop each), the pump costs a few
callbacks per batch; a QThreadPool with QRunnables was not used because results would need a
QObject living across threads to report back, which the asyncio future already is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from app.core.errors import SwitchboardError

__all__ = ["ThumbnailLoader", "decode_thumbnail"]

log = logging.getLogger(__name__)

MakeFn = Callable[[Any], Awaitable[Path]]  # make the cached thumbnail file; returns its path
LocateFn = Callable[[Any], str]  # where the cached thumbnail file is (no I/O)
SpawnFn = Callable[[Any], Any]

_BLIT_FORMATS = (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32_Premultiplied)


def decode_thumbnail(path: Path | str, size: QSize) -> QImage | None:
    """Read `path` scaled to fit `size`, in a format painted without conversion (a worker
    thread runs this). None when there is no such file; a null image when it cannot be read."""
    name = str(path)
    if not os.path.exists(name):
        return None
    reader = QImageReader(name)
    full = reader.size()
    if full.isValid() and (full.width() > size.width() or full.height() > size.height()):
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull() or image.format() in _BLIT_FORMATS:
        return image
    return image.convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied
        if image.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )


class ThumbnailLoader(QObject):
    """Loads thumbnails for wanted ids, a few at a time; an LRU of pixmaps."""

    loaded = Signal(int)  # image id: its pixmap (or failure) is now known
    idle = Signal()  # nothing wanted is left to load

    def __init__(
        self,
        make: MakeFn,
        spawn: SpawnFn,
        *,
        locate: LocateFn | None = None,
        size: QSize | None = None,
        concurrency: int = 4,
        workers: int = 2,
        capacity: int = 600,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make = make
        self._locate = locate
        self._spawn = spawn
        self.size = size if size is not None else QSize(176, 176)
        self.concurrency = concurrency
        self.capacity = capacity
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="thumb-read")
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: set[int] = set()
        self._wanted: list[tuple[int, Any]] = []
        self._in_flight: set[int] = set()
        self._wake: asyncio.Future[None] | None = None
        self._pump_task: Any = None
        self._closed = False
        self.reads = 0  # thumbnails read by the pool (tests, benchmarks)

    # -- reading --

    def pixmap(self, image_id: int) -> QPixmap | None:
        pix = self._cache.get(image_id)
        if pix is not None:
            self._cache.move_to_end(image_id)
        return pix

    def failed(self, image_id: int) -> bool:
        return image_id in self._failed

    def pending(self) -> int:
        """Reads in flight plus those waiting (for tests and benchmarks)."""
        return len(self._in_flight) + len(self._wanted)

    # -- asking --

    def want(self, entries: Iterable[tuple[int, Any]]) -> None:
        """Replace what is wanted: (image id, source) pairs nearest the screen first, where
        `source` is what `locate` and `make` are given. Loading what is missing starts."""
        if self._closed:
            return
        seen: set[int] = set()
        wanted: list[tuple[int, Any]] = []
        for image_id, source in entries:
            if (
                image_id in seen
                or image_id in self._cache
                or image_id in self._in_flight
                or image_id in self._failed
            ):
                continue
            seen.add(image_id)
            wanted.append((image_id, source))
        self._wanted = wanted
        if not wanted:
            if not self._in_flight:
                self.idle.emit()
            return
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = self._spawn(self._pump())
        elif self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def forget(self, image_id: int) -> None:
        """Drop a cached pixmap (the image was deleted or its thumbnail changed)."""
        self._cache.pop(image_id, None)
        self._failed.discard(image_id)

    def close(self) -> None:
        self._closed = True
        self._wanted = []
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the pump (one task; wakes per batch of finished reads) --

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        running: dict[asyncio.Future[Any], tuple[int, Any, bool]] = {}
        try:
            while not self._closed:
                while self._wanted and len(running) < self.concurrency:
                    image_id, source = self._wanted.pop(0)
                    self._in_flight.add(image_id)
                    running[self._read(loop, source)] = (image_id, source, False)
                if not running:
                    break
                self._wake = loop.create_future()
                done, _ = await asyncio.wait(
                    [*running, self._wake], return_when=asyncio.FIRST_COMPLETED
                )
                for fut in done:
                    entry = running.pop(fut, None)
                    if entry is None or self._closed:
                        continue
                    image_id, source, made = entry
                    follow = self._finish(loop, fut, image_id, source, made)
                    if follow is not None:
                        running[follow] = (image_id, source, True)
                if not self._wanted and not running and not self._closed:
                    self.idle.emit()
        finally:
            for fut in running:
                fut.cancel()
            self._in_flight.clear()
            self._wake = None

    def _read(self, loop: asyncio.AbstractEventLoop, source: Any) -> asyncio.Future[Any]:
        path = self._locate(source) if self._locate is not None else None
        if path is None:
            return self._spawn_make(loop, source)
        return loop.run_in_executor(self._pool, decode_thumbnail, path, self.size)

    def _spawn_make(self, loop: asyncio.AbstractEventLoop, source: Any) -> asyncio.Future[Any]:
        task = self._spawn(self._make_and_read(loop, source))
        if task is None:  # the owner is closing
            task = loop.create_future()
            task.cancel()
        return task

    async def _make_and_read(self, loop: asyncio.AbstractEventLoop, source: Any) -> QImage:
        """The cold path: the service makes the thumbnail file, then the pool reads it."""
        try:
            path = await self._make(source)
        except SwitchboardError as exc:
            log.info("thumbnail failed: %s", exc)
            return QImage()
        image = await loop.run_in_executor(self._pool, decode_thumbnail, path, self.size)
        return QImage() if image is None else image

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        fut: asyncio.Future[Any],
        image_id: int,
        source: Any,
        made: bool,
    ) -> asyncio.Future[Any] | None:
        """Take one finished read on the UI thread; the make-and-read future if it is missing."""
        image: QImage | None
        if fut.cancelled():
            image = QImage()
        else:
            exc = fut.exception()
            if exc is not None and not isinstance(exc, SwitchboardError | OSError):
                raise exc
            image = QImage() if exc is not None else fut.result()
        if image is None and not made:
            return self._spawn_make(loop, source)
        self._in_flight.discard(image_id)
        self.reads += 1
        if image is None or image.isNull():
            self._failed.add(image_id)
        else:
            self._cache[image_id] = QPixmap.fromImage(image)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        with contextlib.suppress(RuntimeError):  # the loader's C++ side is gone (tab closed)
            self.loaded.emit(image_id)
        return None
