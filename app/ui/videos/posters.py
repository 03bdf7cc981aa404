"""Poster frames for finished jobs: the service's poster, else a frame grabbed from the file.

The delegate only asks `PosterCache.get(row)`: a cached pixmap or None. A miss schedules a load
off the paint path (the file is decoded in a worker thread; a grab runs a muted QMediaPlayer
into a QVideoSink, one at a time) and `posterReady(job_id)` says when to repaint. Grabbed frames
are written to the cache folder, so a restart does not grab them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QImage, QPixmap

from app.ui.videos.port import VideoPort
from app.ui.videos.records import VideoRow

__all__ = ["POSTER_SIZE", "PosterCache", "grab_frame"]

log = logging.getLogger(__name__)

POSTER_SIZE = QSize(96, 54)
Spawn = Callable[[Coroutine[Any, Any, Any]], Any]


def _load_scaled(path: str, size: QSize) -> QImage | None:
    image = QImage(path)
    if image.isNull():
        return None
    return image.scaled(
        size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


async def grab_frame(path: str, *, timeout: float = 8.0) -> QImage | None:
    """The first decodable frame of a video file, or None (unreadable, no video, too slow)."""
    from PySide6.QtMultimedia import QMediaPlayer, QVideoSink

    loop = asyncio.get_running_loop()
    done: asyncio.Future[QImage | None] = loop.create_future()
    player = QMediaPlayer()
    sink = QVideoSink()
    player.setVideoSink(sink)

    def on_frame(frame: Any) -> None:
        if not done.done() and frame.isValid():
            image = frame.toImage()
            if not image.isNull():
                done.set_result(image.copy())

    def on_error(*_args: Any) -> None:
        if not done.done():
            done.set_result(None)

    sink.videoFrameChanged.connect(on_frame)
    player.errorOccurred.connect(on_error)
    player.setSource(QUrl.fromLocalFile(path))
    player.play()
    try:
        return await asyncio.wait_for(done, timeout)
    except TimeoutError:
        return None
    finally:
        sink.videoFrameChanged.disconnect(on_frame)
        player.stop()
        player.setSource(QUrl())
        player.deleteLater()
        sink.deleteLater()


class PosterCache(QObject):
    posterReady = Signal(int)

    def __init__(
        self,
        port: VideoPort,
        spawn: Spawn,
        cache_dir: Path | None = None,
        *,
        size: QSize = POSTER_SIZE,
        capacity: int = 400,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._port = port
        self._spawn = spawn
        self._dir = cache_dir
        self._size = size
        self._capacity = capacity
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._failed: set[int] = set()
        self._grab_lock = asyncio.Lock()

    def get(self, row: VideoRow) -> QPixmap | None:
        pix = self._pixmaps.get(row.job_id)
        if pix is not None:
            self._pixmaps.move_to_end(row.job_id)
            return pix
        if row.finished_ok and row.job_id not in self._pending and row.job_id not in self._failed:
            self._pending.add(row.job_id)
            self._spawn(self._load(row))
        return None

    def forget(self, job_id: int) -> None:
        self._pixmaps.pop(job_id, None)
        self._failed.discard(job_id)

    def _cached_file(self, job_id: int) -> Path | None:
        return None if self._dir is None else self._dir / f"{job_id}.jpg"

    async def _load(self, row: VideoRow) -> None:
        try:
            image = await self._image_for(row)
        except Exception:
            log.exception("poster for job %s", row.job_id)
            image = None
        finally:
            self._pending.discard(row.job_id)
        if image is None:
            self._failed.add(row.job_id)
            return
        self._pixmaps[row.job_id] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        self.posterReady.emit(row.job_id)

    async def _image_for(self, row: VideoRow) -> QImage | None:
        path = await self._port.poster(row)
        cached = self._cached_file(row.job_id)
        if not path and cached is not None and cached.exists():
            path = str(cached)
        if path:
            return await asyncio.to_thread(_load_scaled, path, self._size)
        if not row.video_path or not Path(row.video_path).exists():
            return None
        async with self._grab_lock:  # one decoder at a time: posters are not urgent
            frame = await grab_frame(row.video_path)
        if frame is None:
            return None
        small = frame.scaled(
            self._size * 2,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        if cached is not None:
            await asyncio.to_thread(_save, small, cached)
        return small.scaled(
            self._size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )


def _save(image: QImage, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.jpg")
        if image.save(str(tmp), "JPG", 85):
            tmp.replace(path)
    except OSError as exc:  # a cache: failing to keep it only costs a grab next time
        log.info("poster cache not written: %s", exc)
