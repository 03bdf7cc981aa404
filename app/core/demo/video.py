"""Video jobs of the demo server, in three dialects, progressing on a clock, serving a real video.

A job's state is computed from the injectable clock each time it is polled (queued for the first
10% of `duration`, running with a progress percentage, then completed), so tests drive it by
advancing a fake clock instead of sleeping.

Dialects (routes wired in `server.py`):
- tasks (`video/generations`, `video/generations/{id}`; the file at `/files/<id>.mp4`);
- OpenAI (`videos`, `videos/{id}`, `videos/{id}/content[?variant=thumbnail]`, `DELETE
  videos/{id}`, `videos/{id}/remix`; multipart `input_reference` accepted);
- Gemini Veo (`models/{m}:predictLongRunning`, `GET models/{m}/operations/{id}`, the file at
  `files/{id}:download?alt=media`, which needs the key like every Gemini route).
Downloads honour `Range: bytes=N-` (206 + `Content-Range`).

Magic words in the prompt (fault injection beside `FaultPlan`, which gives 429s, stalls in
time and slow bodies on any path): "fail" fails half-way; "stall" stays running at 50 % for
ever; "expire" completes but the file is already gone (OpenAI: status `expired` on the content,
`expires_at` in the past; tasks and Veo: the file URL answers 404/410).

The video is real and playable: a 1 s 320x180 H.264 MP4 of about 6 KB and its JPEG poster,
shipped as resources/demo/demo.mp4 and poster.jpg (made once with packaging/make_demo_video.py)
and read on first use. Nothing runs ffmpeg at run time, so no ffmpeg binary is a run-time
dependency or goes into the bundle (imageio-ffmpeg's alone is 77 MB, more than the bundle's whole
Qt GUI core). If the files are missing (a broken install) the demo falls back to a non-playable
placeholder and says so in the log; the frozen `--self-test` checks the real file is served.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.demo import media
from app.core.demo.wire import INVALID_JSON, BadRequest, DemoRequest, Reply, json_reply

if TYPE_CHECKING:
    from app.core.demo.server import DemoServer

log = logging.getLogger(__name__)


@dataclass
class VideoJob:
    id: str
    prompt: str
    model: str
    style: str  # "openai" | "tasks" | "veo"
    created_at: float  # on the server's clock
    created_epoch: int
    duration: float  # seconds until completed, fixed at creation
    seconds: str = "4"
    size: str = "1280x720"
    aspect_ratio: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    has_image: bool = False
    remix_of: str | None = None
    deleted: bool = False

    @property
    def will_fail(self) -> bool:
        return "fail" in self.prompt.lower()

    @property
    def stalls(self) -> bool:
        return "stall" in self.prompt.lower()

    @property
    def expired(self) -> bool:
        return "expire" in self.prompt.lower()

    def state(self, now: float) -> tuple[str, int]:
        """("queued" | "running" | "completed" | "failed", progress 0..100) at time `now`."""
        elapsed = now - self.created_at
        if self.will_fail and elapsed >= self.duration * 0.5:
            return "failed", 50
        if self.stalls and elapsed >= self.duration * 0.5:
            return "running", 50
        if elapsed >= self.duration:
            return "completed", 100
        if elapsed < self.duration * 0.1:
            return "queued", 0
        return "running", max(1, min(99, int(100 * elapsed / self.duration)))


class VideoStore:
    """Thread-safe registry of video jobs by id."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._jobs: dict[str, VideoJob] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def create(
        self,
        *,
        prompt: str,
        model: str,
        style: str,
        duration: float,
        created_epoch: int,
        seconds: str = "4",
        size: str = "1280x720",
        aspect_ratio: str | None = None,
        params: dict[str, Any] | None = None,
        has_image: bool = False,
        remix_of: str | None = None,
    ) -> VideoJob:
        prefix = {"openai": "video_", "veo": ""}.get(style, "task_")
        job = VideoJob(
            id=prefix + uuid.uuid4().hex[:24],
            prompt=prompt,
            model=model,
            style=style,
            created_at=self._clock(),
            created_epoch=created_epoch,
            duration=max(0.0, duration),
            seconds=seconds,
            size=size,
            aspect_ratio=aspect_ratio,
            params=dict(params or {}),
            has_image=has_image,
            remix_of=remix_of,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> VideoJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[VideoJob]:
        with self._lock:
            return list(self._jobs.values())

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()


# --- the video file -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoVideo:
    data: bytes
    content_type: str  # "video/mp4"
    poster: bytes  # a JPEG (or PNG for the placeholder)
    poster_type: str
    playable: bool


_VIDEO_LOCK = threading.Lock()
# In resources/demo/ (packaging/make_demo_video.py makes them).
VIDEO_FILE = "demo.mp4"
POSTER_FILE = "poster.jpg"


@functools.cache
def _generate() -> DemoVideo:
    from app.resources import ResourcesMissing, resource_path

    try:
        with open(resource_path("demo", VIDEO_FILE), "rb") as handle:
            data = handle.read()
        with open(resource_path("demo", POSTER_FILE), "rb") as handle:
            jpeg = handle.read()
    except (OSError, ResourcesMissing) as exc:
        log.warning("the demo video is missing (%s): the demo serves a non-playable one", exc)
        return _placeholder()
    return DemoVideo(data, "video/mp4", jpeg, "image/jpeg", playable=True)


def _placeholder() -> DemoVideo:
    return DemoVideo(
        media.placeholder_mp4("demo"),
        "video/mp4",
        media.render_prompt_image("demo video", 320, 180),
        "image/png",
        playable=False,
    )


def demo_video() -> DemoVideo:
    """The demo's video and poster, read on first use and cached for the process."""
    with _VIDEO_LOCK:
        return _generate()


def range_reply(data: bytes, content_type: str, range_header: str | None) -> Reply:
    """200 with the whole body, or 206 for `bytes=N-` / `bytes=N-M` (416 past the end)."""
    headers = {"Accept-Ranges": "bytes"}
    if range_header:
        m = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", range_header)
        if m:
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            if start >= len(data):
                return Reply(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
            end = min(end, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return Reply(206, data[start : end + 1], content_type, headers)
    return Reply(200, data, content_type, headers)


# --- request bodies -------------------------------------------------------------------------


def _json_body(req: DemoRequest) -> dict[str, Any]:
    if req.json is INVALID_JSON:
        raise BadRequest("We could not parse the JSON body of your request.")
    if not isinstance(req.json, dict):
        raise BadRequest("The request body must be a JSON object.")
    return req.json


def _form_body(req: DemoRequest) -> tuple[dict[str, str], dict[str, bytes]]:
    """A multipart/form-data body: (fields, files)."""
    content_type = req.header("Content-Type") or ""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + req.body
    )
    if not message.is_multipart():
        raise BadRequest("The multipart body could not be parsed.")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = payload
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, files


# --- OpenAI dialect ---------------------------------------------------------------------------


def _openai_object(job: VideoJob, now: float) -> dict[str, Any]:
    state, progress = job.state(now)
    status = {"running": "in_progress"}.get(state, state)
    obj: dict[str, Any] = {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": status,
        "progress": progress,
        "created_at": job.created_epoch,
        "seconds": job.seconds,
        "size": job.size,
        "error": None,
        "remixed_from_video_id": job.remix_of,
    }
    if state == "failed":
        obj["error"] = {"code": "video_generation_failed", "message": "The demo was asked to fail."}
    if state == "completed":
        obj["completed_at"] = job.created_epoch + int(job.duration)
        # OpenAI keeps results for a day; "expire" jobs are already past it.
        obj["expires_at"] = obj["completed_at"] + (-3600 if job.expired else 86400)
    return obj


def _openai_job(ctx: DemoServer, job_id: str) -> VideoJob:
    job = ctx.videos.get(job_id)
    if job is None or job.style != "openai" or job.deleted:
        raise BadRequest(f"Video '{job_id}' not found.", 404, code="not_found")
    return job


def create_openai(req: DemoRequest, ctx: DemoServer) -> Reply:
    if (req.header("Content-Type") or "").startswith("multipart/form-data"):
        fields, files = _form_body(req)
        body: dict[str, Any] = dict(fields)
        has_image = "input_reference" in files
        if has_image and not files["input_reference"].startswith((b"\x89PNG", b"\xff\xd8\xff", b"RIFF")):
            raise BadRequest(
                "input_reference must be a PNG, JPEG or WebP image.", param="input_reference"
            )
    else:
        body = _json_body(req)
        has_image = False
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'prompt' is required.", param="prompt")
    seconds = body.get("seconds")
    if seconds is not None and not isinstance(seconds, str):
        raise BadRequest("'seconds' must be a string such as \"4\".", param="seconds")
    size = str(body.get("size") or "1280x720")
    if not re.fullmatch(r"\d+x\d+", size):
        raise BadRequest(f"Invalid size '{size}': use WIDTHxHEIGHT.", param="size")
    job = ctx.videos.create(
        prompt=prompt,
        model=str(body.get("model") or "demo-video"),
        style="openai",
        duration=ctx.video_seconds,
        created_epoch=int(time.time()),
        seconds=seconds or "4",
        size=size,
        has_image=has_image,
    )
    obj = _openai_object(job, job.created_at)
    obj["status"], obj["progress"] = "queued", 0
    return json_reply(200, obj)


def get_openai(req: DemoRequest, ctx: DemoServer, job_id: str) -> Reply:
    return json_reply(200, _openai_object(_openai_job(ctx, job_id), ctx.videos.now()))


def get_openai_content(req: DemoRequest, ctx: DemoServer, job_id: str) -> Reply:
    job = _openai_job(ctx, job_id)
    state, _ = job.state(ctx.videos.now())
    if state != "completed":
        raise BadRequest(
            f"Video '{job_id}' is not ready (status: {state}).", 409, code="video_not_ready"
        )
    if job.expired:
        raise BadRequest(f"Video '{job_id}' has expired.", 410, code="video_expired")
    video = demo_video()
    if req.query.get("variant") == "thumbnail":
        return Reply(200, video.poster, video.poster_type)
    return range_reply(video.data, video.content_type, req.header("Range"))


def delete_openai(req: DemoRequest, ctx: DemoServer, job_id: str) -> Reply:
    job = _openai_job(ctx, job_id)
    job.deleted = True
    return json_reply(200, {"id": job.id, "object": "video.deleted", "deleted": True})


def remix_openai(req: DemoRequest, ctx: DemoServer, job_id: str) -> Reply:
    source = _openai_job(ctx, job_id)
    if source.state(ctx.videos.now())[0] != "completed":
        raise BadRequest("Only a completed video can be remixed.", code="invalid_video_state")
    body = _json_body(req)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'prompt' is required.", param="prompt")
    job = ctx.videos.create(
        prompt=prompt,
        model=source.model,
        style="openai",
        duration=ctx.video_seconds,
        created_epoch=int(time.time()),
        seconds=source.seconds,
        size=source.size,
        remix_of=source.id,
    )
    obj = _openai_object(job, job.created_at)
    obj["status"], obj["progress"] = "queued", 0
    return json_reply(200, obj)


# --- tasks dialect ----------------------------------------------------------------------------

TASK_STATUS = {
    "queued": "PENDING",
    "running": "PROCESSING",
    "completed": "COMPLETED",
    "failed": "FAILED",
}


def create_task(req: DemoRequest, ctx: DemoServer) -> Reply:
    body = _json_body(req)
    inputs = body.get("input")
    if not isinstance(inputs, dict):
        raise BadRequest("'input' must be an object with a 'prompt'.", param="input")
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'input.prompt' is required.", param="input.prompt")
    kind = inputs.get("video_generate_type", "text_to_video")
    if kind not in ("text_to_video", "image_to_video"):
        raise BadRequest(
            f"Unknown video_generate_type '{kind}'.", param="input.video_generate_type"
        )
    if kind == "image_to_video" and not str(inputs.get("image_url") or "").startswith(
        ("data:image/", "http://", "https://")
    ):
        raise BadRequest("image_to_video needs 'input.image_url'.", param="input.image_url")
    job = ctx.videos.create(
        prompt=prompt,
        model=str(body.get("model") or "demo-video"),
        style="tasks",
        duration=ctx.video_seconds,
        created_epoch=int(time.time()),
        aspect_ratio=inputs.get("aspect_ratio"),
        has_image=kind == "image_to_video",
    )
    return json_reply(200, {"task_id": job.id})


def get_task(req: DemoRequest, ctx: DemoServer, task_id: str) -> Reply:
    job = ctx.videos.get(task_id)
    if job is None or job.style != "tasks":
        raise BadRequest(f"Task '{task_id}' not found.", 404, code="task_not_found")
    state, progress = job.state(ctx.videos.now())
    obj: dict[str, Any] = {
        "task_id": job.id,
        "status": TASK_STATUS[state],
        "progress": progress,
        "model": job.model,
        "video_url": None,
        "error": None,
    }
    if state == "completed":
        obj["video_url"] = f"{req.origin}/files/video-{job.id}.mp4"
    elif state == "failed":
        obj["error"] = "Generation failed: the demo fails every prompt containing 'fail'."
    return json_reply(200, obj)


def task_file(req: DemoRequest, ctx: DemoServer, name: str) -> Reply | None:
    """`/files/video-<id>.mp4` (no auth, like a CDN link); None when `name` is not a video."""
    m = re.fullmatch(r"video-([A-Za-z0-9_]+)\.mp4", name)
    if m is None:
        return None
    job = ctx.videos.get(m.group(1))
    if job is None or job.expired or job.state(ctx.videos.now())[0] != "completed":
        raise BadRequest("File not found.", 404, code="not_found")
    video = demo_video()
    return range_reply(video.data, video.content_type, req.header("Range"))


# --- Gemini Veo -------------------------------------------------------------------------------


def create_veo(req: DemoRequest, ctx: DemoServer, model: str) -> Reply:
    body = _json_body(req)
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
        raise BadRequest("'instances' must be a list with one object.", 400)
    prompt = instances[0].get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'instances[0].prompt' is required.", 400)
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest("'parameters' must be an object.", 400)
    unknown = set(parameters) - {
        "aspectRatio", "resolution", "durationSeconds", "negativePrompt", "seed",
        "personGeneration", "numberOfVideos", "sampleCount",
    }
    if unknown:
        raise BadRequest(f"Invalid JSON payload received. Unknown name \"{min(unknown)}\".")
    image = instances[0].get("image")
    if image is not None and not (isinstance(image, dict) and image.get("bytesBase64Encoded")):
        raise BadRequest("'image' needs bytesBase64Encoded and mimeType.", 400)
    job = ctx.videos.create(
        prompt=prompt,
        model=model,
        style="veo",
        duration=ctx.video_seconds,
        created_epoch=int(time.time()),
        aspect_ratio=parameters.get("aspectRatio"),
        params=parameters,
        has_image=image is not None,
    )
    return json_reply(200, {"name": f"models/{model}/operations/{job.id}"})


def get_veo_operation(req: DemoRequest, ctx: DemoServer, model: str, op_id: str) -> Reply:
    job = ctx.videos.get(op_id)
    if job is None or job.style != "veo" or job.model != model:
        raise BadRequest(f"Operation models/{model}/operations/{op_id} not found.", 404)
    state, progress = job.state(ctx.videos.now())
    obj: dict[str, Any] = {"name": f"models/{model}/operations/{op_id}"}
    if state in ("queued", "running"):
        obj["done"] = False
        obj["metadata"] = {"progressPercent": progress}
        return json_reply(200, obj)
    obj["done"] = True
    if state == "failed":
        obj["error"] = {"code": 13, "message": "Video generation failed: the demo was asked to fail."}
        return json_reply(200, obj)
    prefix = req.origin + req.path[: len(req.path) - len(req.subpath)]
    uri = f"{prefix}files/{op_id}:download?alt=media"
    obj["response"] = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
    }
    return json_reply(200, obj)


def download_veo(req: DemoRequest, ctx: DemoServer, file_id: str) -> Reply:
    job = ctx.videos.get(file_id)
    if job is None or job.style != "veo" or job.state(ctx.videos.now())[0] != "completed":
        raise BadRequest(f"File {file_id} not found.", 404)
    if job.expired:
        raise BadRequest(f"File {file_id} has expired.", 404)
    video = demo_video()
    return range_reply(video.data, video.content_type, req.header("Range"))
