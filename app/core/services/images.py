"""The Images use cases: generate as durable jobs, save every image at once, query the gallery.

`ImageService` is what the Images tab talks to (it never touches the store or files itself).

Generating. `await generate(request)` writes a job (kind "image.generate", see `app.core.jobs`)
and returns its id at once; the work runs as the job. Per job the states are
`submitting` (request being sent) -> `downloading` (the provider answered; each image is saved
the moment it is fetched or decoded) -> `completed`. Failures end in `failed` with `error` = the
user's sentence plus the provider's own words (moderation refusal, rate limit, bad size, expired
URL). If some images were saved and a download failed, the job is `failed`, its saved images
stay, and `can_retry_download(job)` says whether `retry_download(job_id)` may fetch the rest
(the URLs are still believed valid). `cancel(job_id)` stops a job. Images that arrived stay.

Events. `on_event(callback)` -> unsubscribe function; `callback(ImageEvent)` on the loop's thread:
- `ImageEvent("job", job=JobRecord)`: a generation's state, progress or error changed;
- `ImageEvent("image", image=ImageRecord, job=...)`: an image was saved (it is in the gallery);
- `ImageEvent("changed", image=...)`: starred / restored; `ImageEvent("deleted", image=...)`.

Gallery. `page(filter, after=None, limit=...)` -> `GalleryPage` newest first (created_at, id),
keyset-paginated: pass `page.next` as `after` for the following page (never OFFSET). The
filter combines prompt search (FTS5 over prompt and revised prompt), profile, model, size, a
date range, starred and one batch. `get`, `batch(job_id)` (a generation's images in order),
`regenerations(job_id)` (the jobs that re-ran it, oldest first; regenerating never replaces),
`star`, `delete` (soft: `restore` undoes it; files are kept until `purge_deleted`).

Thumbnails. `await thumbnail(image_id)` -> Path of a ~256 px WebP made by Pillow on a worker
thread, at most `thumbnail_workers` at a time, identical concurrent requests merged, cached on
disk beside the images (`thumbs/ab/<sha256>.webp`).

Start-up and shutdown. `await recover()` once at start (resumes downloads whose URLs are saved;
a generation that may have reached the provider becomes `interrupted` and is not re-sent:
`rerun(job_id)` if the user asks). `await aclose()` stops jobs and thumbnailing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.jobs import JobEngine, JobRecord
from app.core.store.db import Database
from app.core.store.records import ImageRecord

__all__ = [
    "GENERATE_KIND",
    "GalleryCursor",
    "GalleryFilter",
    "GalleryPage",
    "ImageEvent",
    "ImageGenerationRequest",
    "ImageService",
]

GENERATE_KIND = "image.generate"


@dataclass
class ImageGenerationRequest:
    """What the form asks for. Fields left None are not sent (the provider's default)."""

    profile_id: str
    prompt: str
    model: str | None = None  # None: the profile's default image model
    n: int = 1
    size: str | None = None  # "1024x1024" or "1024*1024"; rewritten in the profile's notation
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None  # "url" | "b64_json" | None (profile default)
    seed: int | None = None
    negative_prompt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other provider parameters, sent as is
    regenerates: int | None = None  # the job id this one re-runs (kept as history)

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageGenerationRequest:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class GalleryFilter:
    """Which images to show. Every field narrows; the default shows every live image."""

    text: str = ""  # prompt search (FTS5, last word as a prefix)
    profile_id: str | None = None
    model: str | None = None
    size: str | None = None
    since: float | None = None  # created_at >= since (epoch seconds)
    until: float | None = None  # created_at < until
    starred: bool | None = None  # True: only starred
    job_id: int | None = None  # one batch
    deleted: bool = False  # True: the trash instead of the library


@dataclass(frozen=True)
class GalleryCursor:
    """Where a page ended: the last image's (created_at, id)."""

    created_at: float
    id: int


@dataclass
class GalleryPage:
    items: list[ImageRecord]
    next: GalleryCursor | None  # None: this was the last page


@dataclass(frozen=True)
class ImageEvent:
    what: Literal["job", "image", "changed", "deleted"]
    job: JobRecord | None = None
    image: ImageRecord | None = None


ImageListener = Callable[[ImageEvent], None]


class ImageService:
    """Image generation and the gallery over one database and one images directory."""

    def __init__(
        self,
        db: Database,
        jobs: JobEngine,
        clients: Any,  # ClientPool (anything with `async get(profile_id) -> ProviderClient`)
        images_dir: Path,
        *,
        max_download_bytes: int = 50 * 1024 * 1024,
        thumbnail_size: int = 256,
        thumbnail_workers: int = 3,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """Resolve generations left unfinished by a crash or quit (see the module docstring)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def on_event(self, callback: ImageListener) -> Callable[[], None]:
        raise NotImplementedError

    # --- generating ---------------------------------------------------------------------------

    async def generate(self, request: ImageGenerationRequest) -> int:
        """Start a generation; returns its job id once the job row is written."""
        raise NotImplementedError

    async def cancel(self, job_id: int) -> None:
        raise NotImplementedError

    async def retry_download(self, job_id: int) -> None:
        """Fetch the images of a failed job that are not saved yet (URLs still valid)."""
        raise NotImplementedError

    async def rerun(self, job_id: int) -> int:
        """Generate again with the job's request (a new job, linked by `regenerates`)."""
        raise NotImplementedError

    def can_retry_download(self, job: JobRecord) -> bool:
        raise NotImplementedError

    async def jobs(self, *, active_only: bool = False, limit: int = 200) -> list[JobRecord]:
        """Generations newest first."""
        raise NotImplementedError

    async def job(self, job_id: int) -> JobRecord | None:
        raise NotImplementedError

    # --- gallery ------------------------------------------------------------------------------

    async def page(
        self, filter: GalleryFilter | None = None, after: GalleryCursor | None = None, limit: int = 200
    ) -> GalleryPage:
        raise NotImplementedError

    async def count(self, filter: GalleryFilter | None = None) -> int:
        raise NotImplementedError

    async def get(self, image_id: int) -> ImageRecord | None:
        raise NotImplementedError

    async def batch(self, job_id: int) -> list[ImageRecord]:
        raise NotImplementedError

    async def regenerations(self, job_id: int) -> list[JobRecord]:
        raise NotImplementedError

    async def facets(self) -> dict[str, list[str]]:
        """Distinct values for the filter menus: {"profile_id": [...], "model": [...], "size": [...]}."""
        raise NotImplementedError

    async def star(self, image_id: int, starred: bool) -> ImageRecord | None:
        raise NotImplementedError

    async def delete(self, image_id: int) -> ImageRecord | None:
        """Move to the trash (undo with `restore`)."""
        raise NotImplementedError

    async def restore(self, image_id: int) -> ImageRecord | None:
        raise NotImplementedError

    async def purge_deleted(self, older_than: float | None = None) -> int:
        """Delete trashed rows for good, and their files when no other row uses them."""
        raise NotImplementedError

    def file_path(self, image: ImageRecord) -> Path:
        """The absolute path of an image's file."""
        raise NotImplementedError

    async def thumbnail(self, image_id: int) -> Path:
        raise NotImplementedError
