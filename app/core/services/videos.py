"""The Videos use cases: submit video generations as durable jobs, poll them to the end, keep the file.

`VideoService` is what the Videos tab talks to (it never touches the store, the HTTP client or
files itself). No Qt: listeners are plain callables, called on the event loop's thread.

Dialects. A profile's `video_dialect` says which wire shape it speaks (`app.core.protocol.video`):
`tasks` (the seed's `video/generations`), `openai` (`/videos`, with content, thumbnail, delete
and remix) and `veo` (Gemini's `predictLongRunning` operations). `form_options(profile_id)`
tells the form which fields the dialect has and their words (aspect ratios, sizes, durations,
resolutions), so values are sent in the dialect's own notation, untranslated.

Jobs (kind "video.generate", see `app.core.jobs` for the contract). `await submit(request)`
writes the job row (`submitting`) and returns its id at once; the work runs as the job:

- `submitting`: the request is being sent. The provider's task id is written in the same
  write as the state `running`, the moment the reply is read. A crash between sending and that
  write leaves a job that "may have reached the provider": at the next start it becomes
  `interrupted` and is NEVER re-sent by itself (`retry(job_id)` if the user asks).
- `running`: polled with backoff and jitter (a few seconds at first, capped at about a minute),
  Retry-After and 429s honoured, within a shared budget of requests per profile; polling pauses
  while the provider is unreachable (connect errors) and carries on when it answers again. A
  job that does not finish within `timeout` seconds of its submission fails and says so.
- `downloading`: the provider finished; the video is streamed at once to a `.part` file in
  `videos_dir` (size cap, MP4/WebM magic bytes checked, resumed with `Range` where the server
  allows, renamed atomically), before any `expires_at`. The poster is the dialect's thumbnail
  where it has one (OpenAI `?variant=thumbnail`); otherwise `poster_path` stays None and the UI
  grabs a frame itself (QtMultimedia's QVideoSink), the core has no video decoder.
- `completed` (`file_path` set) / `failed` (`error`: the user's sentence plus the provider's
  own words) / `cancelled` / `interrupted`.

Security: a poll or download URL given by the server is sent the API key only when its origin
is the profile's own (`ProviderClient` decides, on every redirect hop too).

Views and events. `list_jobs(filter)` -> `list[VideoJobView]` newest first; `get(job_id)`;
`subscribe(fn)` -> unsubscribe; `fn(VideoEvent)` on every state / progress change and on
removal. `VideoJobView.status` is what to show: the provider's own word verbatim while it has
one (e.g. "PROCESSING", "in_progress"), else the job state.

Actions. `cancel(job_id)` -> `CancelOutcome` (uses the dialect's cancel/delete endpoint where
it has one, else stops tracking and says so); `retry(job_id)` -> new job id, linked by
`retry_of`; `remix(job_id, prompt)` -> new job id (OpenAI dialect only, `remix_of`);
`remove(job_id, delete_file)` deletes the job row and, when asked, its files.

Start-up and shutdown. `await recover()` once, after the window is shown: every unfinished job
is resumed (polling, or downloading) or reconciled. `await aclose()` stops listening and any
helper task; the jobs themselves run on the shared `JobEngine`, whose own `aclose()` (after the
services') stops them and leaves their rows for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.errors import (
    APIError,
    ConfigError,
    ConnectError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    StorageError,
    StreamInterruptedError,
    SwitchboardError,
    TimeoutError_,
)
from app.core.jobs import ACTIVE_STATES, JobContext, JobEngine, JobEvent, JobKind, JobRecord
from app.core.jobs.listeners import Listeners
from app.core.protocol.image_output import sniff_image_type
from app.core.protocol.media_urls import check_media_url
from app.core.protocol.retry import decide_retry, wait_phrase
from app.core.protocol.types import VideoRequest, VideoState, VideoTask
from app.core.protocol.video import (
    AnyVideoDialect,
    OpenAIVideoDialect,
    VeoVideoDialect,
    sniff_video_type,
)
from app.core.services.tasks import TaskOwner
from app.core.store.db import Database
from app.core.store.images import ImageFiles
from app.core.store.videos import VideoJobQuery, VideoJobRepository

log = logging.getLogger(__name__)

__all__ = [
    "VIDEO_KIND",
    "CancelOutcome",
    "VideoEvent",
    "VideoFilter",
    "VideoFormOptions",
    "VideoJobView",
    "VideoListener",
    "VideoService",
    "VideoSubmitRequest",
]

VIDEO_KIND = "video.generate"

VideoInputKind = Literal["text_to_video", "image_to_video"]


@dataclass
class VideoSubmitRequest:
    """What the form asks for. Fields left None are not sent (the provider's default).

    Values are in the profile's dialect's own words (see `VideoFormOptions`): `aspect_ratio`
    "LANDSCAPE"/"PORTRAIT" for `tasks`, "16:9"/"9:16" for `veo`; `size` "1280x720" for
    `openai`; `seconds` for `openai` (sent as a string) and `veo` (`durationSeconds`);
    `resolution` "720p"/"1080p" for `veo`.
    """

    profile_id: str
    prompt: str
    model: str | None = None  # None: the profile's default video model
    kind: VideoInputKind = "text_to_video"
    image_path: str | None = None  # image-to-video: a file on disk (PNG/JPEG/WebP)
    aspect_ratio: str | None = None
    size: str | None = None
    seconds: int | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other parameters, sent as is
    retry_of: int | None = None  # set by retry(): the job this one re-submits
    remix_of: int | None = None  # set by remix(): the job whose video this one remixes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoSubmitRequest:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class VideoFormOptions:
    """What the form offers for one profile (its dialect's fields and words).

    An empty tuple means the dialect has no such field (hide it); `default_*` are suggestions.
    """

    dialect: str  # "tasks" | "openai" | "veo" | "none"
    default_model: str | None
    aspect_ratios: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    durations: tuple[int, ...] = ()
    resolutions: tuple[str, ...] = ()
    supports_image: bool = False  # image-to-video
    supports_negative_prompt: bool = False
    supports_seed: bool = False
    supports_remix: bool = False
    supports_cancel: bool = False  # the provider has a cancel/delete endpoint
    has_thumbnail: bool = False  # the provider serves a poster frame


@dataclass
class VideoFilter:
    """Which jobs to list. Every field narrows; the default lists every job."""

    states: frozenset[str] | None = None  # job states ("running", "failed", ...)
    profile_id: str | None = None
    text: str = ""  # a substring of the prompt (case-insensitive)
    limit: int = 2000


@dataclass
class VideoJobView:
    """One job as the queue panel shows it (a snapshot; re-read after an event)."""

    id: int
    state: str  # the job state: submitting / running / downloading / completed / ...
    status: str  # what to show: the provider's word verbatim while it has one, else `state`
    provider_status: str | None  # the provider's last status word, verbatim
    progress: float | None  # 0..100 when reported
    created_at: float  # epoch seconds
    updated_at: float
    elapsed: float  # seconds from submission to now (to the end, once finished)
    profile_id: str
    model: str | None
    prompt: str
    kind: VideoInputKind
    dialect: str
    request: VideoSubmitRequest  # what was asked ("use these settings")
    task_id: str | None = None
    file_path: Path | None = None  # the saved video (absolute) once completed
    poster_path: Path | None = None  # the provider's thumbnail; None: grab a frame in the UI
    error: str | None = None
    expires_at: float | None = None  # when the provider's copy expires (epoch s), if said
    retry_of: int | None = None
    remix_of: int | None = None
    can_cancel: bool = False  # active
    can_retry: bool = False  # failed / cancelled / interrupted
    can_remix: bool = False  # completed, in a dialect with remix
    mime: str | None = None  # "video/mp4" | "video/webm"
    byte_size: int | None = None
    offline: bool = False  # polling is paused: the provider is unreachable (resumes by itself)

    @property
    def active(self) -> bool:
        return self.state in ("submitting", "running", "downloading")


@dataclass(frozen=True)
class VideoEvent:
    """`what`: "job" (a job's state, status or progress changed, or it was created) or
    "removed" (the job is gone: drop its row). `view` is None for "removed"."""

    what: Literal["job", "removed"]
    job_id: int
    view: VideoJobView | None = None


@dataclass(frozen=True)
class CancelOutcome:
    """What cancelling did. `provider_cancelled` False: the provider has no cancel (or it
    failed), so the app only stopped tracking the job; `message` says so for the user."""

    job_id: int
    provider_cancelled: bool
    message: str


VideoListener = Callable[[VideoEvent], None]



_FORM_OPTIONS: dict[str, dict[str, Any]] = {
    "tasks": {"aspect_ratios": ("LANDSCAPE", "PORTRAIT", "SQUARE"), "supports_image": True},
    "openai": {
        "sizes": ("1280x720", "720x1280", "1792x1024", "1024x1792"),
        "durations": (4, 8, 12),
        "supports_image": True,
        "supports_remix": True,
        "supports_cancel": True,
        "has_thumbnail": True,
    },
    "veo": {
        "aspect_ratios": ("16:9", "9:16"),
        "durations": (4, 6, 8),
        "resolutions": ("720p", "1080p"),
        "supports_image": True,
        "supports_negative_prompt": True,
        "supports_seed": True,
    },
}

# The input image of an image-to-video request is sent inline: keep it to what providers take.
MAX_INPUT_IMAGE_BYTES = 20 * 1024 * 1024
MAX_POSTER_BYTES = 10 * 1024 * 1024
# Content types a video download may declare (servers label files loosely; the bytes decide).
_VIDEO_CONTENT_TYPES = frozenset(
    {"", "video/mp4", "video/webm", "video/quicktime", "application/octet-stream",
     "binary/octet-stream", "application/mp4"}
)


class _ProfileGate:
    """One profile's shared poll budget (a token bucket), its server-imposed pause (a 429's
    Retry-After holds every job of the profile) and whether it is reachable.

    While the provider is unreachable only one job (the prober) keeps polling, with backoff;
    the others wait until it answers again, so an offline laptop sends one request a minute,
    not two hundred.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.rate = max(per_minute, 0.001) / 60.0
        self.capacity = max(1.0, min(per_minute / 6.0, 10.0))
        self.tokens = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self.online = asyncio.Event()
        self.online.set()
        self.prober: int | None = None
        self.blocked_until = 0.0
        self.sent: deque[float] = deque(maxlen=10_000)

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, job_id: int) -> None:
        while not self.online.is_set() and self.prober not in (None, job_id):
            await self.online.wait()
        if not self.online.is_set() and self.prober is None:
            self.prober = job_id
        # FIFO: asyncio.Lock wakes waiters in order, so the budget is shared fairly.
        async with self._lock:
            while True:
                now = self._clock()
                if now < self.blocked_until:
                    await asyncio.sleep(self.blocked_until - now)
                    continue
                self._refill()
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)

    def went_offline(self, job_id: int) -> None:
        self.online.clear()
        if self.prober is None:
            self.prober = job_id

    def came_online(self) -> None:
        self.prober = None
        self.online.set()

    def release(self, job_id: int) -> None:
        """A job stopped: if it was the prober, let another job take over the probing."""
        if self.prober == job_id:
            self.prober = None
            self.online.set()

    def hold(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)

    def requests_last_minute(self) -> int:
        cutoff = self._clock() - 60.0
        return sum(1 for t in self.sent if t >= cutoff)


