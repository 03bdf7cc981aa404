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
keyset-paginated: pass `page.next` as `after` for the following page (never OFFSET);
`summaries(...)` is the same page as `ImageSummary` rows (only what a grid cell shows) for the
gallery to adapt cheaply on the loop's thread. The
filter combines prompt search (FTS5 over prompt and revised prompt), profile, model, size, a
date range, starred and one batch. `get`, `batch(job_id)` (a generation's images in order),
`regenerations(job_id)` (the jobs that re-ran it, oldest first; regenerating never replaces),
`star`, `delete` (soft: `restore` undoes it; files are kept until `purge_deleted`).

Thumbnails. `await thumbnail(image_id)` -> Path of a ~256 px WebP made by Pillow on a worker
thread, at most `thumbnail_workers` at a time, identical concurrent requests merged, cached on
disk beside the images (`thumbs/ab/<sha256>.webp`). A view that already has the content hash
uses `thumbnail_path(sha256)` (where the cached file is, no I/O) and `thumbnail_file(sha256,
source)` (make it when missing; no database read, no file access on the loop's thread).

Start-up and shutdown. `await recover()` once at start (resumes downloads whose URLs are saved;
a generation that may have reached the provider becomes `interrupted` and is not re-sent:
`rerun(job_id)` if the user asks). `await aclose()` stops thumbnailing and listening; the
generations themselves run on the shared `JobEngine`, whose own `aclose()` (at shutdown, after
the services') stops them and leaves their rows for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote_to_bytes, urlsplit

from app.core.errors import (
    APIError,
    ConfigError,
    MalformedResponseError,
    StorageError,
    SwitchboardError,
)
from app.core.jobs import JobContext, JobEngine, JobEvent, JobKind, JobRecord
from app.core.jobs.listeners import Listeners
from app.core.protocol.image_output import (
    ALLOWED_IMAGE_TYPES,
    EXTENSIONS,
    build_gemini_image_body,
    build_openai_image_body,
    decode_b64,
    parse_gemini_image_response,
    parse_openai_image_reply,
    sniff_image_type,
    without_image_bytes,
)
from app.core.protocol.media_urls import check_media_url
from app.core.protocol.openai import format_size
from app.core.protocol.types import ImageRequest
from app.core.services.tasks import TaskOwner
from app.core.store.db import Database
from app.core.store.images import ImageFiles, ImageQuery, ImageRepository, ImageSummary
from app.core.store.records import ImageRecord

log = logging.getLogger(__name__)

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

    # A provider's image URL is assumed to stay valid this long after the reply (OpenAI: 1 h).
    URL_VALID_SECONDS = 3600.0

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self._engine = jobs
        self.clients = clients
        self.images_dir = Path(images_dir)
        self.files = ImageFiles(self.images_dir)
        self.thumbs_dir = self.images_dir / "thumbs"
        self.repo = ImageRepository(db, clock=clock)
        self.max_download_bytes = max_download_bytes
        self.thumbnail_size = thumbnail_size
        self._clock = clock
        self._listeners: Listeners[ImageEvent] = Listeners(log, "image listener failed", on_error)
        self._on_error = on_error
        self._owner = TaskOwner("images", on_error=on_error)
        self._thumb_pool = ThreadPoolExecutor(thumbnail_workers, thread_name_prefix="thumbs")
        self._thumb_inflight: dict[str, asyncio.Task[Any]] = {}
        jobs.register(
            JobKind(GENERATE_KIND, self._run, resume_states=frozenset({"submitting", "downloading"}))
        )
        self._unsubscribe = jobs.subscribe(self._job_event)

    @property
    def engine(self) -> JobEngine:
        return self._engine

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """Resolve generations left unfinished by a crash or quit (see the module docstring)."""
        return await self._engine.recover(GENERATE_KIND)

    async def aclose(self) -> None:
        self._unsubscribe()
        await self._owner.aclose()
        await asyncio.to_thread(self._thumb_pool.shutdown, True)

    def on_event(self, callback: ImageListener) -> Callable[[], None]:
        return self._listeners.add(callback)

    def _emit(self, event: ImageEvent) -> None:
        # A view's bug must not stop a generation: Listeners sends it to on_error or the log.
        self._listeners.emit(event)

    def _job_event(self, event: JobEvent) -> None:
        if event.job.kind == GENERATE_KIND:
            self._emit(ImageEvent("job", job=event.job))

    # --- generating ---------------------------------------------------------------------------

    async def generate(self, request: ImageGenerationRequest) -> int:
        """Start a generation; returns its job id once the job row is written."""
        if not request.prompt.strip():
            raise ConfigError("Write a prompt for the image first.")
        if request.n < 1:
            raise ConfigError("Ask for at least one image.")
        job = await self._engine.start(
            GENERATE_KIND, request.to_json(), owner_key=request.profile_id
        )
        return job.id

    async def cancel(self, job_id: int) -> None:
        await self._engine.cancel(job_id)

    async def remove_job(self, job_id: int) -> bool:
        """Forget a finished generation (its images stay in the gallery). False while active."""
        return await self._engine.remove(job_id)

    def can_retry_download(self, job: JobRecord) -> bool:
        if job.kind != GENERATE_KIND or job.state not in ("failed", "interrupted"):
            return False
        pending = [o for o in job.result.get("outputs", []) if not o.get("saved")]
        if not pending or any(not o.get("url") for o in pending):
            return False  # inline data never stored in the row cannot be fetched again
        received = float(job.result.get("received_at", 0.0))
        return self._clock() - received < self.URL_VALID_SECONDS

    async def retry_download(self, job_id: int) -> None:
        """Fetch the images of a failed job that are not saved yet (URLs still valid)."""
        job = await self._engine.store.get(job_id)
        if job is None or not self.can_retry_download(job):
            raise ConfigError(
                "These images can no longer be downloaded (their addresses have expired). "
                "Generate them again."
            )
        await self._engine.rerun(job_id)

    async def rerun(self, job_id: int) -> int:
        """Generate again with the job's request (a new job, linked by `regenerates`)."""
        job = await self._engine.store.get(job_id)
        if job is None:
            raise ConfigError("This generation no longer exists.")
        request = ImageGenerationRequest.from_json(job.params)
        request.regenerates = job.id
        return await self.generate(request)

    async def jobs(self, *, active_only: bool = False, limit: int = 200) -> list[JobRecord]:
        from app.core.jobs import ACTIVE_STATES

        return await self._engine.store.list(
            kind=GENERATE_KIND, states=ACTIVE_STATES if active_only else None, limit=limit
        )

    async def job(self, job_id: int) -> JobRecord | None:
        return await self._engine.store.get(job_id)

    async def wait(self, job_id: int) -> JobRecord | None:
        """Until the job's current run ends (tests, scripts)."""
        return await self._engine.wait(job_id)

    # --- the job's run ------------------------------------------------------------------------

    async def _run(self, ctx: JobContext) -> dict[str, Any]:
        request = ImageGenerationRequest.from_json(ctx.job.params)
        client = await self.clients.get(request.profile_id)
        profile = client.profile
        outputs: list[dict[str, Any]] = list(ctx.job.result.get("outputs", []))
        if not outputs:
            model = (request.model or "").strip() or profile.model_for("image")
            if not model and client.is_gemini:
                model = "gemini-2.5-flash-image"
            if not model:
                raise ConfigError(
                    f"No image model is chosen for {profile.name}. Type one, or set a default "
                    "in the profile's settings."
                )
            body = self._request_body(request, client, model)
            await ctx.mark_sending()
            obj = await client.image_request_json(body, model=model)
            if client.is_gemini:
                images, _text = parse_gemini_image_response(obj)
            else:
                images = parse_openai_image_reply(obj)
            raw = without_image_bytes(obj)
            outputs = [
                {"index": o.index, "url": o.url, "inline": o.b64 is not None and not o.url,
                 "revised_prompt": o.revised_prompt, "mime": o.mime}
                for o in images
            ]
            # The reply is on disk (URLs to fetch) before anything is downloaded or decoded.
            await ctx.set_state(
                "downloading",
                merge_result={
                    "outputs": outputs, "raw": raw, "received_at": self._clock(), "model": model,
                    "provider": profile.name,
                },
            )
            inline = {o.index: o for o in images}
        else:
            await ctx.set_state("downloading")
            inline = {}
        model = ctx.job.result.get("model") or request.model
        raw = ctx.job.result.get("raw", {})
        failures: list[SwitchboardError] = []
        total = len(outputs)
        for position, entry in enumerate(outputs):
            if entry.get("saved"):
                continue
            try:
                output = inline.get(entry["index"])
                if output is not None and output.b64:
                    data = await asyncio.to_thread(decode_b64, output.b64)
                    declared = output.mime or None
                elif entry.get("url"):
                    data, declared = await self._fetch(client, entry["url"])
                else:
                    raise MalformedResponseError(
                        "The app stopped before this image's data was saved, and the provider "
                        "sent it inline, so it cannot be fetched again. Generate it again."
                    )
                record = await self._save(ctx.job, request, entry, data, declared, model, raw)
            except SwitchboardError as exc:
                entry["error"] = str(exc)
                failures.append(exc)
            else:
                entry["saved"] = record.id
                entry.pop("error", None)
                self._emit(ImageEvent("image", job=ctx.job, image=record))
            await ctx.save_result(outputs=outputs)
            await ctx.progress((position + 1) / total, f"{position + 1} of {total} images")
        if failures:
            saved = sum(1 for o in outputs if o.get("saved"))
            first = failures[0]
            raise type(first)(
                f"{saved} of {total} images were saved; {len(failures)} could not be. "
                f"{first.user_message}",
                **_provider_fields(first),
            )
        return {"saved": [o["saved"] for o in outputs]}

    def _request_body(
        self, request: ImageGenerationRequest, client: Any, model: str
    ) -> dict[str, Any]:
        profile = client.profile
        if client.is_gemini:
            aspect = request.extra.get("aspect_ratio") or (
                request.size if request.size and ":" in request.size else None
            )
            return build_gemini_image_body(
                request.prompt,
                n=request.n,
                aspect_ratio=aspect,
                seed=request.seed,
                negative_prompt=request.negative_prompt,
            )
        response_format = request.response_format or profile.image_response_format or None
        req = ImageRequest(
            prompt=request.prompt,
            model=model,
            n=request.n,
            size=request.size or None,
            quality=request.quality,
            style=request.style,
            response_format=response_format,
        )
        return build_openai_image_body(
            req,
            size_style=profile.image_size_style,
            seed=request.seed,
            negative_prompt=request.negative_prompt,
            extra=request.extra,
        )

    async def _fetch(self, client: Any, url: str) -> tuple[bytes, str | None]:
        """The bytes at a provider's image URL, with the safety rules of the module docstring."""
        text = url.strip()
        if text.startswith("data:"):
            header, sep, payload = text.partition(",")
            if not sep:
                raise MalformedResponseError("The provider sent an incomplete data: URL.")
            declared = header[5:].split(";")[0].strip().lower() or None
            data = decode_b64(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
            return data, declared
        base = str(client.profile.base_url)
        if urlsplit(text).scheme not in ("http", "https"):
            text = base.rstrip("/") + "/" + text.lstrip("/")
        self._check_url(text, base)
        try:
            data, content_type, final_url = await client.fetch_media(
                text, max_bytes=self.max_download_bytes
            )
        except APIError as exc:
            if exc.status in (401, 403, 404, 410):
                # CDN links (OpenAI's last an hour) answer like this once they have expired.
                raise type(exc)(
                    f"The image's download address was refused (HTTP {exc.status}); it has "
                    "probably expired. Generate the image again.",
                    status=exc.status,
                    provider_message=exc.provider_message,
                    code=exc.code,
                ) from exc
            raise
        self._check_url(final_url, base)
        if content_type not in ALLOWED_IMAGE_TYPES:
            raise MalformedResponseError(
                f"The image address answered with {content_type or 'no content type'}, not an "
                "image (PNG, JPEG, WebP or GIF), so nothing was saved. The link may have expired: "
                "generate the image again.",
            )
        return data, content_type

    @staticmethod
    def _check_url(url: str, base: str) -> None:
        check_media_url(url, base, "image")

    async def _save(
        self,
        job: JobRecord,
        request: ImageGenerationRequest,
        entry: dict[str, Any],
        data: bytes,
        declared: str | None,
        model: str | None,
        raw: dict[str, Any],
    ) -> ImageRecord:
        if len(data) > self.max_download_bytes:
            raise MalformedResponseError(
                "The provider sent an image larger than the download limit; it was not saved."
            )
        mime, width, height = await asyncio.to_thread(_check_image, data, declared)
        sha, relative = await asyncio.to_thread(self.files.write, data, EXTENSIONS[mime])
        size = _canonical_size(request.size) or f"{width}x{height}"
        params = {k: v for k, v in request.to_json().items() if k not in ("prompt",)}
        return await self.repo.add_image(
            ImageRecord.new(
                path=relative,
                sha256=sha,
                prompt=request.prompt,
                revised_prompt=entry.get("revised_prompt") or "",
                model=model,
                profile_id=request.profile_id,
                size=size,
                job_id=job.id,
                batch_index=int(entry["index"]),
                provider=job.result.get("provider"),
                quality=request.quality,
                style=request.style,
                seed=request.seed,
                negative_prompt=request.negative_prompt,
                params=params,
                width=width,
                height=height,
                mime=mime,
                byte_size=len(data),
                raw_response=raw,
            )
        )

    # --- gallery ------------------------------------------------------------------------------

    async def page(
        self, filter: GalleryFilter | None = None, after: GalleryCursor | None = None, limit: int = 200
    ) -> GalleryPage:
        query = _query(filter)
        items = await self.repo.page(
            query, None if after is None else (after.created_at, after.id), limit
        )
        last = items[-1] if len(items) == limit else None
        return GalleryPage(items, None if last is None else GalleryCursor(last.created_at, last.id))

    async def summaries(
        self,
        filter: GalleryFilter | None = None,
        after: GalleryCursor | None = None,
        limit: int = 200,
    ) -> tuple[list[ImageSummary], GalleryCursor | None]:
        """`page` for a grid: `ImageSummary` rows (what a cell shows) and the next cursor."""
        items = await self.repo.summaries(
            _query(filter), None if after is None else (after.created_at, after.id), limit
        )
        last = items[-1] if len(items) == limit else None
        return items, None if last is None else GalleryCursor(last.created_at, last.id)

    async def count(self, filter: GalleryFilter | None = None) -> int:
        return await self.repo.count(_query(filter))

    async def get(self, image_id: int) -> ImageRecord | None:
        return await self.repo.get(image_id)

    async def batch(self, job_id: int) -> list[ImageRecord]:
        return await self.repo.batch(job_id)

    async def regenerations(self, job_id: int) -> list[JobRecord]:
        def select(conn: Any) -> list[JobRecord]:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE kind = ? AND json_extract(params_json, '$.regenerates') = ?"
                " ORDER BY id",
                (GENERATE_KIND, job_id),
            )
            return [JobRecord.from_row(r) for r in rows]

        return await self.db.run(select)

    async def facets(self) -> dict[str, list[str]]:
        """Distinct values for the filter menus: {"profile_id": [...], "model": [...], "size": [...]}."""
        return await self.repo.facets()

    async def star(self, image_id: int, starred: bool) -> ImageRecord | None:
        record = await self.repo.set_starred(image_id, starred)
        if record is not None:
            self._emit(ImageEvent("changed", image=record))
        return record

    async def delete(self, image_id: int) -> ImageRecord | None:
        """Move to the trash (undo with `restore`)."""
        record = await self.repo.soft_delete(image_id)
        if record is not None:
            self._emit(ImageEvent("deleted", image=record))
        return record

    async def restore(self, image_id: int) -> ImageRecord | None:
        record = await self.repo.restore(image_id)
        if record is not None:
            self._emit(ImageEvent("changed", image=record))
        return record

    async def purge_deleted(self, older_than: float | None = None) -> int:
        """Delete trashed rows for good, and their files when no other row uses them."""
        orphans = await self.repo.purge(older_than)

        def remove() -> None:
            for relative in orphans:
                self.files.remove(relative)
                sha = Path(relative).stem
                with contextlib.suppress(FileNotFoundError):
                    self._thumb_path(sha).unlink()

        await asyncio.to_thread(remove)
        return len(orphans)

    def file_path(self, image: ImageRecord) -> Path:
        """The absolute path of an image's file."""
        return self.files.absolute(image.path)

    # --- thumbnails ---------------------------------------------------------------------------

    def _thumb_path(self, sha: str) -> Path:
        return self.thumbs_dir / sha[:2] / f"{sha}.webp"

    async def thumbnail(self, image_id: int) -> Path:
        image = await self.repo.get(image_id)
        if image is None:
            raise StorageError("This image is no longer in the library.")
        return await self.thumbnail_for(image)

    async def thumbnail_for(self, image: ImageRecord) -> Path:
        """`thumbnail` for a record the caller already has (no database read)."""
        return await self.thumbnail_file(image.sha256, self.file_path(image))

    def thumbnail_path(self, sha256: str) -> Path:
        """Where the thumbnail of the image with this content hash is cached (no I/O: the file
        may not exist yet; `thumbnail_file` makes it)."""
        return self._thumb_path(sha256)

    async def thumbnail_file(self, sha256: str, source: Path | str) -> Path:
        """The thumbnail of the image file `source` (content hash `sha256`), made if missing.

        No database read, and no file access on the loop's thread: the check for a cached file
        and the making both run on the thumbnail pool. Concurrent requests for one hash share
        one run."""
        task = self._thumb_inflight.get(sha256)
        if task is None:
            loop = asyncio.get_running_loop()
            task = self._owner.spawn(
                _in_pool(
                    loop, self._thumb_pool, _ensure_thumbnail, Path(source),
                    self._thumb_path(sha256), self.thumbnail_size,
                ),
                name=f"thumb-{sha256[:8]}",
            )
            self._thumb_inflight[sha256] = task
            task.add_done_callback(lambda _t, sha=sha256: self._thumb_inflight.pop(sha, None))
        # shield: one caller giving up (scrolled away) must not cancel the others' thumbnail.
        outcome = await asyncio.shield(task)
        if isinstance(outcome, SwitchboardError):
            raise outcome
        return outcome


# `warnings.catch_warnings` swaps the process-wide filter list, so two worker threads doing it at
# once could restore each other's filters; this lock serialises just the header parse (open()).
_WARNINGS_LOCK = threading.Lock()


def _open_refusing_bombs(source: Any) -> Any:
    """`Image.open` with Pillow's decompression-bomb warning (MAX_IMAGE_PIXELS) as an error."""
    from PIL import Image

    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(source)


async def _in_pool(
    loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor, fn: Any, *args: Any
) -> Any:
    """`fn(*args)` on `pool`. A known error is returned, not raised: it belongs to the callers
    (a placeholder tile), not to the task owner's error hook (the crash dialog)."""
    try:
        return await loop.run_in_executor(pool, fn, *args)
    except SwitchboardError as exc:
        return exc


def _ensure_thumbnail(source: Path, target: Path, size: int) -> Path:
    """The cached thumbnail when it exists, else a new one (blocking; on the thumbnail pool)."""
    if target.exists():
        return target
    return _make_thumbnail(source, target, size)


def _make_thumbnail(source: Path, target: Path, size: int) -> Path:
    """A WebP of at most `size` px a side (blocking; runs on the thumbnail pool)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _open_refusing_bombs(source) as im:
            im.draft("RGB", (size, size))  # JPEG: decode at reduced scale, much faster
            im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            out = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".webp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                out.save(handle, "WEBP", quality=80, method=2)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise StorageError(
            "The thumbnail could not be made: the image file is missing or damaged.",
            detail=str(exc),
        ) from exc
    return target


def _check_image(data: bytes, declared: str | None) -> tuple[str, int, int]:
    """(MIME type, width, height) when `data` is a PNG/JPEG/WebP/GIF Pillow can read safely."""
    from PIL import Image, UnidentifiedImageError

    mime = sniff_image_type(data)
    if mime is None:
        raise MalformedResponseError(
            "The provider sent something that is not a PNG, JPEG, WebP or GIF image, so it was "
            "not saved."
        )
    if declared and declared not in ALLOWED_IMAGE_TYPES:
        raise MalformedResponseError(
            f"The provider labelled the image {declared}, which is not an allowed image type, "
            "so it was not saved."
        )
    import io

    try:
        # open() parses the header and runs the bomb check (refused from MAX_IMAGE_PIXELS on);
        # a full verify() walks every chunk in Python holding the GIL (it stalled the loop ~40 ms
        # per 1024 px PNG), and a damaged body is caught when the thumbnail is made.
        with _open_refusing_bombs(io.BytesIO(data)) as im:
            width, height = im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MalformedResponseError(
            "The provider sent an image with far too many pixels (a decompression bomb); it "
            "was not saved."
        ) from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise MalformedResponseError(
            "The provider sent a damaged image; it was not saved. Try generating it again.",
            detail=str(exc),
        ) from None
    return mime, width, height


def _canonical_size(size: str | None) -> str | None:
    if not size:
        return None
    try:
        return format_size(size, "x")
    except ConfigError:
        return size


def _provider_fields(error: SwitchboardError) -> dict[str, Any]:
    if hasattr(error, "provider_message"):
        return {
            "status": getattr(error, "status", None),
            "provider_message": getattr(error, "provider_message", None),
            "code": getattr(error, "code", None),
        }
    return {"detail": error.detail}


def _query(f: GalleryFilter | None) -> ImageQuery:
    f = f or GalleryFilter()
    return ImageQuery(
        text=f.text,
        profile_id=f.profile_id,
        model=f.model,
        size=_canonical_size(f.size),
        since=f.since,
        until=f.until,
        starred=f.starred,
        job_id=f.job_id,
        deleted=f.deleted,
    )
