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

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.jobs import JobEngine, JobRecord
from app.core.store.db import Database

__all__ = [
    "CancelOutcome",
    "VIDEO_KIND",
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
        raise NotImplementedError

    @property
    def engine(self) -> JobEngine:
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """Resume or reconcile every video job left unfinished (once, at start-up)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def subscribe(self, fn: VideoListener) -> Callable[[], None]:
        """Call `fn(VideoEvent)` on every change; returns a function that unsubscribes."""
        raise NotImplementedError

    # --- the form -----------------------------------------------------------------------------

    async def form_options(self, profile_id: str) -> VideoFormOptions:
        """The fields and words of the profile's video dialect (ConfigError: no such profile)."""
        raise NotImplementedError

    # --- actions ------------------------------------------------------------------------------

    async def submit(self, request: VideoSubmitRequest) -> int:
        """Start a generation; returns its job id once the row is written (ConfigError for an
        empty prompt, a missing image file, or a profile without a video dialect)."""
        raise NotImplementedError

    async def cancel(self, job_id: int) -> CancelOutcome:
        raise NotImplementedError

    async def retry(self, job_id: int) -> int:
        """Submit the job's request again as a new job linked by `retry_of`; its id."""
        raise NotImplementedError

    async def remix(self, job_id: int, prompt: str) -> int:
        """A new job remixing a completed OpenAI-dialect video with `prompt`; its id
        (ConfigError when the dialect has no remix or the job has no provider id)."""
        raise NotImplementedError

    async def remove(self, job_id: int, delete_file: bool = False) -> bool:
        """Delete a job's row (an active job is cancelled first) and, when `delete_file`, its
        video and poster. False when there was no such job."""
        raise NotImplementedError

    # --- reading ------------------------------------------------------------------------------

    async def list_jobs(self, filter: VideoFilter | None = None) -> list[VideoJobView]:
        """Jobs newest first (one query on the database thread)."""
        raise NotImplementedError

    async def get(self, job_id: int) -> VideoJobView | None:
        raise NotImplementedError

    async def wait(self, job_id: int) -> VideoJobView | None:
        """Until the job's current run ends (tests, scripts)."""
        raise NotImplementedError
