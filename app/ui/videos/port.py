"""What the Videos tab asks of the video service: `VideoPort`, and `ServicePort`, its adapter.

Controllers are given a `VideoPort`; `ServicePort` maps it onto `app.core.services.videos`
(the only module here that knows the service's names and records), so a change there is
absorbed in one place. Tests may give a fake that satisfies the protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app.ui.videos.records import (
    DIALECT_OPTIONS,
    DialectOptions,
    VideoDraft,
    VideoRow,
    row_from_view,
)

__all__ = ["RowListener", "ServicePort", "VideoPort"]

# A row, or a removal (state "removed").
RowListener = Callable[[VideoRow], None]


class VideoPort(Protocol):
    """The calls the tab makes. Every row it hands out is a `VideoRow`."""

    async def submit(self, draft: VideoDraft) -> int: ...
    async def rows(self, limit: int = 5000) -> list[VideoRow]: ...
    def on_row(self, listener: RowListener) -> Callable[[], None]: ...
    async def cancel(self, job_id: int) -> str: ...  # a sentence to show, or ""
    async def retry(self, job_id: int) -> int: ...
    async def remove(self, job_id: int, *, delete_file: bool) -> None: ...
    async def poster(self, row: VideoRow) -> str: ...  # a poster image path, "" when none
    async def options(self, profile_id: str) -> DialectOptions | None: ...  # None: not known


class ServicePort:
    """`VideoPort` over the real `app.core.services.videos.VideoService`."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def submit(self, draft: VideoDraft) -> int:
        from app.core.services.videos import VideoSubmitRequest

        opts = DIALECT_OPTIONS.get(await self._dialect(draft.profile_id))
        by_size = opts is not None and opts.shape_label == "Size"
        request = VideoSubmitRequest(
            profile_id=draft.profile_id,
            prompt=draft.prompt,
            model=draft.model or None,
            kind=draft.kind,  # type: ignore[arg-type]
            image_path=draft.image_path or None,
            aspect_ratio=None if by_size else (draft.shape or None),
            size=(draft.shape or None) if by_size else None,
            seconds=draft.seconds,
            resolution=draft.resolution or None,
        )
        return int(await self.service.submit(request))

    async def _dialect(self, profile_id: str) -> str:
        from app.core.errors import SwitchboardError

        try:
            return str((await self.service.form_options(profile_id)).dialect)
        except SwitchboardError:  # the submit itself will say what is wrong with the profile
            return ""

    async def rows(self, limit: int = 5000) -> list[VideoRow]:
        from app.core.services.videos import VideoFilter

        views = await self.service.list_jobs(VideoFilter(limit=limit))
        return [row_from_view(v) for v in views]

    def on_row(self, listener: RowListener) -> Callable[[], None]:
        def forward(event: Any) -> None:
            if event.what == "removed" or event.view is None:
                listener(VideoRow(event.job_id, "removed", "removed", 0.0, 0.0))
            else:
                listener(row_from_view(event.view))

        return self.service.subscribe(forward)

    async def cancel(self, job_id: int) -> str:
        outcome = await self.service.cancel(job_id)
        return str(getattr(outcome, "message", "") or "")

    async def retry(self, job_id: int) -> int:
        return int(await self.service.retry(job_id))

    async def remove(self, job_id: int, *, delete_file: bool) -> None:
        await self.service.remove(job_id, delete_file=delete_file)

    async def poster(self, row: VideoRow) -> str:
        return row.poster_path

    async def options(self, profile_id: str) -> DialectOptions | None:
        """The service's own fields and words for the profile's dialect (the form's table is
        only the fallback while this is asked)."""
        from app.core.errors import SwitchboardError

        try:
            fo = await self.service.form_options(profile_id)
        except SwitchboardError:
            return None
        if fo.dialect not in DIALECT_OPTIONS:
            return None
        return DialectOptions(
            name=fo.dialect,
            shape_label="Size" if fo.sizes else "Aspect ratio",
            shapes=tuple(fo.sizes or fo.aspect_ratios),
            durations=tuple(str(d) for d in fo.durations),
            duration_label="Seconds" if fo.dialect == "openai" else "Duration (s)",
            resolutions=tuple(fo.resolutions),
            image_to_video=bool(fo.supports_image),
        )
