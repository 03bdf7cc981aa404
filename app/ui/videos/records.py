"""Pure records of the Videos tab: the form's draft, a queue row, status words, dialect options.

No Qt here, so the rules are tested without a screen. `row_from_job` is the one reading of a
durable job row (`app.core.jobs.JobRecord`) into what the queue shows; it tolerates the spellings
a params/result dict may use, so the panel keeps working while the service evolves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "ACTIVE_STATES",
    "DIALECT_OPTIONS",
    "STATUS_FILTERS",
    "DialectOptions",
    "VideoDraft",
    "VideoRow",
    "dialect_of",
    "draft_from_params",
    "format_elapsed",
    "row_from_job",
    "row_from_view",
    "status_word",
]

TEXT_TO_VIDEO = "text_to_video"
IMAGE_TO_VIDEO = "image_to_video"
ACTIVE_STATES = frozenset({"submitting", "queued", "running", "downloading"})


@dataclass(frozen=True)
class DialectOptions:
    """What one dialect lets a user choose, in its own words (never translated: the provider
    documents these strings, and a user comparing with its docs must find them)."""

    name: str
    shape_label: str  # "Aspect ratio" or "Size"
    shapes: tuple[str, ...]
    durations: tuple[str, ...] = ()  # empty: the dialect has no duration
    duration_label: str = "Duration (s)"
    resolutions: tuple[str, ...] = ()  # empty: the dialect has no resolution
    image_to_video: bool = True


DIALECT_OPTIONS: dict[str, DialectOptions] = {
    # The same words as the service's `form_options` (app.core.services.videos._FORM_OPTIONS);
    # the form asks the service when it can and falls back to these.
    "tasks": DialectOptions("tasks", "Aspect ratio", ("LANDSCAPE", "PORTRAIT", "SQUARE")),
    "openai": DialectOptions(
        "openai",
        "Size",
        ("1280x720", "720x1280", "1792x1024", "1024x1792"),
        durations=("4", "8", "12"),
        duration_label="Seconds",
    ),
    "veo": DialectOptions(
        "veo",
        "Aspect ratio",
        ("16:9", "9:16"),
        durations=("4", "6", "8"),
        duration_label="Duration (s)",
        resolutions=("720p", "1080p"),
    ),
}


def dialect_of(profile: Any) -> str:
    """The video dialect a profile speaks: "tasks", "openai", "veo", or "" (no video)."""
    video = str(getattr(profile, "video_dialect", "") or "")
    return video if video in DIALECT_OPTIONS else ""


@dataclass(frozen=True)
class VideoDraft:
    """What the submit form holds; also what "use these settings" puts back into it."""

    profile_id: str = ""
    model: str = ""
    prompt: str = ""
    kind: str = TEXT_TO_VIDEO
    image_path: str = ""
    shape: str = ""  # aspect ratio or size, in the dialect's words
    seconds: int | None = None
    resolution: str = ""

    def with_image(self, path: str) -> VideoDraft:
        return replace(self, kind=IMAGE_TO_VIDEO, image_path=path)


@dataclass
class VideoRow:
    """One job as the queue shows it."""

    job_id: int
    state: str  # the job engine's state
    status: str  # the word shown: ours, or the provider's verbatim
    created_at: float
    updated_at: float
    draft: VideoDraft = field(default_factory=VideoDraft)
    progress: float | None = None  # 0..1
    error: str = ""
    video_path: str = ""
    poster_path: str = ""
    retry_of: int | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def finished_ok(self) -> bool:
        return self.state == "completed"

    def elapsed(self, now: float) -> float:
        end = now if self.active else self.updated_at
        return max(0.0, end - self.created_at)


# Provider words we translate into ours; any other word is shown verbatim.
_QUEUED_WORDS = {"pending", "queued", "waiting", "submitted"}
_RUNNING_WORDS = {"processing", "in_progress", "running", "generating"}


def status_word(state: str, provider_status: str = "") -> str:
    """The status shown for a job: the engine's state, refined by the provider's word while it
    runs (queued vs running), or that word verbatim when we do not know it."""
    if state != "running" or not provider_status:
        return state
    low = provider_status.strip().lower()
    if low in _QUEUED_WORDS:
        return "queued"
    if low in _RUNNING_WORDS:
        return "running"
    if low in {"completed", "succeeded", "success", "done"}:
        return "running"  # finished at the provider; the download is still ours to do
    return provider_status.strip()


# Filter choices: label -> states (None: all).
STATUS_FILTERS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("All", None),
    ("Active", frozenset({"submitting", "queued", "running", "downloading"})),
    ("Completed", frozenset({"completed"})),
    ("Failed", frozenset({"failed"})),
    ("Cancelled", frozenset({"cancelled"})),
    ("Interrupted", frozenset({"interrupted"})),
)


def _first(d: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        v = d.get(k)
        if v not in (None, ""):
            return v
    return default


def draft_from_params(params: dict[str, Any]) -> VideoDraft:
    """A job's params as the form's draft (for "use these settings")."""
    seconds = _first(params, "seconds", "duration_seconds", "duration")
    try:
        secs = int(seconds) if seconds is not None else None
    except (TypeError, ValueError):
        secs = None
    image = _first(params, "image_path", "input_image", "image", default="")
    kind = _first(params, "kind", "video_generate_type", default="")
    if not kind:
        kind = IMAGE_TO_VIDEO if image else TEXT_TO_VIDEO
    return VideoDraft(
        profile_id=str(_first(params, "profile_id", "profile", default="")),
        model=str(_first(params, "model", default="")),
        prompt=str(_first(params, "prompt", default="")),
        kind=str(kind),
        image_path=str(image) if isinstance(image, str) else "",
        shape=str(_first(params, "shape", "aspect_ratio", "size", "aspect", default="")),
        seconds=secs,
        resolution=str(_first(params, "resolution", default="")),
    )


def row_from_job(job: Any) -> VideoRow:
    """A durable job row (`JobRecord`) as a queue row."""
    params: dict[str, Any] = dict(getattr(job, "params", None) or {})
    result: dict[str, Any] = dict(getattr(job, "result", None) or {})
    raw = str(_first(result, "provider_status", "raw_status", default="") or "")
    if not raw and job.state == "running":
        raw = str(getattr(job, "progress_text", "") or "")
    retry_of = _first(params, "retry_of", "parent_job_id", "rerun_of")
    return VideoRow(
        job_id=int(job.id),
        state=str(job.state),
        status=status_word(str(job.state), raw),
        created_at=float(job.created_at or 0.0),
        updated_at=float(job.updated_at or job.created_at or 0.0),
        draft=draft_from_params(params),
        progress=job.progress,
        error=str(job.error or ""),
        video_path=str(_first(result, "video_path", "path", "file", default="")),
        poster_path=str(_first(result, "poster_path", "poster", "thumbnail_path", default="")),
        retry_of=int(retry_of)
        if isinstance(retry_of, int | str) and str(retry_of).isdigit()
        else None,
    )


def row_from_view(view: Any) -> VideoRow:
    """The service's `VideoJobView` as a queue row (progress 0..100 there, 0..1 here)."""
    req = view.request
    seconds = getattr(req, "seconds", None)
    draft = VideoDraft(
        profile_id=str(view.profile_id or ""),
        model=str(view.model or getattr(req, "model", "") or ""),
        prompt=str(view.prompt or ""),
        kind=str(view.kind or TEXT_TO_VIDEO),
        image_path=str(getattr(req, "image_path", "") or ""),
        shape=str(getattr(req, "size", None) or getattr(req, "aspect_ratio", None) or ""),
        seconds=int(seconds) if seconds else None,
        resolution=str(getattr(req, "resolution", "") or ""),
    )
    state = str(view.state)
    status = status_word(state, str(view.provider_status or "")) if state == "running" else state
    return VideoRow(
        job_id=int(view.id),
        state=state,
        status=status,
        created_at=float(view.created_at),
        updated_at=float(view.updated_at),
        draft=draft,
        progress=None if view.progress is None else max(0.0, min(1.0, float(view.progress) / 100)),
        error=str(view.error or ""),
        video_path=str(view.file_path or ""),
        poster_path=str(view.poster_path or ""),
        retry_of=view.retry_of,
    )


def format_elapsed(seconds: float) -> str:
    """0:07, 12:03, 1:02:03."""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
