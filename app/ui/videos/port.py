"""What the Videos tab asks of the video service: `VideoPort`, and `ServicePort`, its adapter.

Controllers are given a `VideoPort`; `ServicePort` maps it onto `app.core.services.videos`
(the only module here that knows the service's method names), so a change of spelling there
is absorbed in one place. Tests may give a fake that satisfies the protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app.ui.videos.records import VideoDraft, VideoRow, row_from_job

__all__ = ["ServicePort", "VideoPort", "RowListener"]

RowListener = Callable[[VideoRow], None]


class VideoPort(Protocol):
    """The calls the tab makes. Every row it hands out is a `VideoRow`."""

    async def submit(self, draft: VideoDraft) -> int: ...
    async def rows(self, limit: int = 5000) -> list[VideoRow]: ...
    def on_row(self, listener: RowListener) -> Callable[[], None]: ...
    async def cancel(self, job_id: int) -> str: ...  # "" or a sentence (e.g. "stopped tracking")
    async def retry(self, job_id: int) -> int: ...
    async def remove(self, job_id: int, *, delete_file: bool) -> None: ...
    async def poster(self, row: VideoRow) -> str: ...  # a poster image path, "" when none


class ServicePort:
    """`VideoPort` over the real `VideoService`."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def submit(self, draft: VideoDraft) -> int:
        from app.core.services import videos

        request = videos.VideoSubmission(  # merge: the service's request record
            profile_id=draft.profile_id,
            model=draft.model,
            prompt=draft.prompt,
            kind=draft.kind,
            image_path=draft.image_path or None,
            shape=draft.shape or None,
            seconds=draft.seconds,
            resolution=draft.resolution or None,
        )
        return int(await self.service.submit(request))

    async def rows(self, limit: int = 5000) -> list[VideoRow]:
        return [row_from_job(job) for job in await self.service.jobs(limit=limit)]

    def on_row(self, listener: RowListener) -> Callable[[], None]:
        def forward(event: Any) -> None:
            job = getattr(event, "job", event)
            if job is not None:
                listener(row_from_job(job))

        return self.service.on_event(forward)

    async def cancel(self, job_id: int) -> str:
        said = await self.service.cancel(job_id)
        return said if isinstance(said, str) else ""

    async def retry(self, job_id: int) -> int:
        return int(await self.service.retry(job_id))

    async def remove(self, job_id: int, *, delete_file: bool) -> None:
        await self.service.remove(job_id, delete_file=delete_file)

    async def poster(self, row: VideoRow) -> str:
        if row.poster_path:
            return row.poster_path
        getter = getattr(self.service, "poster_path", None)
        if getter is None:
            return ""
        path = await getter(row.job_id)
        return str(path) if path else ""