class VideoService:
    """Video generations over one database, one job engine and one videos directory.

    `clients` is a ClientPool (anything with `async get(profile_id) -> ProviderClient`).
    `timeout`: seconds from submission after which an unfinished job fails ("timed out").
    `poll_budget`: poll requests per minute allowed per profile (shared by its jobs).
    """

    def __init__(
        self,
        db: Database,
        jobs: JobEngine,
        clients: Any,
        videos_dir: Path,
        *,
        timeout: float = 2 * 3600.0,
        poll_initial: float = 2.0,
        poll_max: float = 60.0,
        poll_budget: float = 30.0,
        max_download_bytes: int = 1024 * 1024 * 1024,
        on_error: Callable[[BaseException], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self._engine = jobs
        self.clients = clients
        self.videos_dir = Path(videos_dir)
        self.parts_dir = self.videos_dir / ".parts"
        self.posters = ImageFiles(self.videos_dir / "posters")
        self.repo = VideoJobRepository(db, VIDEO_KIND)
        self.timeout = timeout
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.poll_budget = poll_budget
        self.max_download_bytes = max_download_bytes
        self._clock = clock
        self._on_error = on_error
        self._random = random.Random()
        self._listeners: Listeners[VideoEvent] = Listeners(log, "video listener failed", on_error)
        self._gates: dict[str, _ProfileGate] = {}
        self._owner = TaskOwner("videos", on_error=on_error)
        jobs.register(
            JobKind(
                VIDEO_KIND,
                self._run,
                resume_states=frozenset({"submitting", "running", "downloading"}),
            )
        )
        self._unsubscribe = jobs.subscribe(self._job_event)

    @property
    def engine(self) -> JobEngine:
        return self._engine

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """Resume or reconcile every video job left unfinished (once, at start-up)."""
        return await self._engine.recover(VIDEO_KIND)

    async def aclose(self) -> None:
        self._unsubscribe()
        self._listeners.clear()
        await self._owner.aclose()

    def subscribe(self, fn: VideoListener) -> Callable[[], None]:
        """Call `fn(VideoEvent)` on every change; returns a function that unsubscribes."""
        return self._listeners.add(fn)

    def _emit(self, event: VideoEvent) -> None:
        # A view's bug must not stop a job: Listeners sends it to on_error or the log.
        self._listeners.emit(event)

    def _job_event(self, event: JobEvent) -> None:
        if event.job.kind == VIDEO_KIND and self._listeners:
            self._emit(VideoEvent("job", event.job.id, self._view(event.job)))

    def poll_stats(self) -> dict[str, int]:
        """Poll requests sent in the last minute, per profile id (benchmarks, diagnostics)."""
        return {pid: gate.requests_last_minute() for pid, gate in self._gates.items()}

    # --- the form -----------------------------------------------------------------------------

    async def form_options(self, profile_id: str) -> VideoFormOptions:
        """The fields and words of the profile's video dialect (ConfigError: no such profile)."""
        client = await self.clients.get(profile_id)
        dialect = str(client.profile.video_dialect)
        return VideoFormOptions(
            dialect=dialect,
            default_model=client.profile.model_for("video") or None,
            **_FORM_OPTIONS.get(dialect, {}),
        )

    # --- actions ------------------------------------------------------------------------------

    async def submit(self, request: VideoSubmitRequest) -> int:
        """Start a generation; returns its job id once the row is written (ConfigError for an
        empty prompt, a missing image file, or a profile without a video dialect)."""
        if not request.prompt.strip():
            raise ConfigError("Write a prompt for the video first.")
        if request.kind == "image_to_video":
            if not request.image_path:
                raise ConfigError("Choose the image the video should start from.")
            if not await asyncio.to_thread(os.path.isfile, request.image_path):
                raise ConfigError(
                    f"The image {request.image_path} no longer exists. Choose another one."
                )
        client = await self.clients.get(request.profile_id)
        client.video_dialect()  # ConfigError now, in the form, not later in the queue
        job = await self._engine.start(VIDEO_KIND, request.to_json(), owner_key=request.profile_id)
        return job.id

    async def cancel(self, job_id: int) -> CancelOutcome:
        job = await self._engine.store.get(job_id)
        if job is None or job.kind != VIDEO_KIND:
            raise ConfigError("This video job no longer exists.")
        was_active = job.active
        await self._engine.cancel(job_id)
        if not was_active:
            return CancelOutcome(job_id, False, "This job had already ended.")
        request = VideoSubmitRequest.from_json(job.params)
        try:
            client = await self.clients.get(request.profile_id)
            dialect = client.video_dialect()
        except SwitchboardError as exc:
            return CancelOutcome(job_id, False, f"The app stopped tracking this video. {exc}")
        name = client.profile.name
        if not job.provider_task_id:
            return CancelOutcome(
                job_id, False,
                "Cancelled before the provider confirmed the request. If it arrived, the "
                "provider may still make the video; the app stopped tracking it.",
            )
        if isinstance(dialect, OpenAIVideoDialect):
            try:
                await client.video_call("DELETE", dialect.delete_path(job.provider_task_id))
            except SwitchboardError as exc:
                return CancelOutcome(
                    job_id, False,
                    f"{name} did not confirm the cancel, so the app only stopped tracking the "
                    f"video; it may still be made (and charged). {exc}",
                )
            return CancelOutcome(job_id, True, f"Cancelled at {name}.")
        return CancelOutcome(
            job_id, False,
            f"{name} has no way to cancel a video, so the app stopped tracking it. The provider "
            "may still finish it (and charge for it).",
        )

    async def retry(self, job_id: int) -> int:
        """Submit the job's request again as a new job linked by `retry_of`; its id."""
        job = await self._engine.store.get(job_id)
        if job is None or job.kind != VIDEO_KIND:
            raise ConfigError("This video job no longer exists.")
        if job.active:
            raise ConfigError("This video is still being made. Cancel it first to retry.")
        request = VideoSubmitRequest.from_json(job.params)
        request.retry_of = job.id
        return await self.submit(request)

    async def remix(self, job_id: int, prompt: str) -> int:
        """A new job remixing a completed OpenAI-dialect video with `prompt`; its id
        (ConfigError when the dialect has no remix or the job has no provider id)."""
        job = await self._engine.store.get(job_id)
        if job is None or job.kind != VIDEO_KIND:
            raise ConfigError("This video job no longer exists.")
        if not prompt.strip():
            raise ConfigError("Write how the video should change first.")
        request = VideoSubmitRequest.from_json(job.params)
        client = await self.clients.get(request.profile_id)
        if not isinstance(client.video_dialect(), OpenAIVideoDialect):
            raise ConfigError(f"{client.profile.name}'s video API has no remix.")
        if job.state != "completed" or not job.provider_task_id:
            raise ConfigError("Only a finished video can be remixed.")
        request.prompt = prompt
        request.remix_of = job.id
        request.retry_of = None
        return await self.submit(request)

    async def remove(self, job_id: int, delete_file: bool = False) -> bool:
        """Delete a job's row (an active job is cancelled first) and, when `delete_file`, its
        video and poster. False when there was no such job."""
        job = await self._engine.store.get(job_id)
        if job is None or job.kind != VIDEO_KIND:
            return False
        if job.active or self._engine.running(job_id):
            await self.cancel(job_id)
            job = await self._engine.store.get(job_id) or job
        if delete_file:
            paths = [self._absolute(job.result.get("file")), self._absolute(job.result.get("poster"))]
            paths.append(self._part_path(job_id))

            def unlink() -> None:
                for path in paths:
                    if path is not None:
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()

            await asyncio.to_thread(unlink)
        if not await self._engine.remove(job_id):
            return False
        self._emit(VideoEvent("removed", job_id))
        return True

    # --- reading ------------------------------------------------------------------------------

    async def list_jobs(self, filter: VideoFilter | None = None) -> list[VideoJobView]:
        """Jobs newest first (one query on the database thread)."""
        f = filter or VideoFilter()
        rows = await self.repo.list(
            VideoJobQuery(states=f.states, profile_id=f.profile_id, text=f.text, limit=f.limit)
        )
        return [self._view(r) for r in rows]

    async def get(self, job_id: int) -> VideoJobView | None:
        job = await self._engine.store.get(job_id)
        return self._view(job) if job is not None and job.kind == VIDEO_KIND else None

    async def wait(self, job_id: int) -> VideoJobView | None:
        """Until the job's current run ends (tests, scripts)."""
        job = await self._engine.wait(job_id)
        return self._view(job) if job is not None else None

    def _absolute(self, relative: Any) -> Path | None:
        return self.videos_dir / relative if isinstance(relative, str) and relative else None

    def _view(self, job: JobRecord) -> VideoJobView:
        request = VideoSubmitRequest.from_json(job.params)
        result = job.result
        provider_status = result.get("provider_status")
        active = job.state in ACTIVE_STATES
        if active and job.state == "running" and provider_status:
            status = str(provider_status)
        else:
            status = job.state
        end = self._clock() if active else job.updated_at
        progress = result.get("provider_progress")
        if job.state == "downloading" and job.progress is not None:
            progress = 100.0 * job.progress
        if job.state == "completed":
            progress = 100.0
        return VideoJobView(
            id=job.id,
            state=job.state,
            status=status,
            provider_status=provider_status,
            progress=progress,
            created_at=job.created_at,
            updated_at=job.updated_at,
            elapsed=max(0.0, end - job.created_at),
            profile_id=request.profile_id,
            model=result.get("model") or request.model,
            prompt=request.prompt,
            kind=request.kind,
            dialect=str(result.get("dialect") or ""),
            request=request,
            task_id=job.provider_task_id,
            file_path=self._absolute(result.get("file")),
            poster_path=self._absolute(result.get("poster")),
            error=job.error,
            expires_at=result.get("expires_at"),
            retry_of=request.retry_of,
            remix_of=request.remix_of,
            can_cancel=active,
            can_retry=job.state in ("failed", "cancelled", "interrupted"),
            can_remix=job.state == "completed" and result.get("dialect") == "openai",
            mime=result.get("mime"),
            byte_size=result.get("bytes"),
            offline=active and job.progress_text == "offline",
        )

    # --- the job's run ------------------------------------------------------------------------

    def _gate(self, profile_id: str) -> _ProfileGate:
        gate = self._gates.get(profile_id)
        if gate is None:
            gate = self._gates[profile_id] = _ProfileGate(self.poll_budget, time.monotonic)
        return gate

    def _part_path(self, job_id: int) -> Path:
        return self.parts_dir / f"job-{job_id}.part"

    async def _run(self, ctx: JobContext) -> dict[str, Any]:
        request = VideoSubmitRequest.from_json(ctx.job.params)
        client = await self.clients.get(request.profile_id)
        dialect = client.video_dialect()
        gate = self._gate(request.profile_id)
        try:
            if not ctx.job.provider_task_id:
                task = await self._submit(ctx, client, dialect, request)
            else:
                task = VideoTask(ctx.job.provider_task_id, VideoState.RUNNING)
            if ctx.job.state == "downloading" and ctx.job.result.get("video_url"):
                url = str(ctx.job.result["video_url"])  # resumed after a crash mid-download
            else:
                if not task.state.finished:
                    task = await self._poll(ctx, client, dialect, gate, task.task_id)
                url = await self._finished(ctx, client, dialect, task)
            return await self._download(ctx, client, dialect, url)
        finally:
            gate.release(ctx.id)

    async def _submit(
        self, ctx: JobContext, client: Any, dialect: AnyVideoDialect, request: VideoSubmitRequest
    ) -> VideoTask:
        model = (request.model or "").strip() or client.profile.model_for("video")
        if not model:
            raise ConfigError(
                f"No video model is chosen for {client.profile.name}. Type one, or set a default "
                "in the profile's settings."
            )
        image = await self._input_image(request)
        req = VideoRequest(
            prompt=request.prompt,
            model=model,
            aspect_ratio=request.aspect_ratio,
            video_generate_type=request.kind,
            seconds=request.seconds,
            size=request.size,
            resolution=request.resolution,
            negative_prompt=request.negative_prompt,
            seed=request.seed,
        )
        remix_source: str | None = None
        if request.remix_of is not None:
            source = await self._engine.store.get(request.remix_of)
            remix_source = source.provider_task_id if source is not None else None
            if not remix_source or not isinstance(dialect, OpenAIVideoDialect):
                raise ConfigError("The video to remix is gone; it cannot be remixed.")
        # From here on a crash leaves a job that is never re-sent by itself.
        await ctx.mark_sending()
        if remix_source is not None:
            assert isinstance(dialect, OpenAIVideoDialect)
            obj = await client.video_call(
                "POST", dialect.remix_path(remix_source),
                json_body=dialect.build_remix_body(request.prompt),
            )
        elif isinstance(dialect, VeoVideoDialect):
            obj = await client.video_call(
                "POST", dialect.create_path(model), json_body=dialect.build_create_body(req, image)
            )
        elif isinstance(dialect, OpenAIVideoDialect) and image is not None:
            form, files = dialect.build_create_form(req, image)
            obj = await client.video_call("POST", dialect.create_path, form=form, files=files)
        else:
            body = dialect.build_create_body(req, image)
            body.update(request.extra)
            obj = await client.video_call("POST", dialect.create_path, json_body=body)
        task = dialect.parse_create(obj)
        # The provider's id goes into the row in the same write as `running`.
        await ctx.set_state(
            "running",
            provider_task_id=task.task_id,
            merge_result={
                "dialect": str(dialect.name),
                "model": model,
                "provider": client.profile.name,
                "submitted_at": self._clock(),
                "provider_status": task.raw_status,
                "provider_progress": task.progress,
            },
        )
        return task

    async def _input_image(self, request: VideoSubmitRequest) -> tuple[bytes, str] | None:
        if request.kind != "image_to_video" or not request.image_path:
            return None
        path = request.image_path

        def read() -> bytes:
            with open(path, "rb") as handle:
                return handle.read(MAX_INPUT_IMAGE_BYTES + 1)

        try:
            data = await asyncio.to_thread(read)
        except OSError as exc:
            raise ConfigError(
                f"The image {path} could not be read. Choose another one.", detail=str(exc)
            ) from exc
        if len(data) > MAX_INPUT_IMAGE_BYTES:
            raise ConfigError("The start image is larger than 20 MB. Choose a smaller one.")
        mime = sniff_image_type(data)
        if mime not in ("image/png", "image/jpeg", "image/webp"):
            raise ConfigError("The start image must be a PNG, JPEG or WebP file.")
        return data, mime

    def _check_timeout(self, ctx: JobContext) -> None:
        if self._clock() - ctx.job.created_at > self.timeout:
            raise TimeoutError_(
                f"The video did not finish within {wait_phrase(self.timeout)}, so the app stopped "
                "waiting for it. The provider may still finish it; Retry submits it again."
            )

    async def _poll(
        self,
        ctx: JobContext,
        client: Any,
        dialect: AnyVideoDialect,
        gate: _ProfileGate,
        task_id: str,
    ) -> VideoTask:
        """Poll until the task is finished (see the module docstring for the schedule)."""
        delay = self.poll_initial
        attempt = 0  # consecutive failed polls, for the retry decision
        path = dialect.status_path(task_id)
        last = (ctx.job.result.get("provider_status"), ctx.job.result.get("provider_progress"))
        while True:
            self._check_timeout(ctx)
            # Jitter spreads 200 jobs resumed at once over the interval instead of a burst.
            await asyncio.sleep(delay * (0.75 + 0.5 * self._random.random()))
            await gate.acquire(ctx.id)
            self._check_timeout(ctx)  # the wait for the budget may have taken it past the end
            gate.sent.append(time.monotonic())
            try:
                obj = await client.video_call("GET", path, slash=False)
                task = dialect.parse_status(obj, task_id)
            except (ConnectError, StreamInterruptedError) as exc:
                gate.went_offline(ctx.id)
                if ctx.job.progress_text != "offline":
                    await ctx.progress(ctx.job.progress, "offline")
                log.info("video job %s: provider unreachable (%s)", ctx.id, type(exc).__name__)
                delay = min(max(delay, self.poll_initial) * 2.0, self.poll_max)
                continue
            except (APIError, TimeoutError_) as exc:
                status = getattr(exc, "status", None)
                decision = decide_retry(
                    status=status,
                    headers={},
                    attempt=attempt,
                    max_retries=1_000_000,
                    now=time.time(),
                    output_arrived=False,
                    cap=3600.0,
                    jitter=self._random.random(),
                    transport_retryable=isinstance(exc, TimeoutError_),
                    body_retry_after=exc.retry_after,
                )
                if not decision.retry and not decision.too_long:
                    raise
                wait = decision.retry_after or decision.delay
                if isinstance(exc, RateLimitError) or status == 429:
                    gate.hold(wait)  # the whole profile waits what the server asked
                attempt += 1
                delay = min(max(wait, delay), self.poll_max * 10)
                continue
            gate.came_online()
            attempt = 0
            if ctx.job.progress_text == "offline":
                await ctx.progress(ctx.job.progress, "")
            current = (task.raw_status, task.progress)
            if current != last:
                last = current
                # A new status word or percentage: written (one small write), told to the UI.
                await ctx.save_result(provider_status=task.raw_status, provider_progress=task.progress)
                await ctx.progress(
                    None if task.progress is None else task.progress / 100.0,
                    task.raw_status or "",
                )
            if task.state.finished:
                return task
            delay = min(max(delay, self.poll_initial) * 1.5, self.poll_max)

    async def _finished(
        self, ctx: JobContext, client: Any, dialect: AnyVideoDialect, task: VideoTask
    ) -> str:
        """The download URL of a finished task, written to the row with `downloading`."""
        if task.state is VideoState.FAILED:
            raise APIError(
                f"{client.profile.name} could not make this video. Change the prompt or "
                "settings and retry.",
                provider_message=task.error or task.raw_status,
                code=task.error_code,
            )
        if task.state is VideoState.CANCELLED:
            raise ProviderError(f"{client.profile.name} cancelled this video.")
        path = dialect.content_path(task)
        url = client.video_url(path) if path else (task.video_url or "")
        if not url:
            raise MalformedResponseError(
                "The provider says the video is ready but gave no address for it. Retry it."
            )
        if not re.match(r"(?i)https?://", url):
            url = client.video_url(url)
        check_media_url(url, str(client.profile.base_url), "video")
        await ctx.set_state(
            "downloading",
            merge_result={
                "video_url": url,
                "expires_at": task.expires_at,
                "finished_at": self._clock(),
                "provider_status": task.raw_status,
                "provider_progress": 100.0,
            },
        )
        return url

    async def _download(
        self, ctx: JobContext, client: Any, dialect: AnyVideoDialect, url: str
    ) -> dict[str, Any]:
        expires = ctx.job.result.get("expires_at")
        if isinstance(expires, (int, float)) and self._clock() > expires:
            raise APIError(
                "The provider's copy of this video expired before it could be downloaded. "
                "Retry to make it again."
            )
        part = self._part_path(ctx.id)
        await asyncio.to_thread(part.parent.mkdir, parents=True, exist_ok=True)
        received = await asyncio.to_thread(_size_or_zero, part)
        try:
            async with client.open_media(url, start=received) as stream:
                check_media_url(stream.url, str(client.profile.base_url), "video")
                if stream.content_type not in _VIDEO_CONTENT_TYPES:
                    raise MalformedResponseError(
                        f"The video address answered with {stream.content_type}, not a video, so "
                        "nothing was saved. The link may have expired: retry the video."
                    )
                resumed = received > 0 and stream.status == 206 and stream.headers.get(
                    "content-range", ""
                ).startswith(f"bytes {received}-")
                if not resumed:
                    received = 0
                total = _total_size(stream.headers, received)
                if total is not None and total > self.max_download_bytes:
                    raise MalformedResponseError(
                        f"The video is larger than the download limit "
                        f"({self.max_download_bytes // (1024 * 1024)} MB), so it was not saved."
                    )
                handle = await asyncio.to_thread(open, part, "ab" if resumed else "wb")
                try:
                    head = b""
                    pending: list[bytes] = []
                    pending_size = 0
                    last_write = time.monotonic()
                    if resumed:
                        head = await asyncio.to_thread(_read_head, part)
                    async for chunk in stream.chunks():
                        if len(head) < 16:
                            head += chunk[: 16 - len(head)]
                            if len(head) >= 16 and sniff_video_type(head) is None:
                                raise MalformedResponseError(
                                    "The provider sent something that is not an MP4 or WebM "
                                    "video, so it was not saved. Retry the video."
                                )
                        received += len(chunk)
                        if received > self.max_download_bytes:
                            raise MalformedResponseError(
                                "The video is larger than the download limit, so it was not saved."
                            )
                        # Coalesced: one worker-thread write per 256 KB or quarter second,
                        # not one per network read (a slow link delivers tiny reads).
                        pending.append(chunk)
                        pending_size += len(chunk)
                        now = time.monotonic()
                        if pending_size >= 256 * 1024 or now - last_write >= 0.25:
                            await asyncio.to_thread(_write_all, handle, pending)
                            pending, pending_size, last_write = [], 0, now
                        if total:
                            await ctx.progress(min(1.0, received / total), "downloading")
                    await asyncio.to_thread(_write_all, handle, pending)
                    await asyncio.to_thread(_flush, handle)
                finally:
                    await asyncio.to_thread(handle.close)
        except APIError as exc:
            if exc.status in (401, 403, 404, 410):
                raise type(exc)(
                    f"The video's download address was refused (HTTP {exc.status}); it has "
                    "probably expired. Retry to make the video again.",
                    status=exc.status,
                    provider_message=exc.provider_message,
                    code=exc.code,
                ) from exc
            raise
        except OSError as exc:
            raise StorageError(
                "The video could not be saved to the data directory (is the disk full or "
                "read-only?). Free some space; the download carries on when the job is re-run.",
                detail=str(exc),
            ) from exc
        mime = sniff_video_type(await asyncio.to_thread(_read_head, part))
        if mime is None:
            await asyncio.to_thread(_unlink, part)
            raise MalformedResponseError(
                "The provider sent something that is not an MP4 or WebM video, so it was not "
                "saved. Retry the video."
            )
        relative = f"{time.strftime('%Y-%m', time.localtime(self._clock()))}/video-{ctx.id}" + (
            ".webm" if mime == "video/webm" else ".mp4"
        )
        target = self.videos_dir / relative
        await asyncio.to_thread(_finish_file, part, target)
        poster = await self._poster(ctx, client, dialect)
        return {"file": relative, "poster": poster, "mime": mime, "bytes": received}

    async def _poster(self, ctx: JobContext, client: Any, dialect: AnyVideoDialect) -> str | None:
        """The provider's thumbnail saved beside the videos, or None (the UI grabs a frame)."""
        if not isinstance(dialect, OpenAIVideoDialect) or not ctx.job.provider_task_id:
            return None
        path, query = dialect.thumbnail_path(ctx.job.provider_task_id)
        try:
            data, _type, _final = await client.fetch_media(
                client.video_url(path, query=query), max_bytes=MAX_POSTER_BYTES
            )
            mime = sniff_image_type(data)
            if mime is None:
                return None
            ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
                   "image/gif": ".gif"}[mime]
            _sha, relative = await asyncio.to_thread(self.posters.write, data, ext)
        except SwitchboardError as exc:
            log.info("video job %s: no poster (%s)", ctx.id, exc)
            return None
        return f"posters/{relative}"


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


def _write_all(handle: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        handle.write(piece)
    handle.flush()  # on disk (in the OS) now, so a kill keeps it for the Range resume


def _flush(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _finish_file(part: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _total_size(headers: dict[str, str], start: int) -> int | None:
    match = re.fullmatch(r"bytes \d+-\d+/(\d+)", headers.get("content-range", "").strip())
    if match:
        return int(match.group(1))
    length = headers.get("content-length", "")
    return start + int(length) if length.isdigit() else None
