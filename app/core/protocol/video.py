"""Video-task dialects: submit a generation, poll its status, find the finished file.

Three wire shapes exist:
- `TasksVideoDialect` — the seed's (004): `POST video/generations` with
  `{model, input: {prompt, aspect_ratio, video_generate_type}}` -> `{task_id}`, then
  `GET video/generations/{task_id}` -> `{status, video_url, error, progress}`. Real servers of
  this family vary the casing of statuses and nest the URL (`output.video_url`, `data.video_url`),
  so parsing is tolerant. An image-to-video input goes as `input.image_url` (a data: URL).
- `OpenAIVideoDialect` — OpenAI's `POST videos` (`prompt`, `model`, `seconds` as a string,
  `size` "1280x720", optional `input_reference` file: then the body is multipart) ->
  `{id, status, progress}`, `GET videos/{id}` (queued / in_progress / completed / failed, also
  processing / pending; `created_at`/`expires_at` in seconds or milliseconds; an extra
  `video_url`), the file at `GET videos/{id}/content`, the poster at `?variant=thumbnail`,
  `DELETE videos/{id}`, `POST videos/{id}/remix` with `{prompt}`.
- `VeoVideoDialect` — Gemini's long-running operations:
  `POST models/{model}:predictLongRunning` with `{instances: [{prompt, image?}], parameters:
  {aspectRatio, resolution, durationSeconds, negativePrompt, seed}}` -> `{name}`; poll
  `GET {name}` until `done`; then `error {code, message}` or
  `response.generateVideoResponse.generatedSamples[].video.uri` (downloaded with the key header,
  which the client sends only to the profile's own origin).

Pure: paths, bodies and parsing only; the client does the requests, the service the polling.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

from app.core.errors import ConfigError, MalformedResponseError
from app.core.protocol.errors import api_error_from_json, error_info_from_json
from app.core.protocol.types import VideoRequest, VideoState, VideoTask
from app.core.providers import VideoDialect

__all__ = [
    "AnyVideoDialect",
    "OpenAIVideoDialect",
    "TasksVideoDialect",
    "VeoVideoDialect",
    "epoch_seconds",
    "sniff_video_type",
    "video_dialect_for",
    "video_state",
]

_STATES: dict[str, VideoState] = {
    **dict.fromkeys(
        ("pending", "queued", "submitted", "waiting", "created", "not_start", "not_started"),
        VideoState.QUEUED,
    ),
    **dict.fromkeys(
        ("processing", "running", "in_progress", "generating", "started", "in_queue_processing"),
        VideoState.RUNNING,
    ),
    **dict.fromkeys(
        ("completed", "succeeded", "success", "succeed", "finished", "done", "complete"),
        VideoState.COMPLETED,
    ),
    **dict.fromkeys(("failed", "failure", "error", "expired", "rejected"), VideoState.FAILED),
    **dict.fromkeys(("cancelled", "canceled"), VideoState.CANCELLED),
}


def video_state(raw: Any) -> VideoState:
    """A server's status word (any case, `-`/space/`_`) -> VideoState; UNKNOWN if unrecognised."""
    if not isinstance(raw, str) or not raw.strip():
        return VideoState.UNKNOWN
    key = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    return _STATES.get(key, VideoState.UNKNOWN)


def _progress(value: Any) -> float | None:
    """`45`, `45.5`, `"45%"`, `"45"`, or a fraction `0.45` -> percent 0..100."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", value)
        if not m:
            return None
        number = float(m.group(1))
    elif isinstance(value, (int, float)):
        number = float(value)
        # A float strictly between 0 and 1 is a fraction; ints (and 1.0) are already percent.
        if isinstance(value, float) and 0.0 < number < 1.0:
            number *= 100.0
    else:
        return None
    return max(0.0, min(100.0, number))


def _error_text(value: Any) -> str | None:
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "msg", "detail", "reason", "code"):
            text = value.get(key)
            if isinstance(text, (str, int)) and not isinstance(text, bool) and str(text):
                return str(text)
        return None
    if isinstance(value, list) and value:
        return _error_text(value[0])
    return str(value)


def _first_url(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list):
        for item in value:
            url = _first_url(item)
            if url:
                return url
    if isinstance(value, dict):
        for key in ("url", "video_url"):
            url = _first_url(value.get(key))
            if url:
                return url
    return None


def _find_video_url(obj: dict[str, Any]) -> str | None:
    for key in ("video_url", "videoUrl", "url", "video_urls", "videos"):
        url = _first_url(obj.get(key))
        if url:
            return url
    for nest in ("output", "data", "result", "results"):
        inner = obj.get(nest)
        if isinstance(inner, dict):
            url = _find_video_url(inner)
            if url:
                return url
        elif isinstance(inner, list):
            for item in inner:
                if isinstance(item, dict):
                    url = _find_video_url(item)
                    if url:
                        return url
    return None


def _is_task_shaped(obj: dict[str, Any]) -> bool:
    # A failed task carries `error` next to its status: that is a task result, not an API error.
    if _task_id_value(obj.get("task_id")) is not None:
        return True
    # A numeric `status` (`{"status": 400, "error": ...}`) is an HTTP status, not a task state.
    return any(isinstance(obj.get(k), str) for k in ("status", "state", "task_status"))


def _task_id_value(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _unwrap(obj: Any) -> dict[str, Any]:
    """Raise the APIError of an error body; unwrap `{code: 0, data: {...}}` envelopes."""
    if not isinstance(obj, dict):
        if error_info_from_json(obj) is not None:
            raise api_error_from_json(200, obj)
        raise MalformedResponseError(detail="video task reply is not a JSON object")
    inner = obj.get("data")
    if isinstance(inner, dict) and _is_task_shaped(inner) and not _is_task_shaped(obj):
        obj = {**inner, **{k: v for k, v in obj.items() if k != "data" and k not in inner}}
    if not _is_task_shaped(obj) and error_info_from_json(obj) is not None:
        raise api_error_from_json(200, obj)
    return obj


def _task_id(obj: dict[str, Any]) -> str | None:
    for key in ("task_id", "taskId", "id"):
        value = _task_id_value(obj.get(key))
        if value is not None:
            return value
    return None


def _task_from(obj: dict[str, Any], task_id: str) -> VideoTask:
    raw = obj.get("status", obj.get("state", obj.get("task_status")))
    raw_status = raw if isinstance(raw, str) else None
    state = video_state(raw_status)
    error = _error_text(obj.get("error")) or _error_text(obj.get("fail_reason"))
    if state is VideoState.FAILED and not error:
        error = _error_text(obj.get("message"))
    progress = _progress(obj.get("progress"))
    if state is VideoState.COMPLETED and progress is None:
        progress = 100.0
    model = obj.get("model")
    code = obj.get("error").get("code") if isinstance(obj.get("error"), dict) else None
    return VideoTask(
        task_id=task_id,
        state=state,
        raw_status=raw_status,
        progress=progress,
        video_url=_find_video_url(obj),
        error=error,
        model=model if isinstance(model, str) else None,
        expires_at=epoch_seconds(obj.get("expires_at")),
        error_code=str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
    )


def epoch_seconds(value: Any) -> float | None:
    """A timestamp in seconds or milliseconds (numbers or digit strings) -> epoch seconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if not re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
            return None
        value = float(value)
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    number = float(value)
    # Seconds since 1970 pass 1e11 only in the year 5138; milliseconds passed it in 1973.
    return number / 1000.0 if number > 1e11 else number


_MP4_BRANDS = (b"ftyp",)


def sniff_video_type(head: bytes) -> str | None:
    """`video/mp4` (ISO-BMFF: a box whose type is `ftyp`, or an early `moov`/`mdat`/`free`),
    `video/webm` (EBML magic), or None for anything else (an HTML page, JSON, an image)."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"free", b"wide") and head[:4] != b"\0\0\0\0":
        return "video/mp4"
    return None


def image_data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _path_segment(task_id: str) -> str:
    # A task id goes into the path as one segment, whatever it contains.
    return quote(task_id, safe="")


class _TaskDialect:
    """What both video dialects share: a created task's id and state, and where to poll it."""

    create_path: str
    # How the create reply names the id, for the error when it has none.
    id_name: str

    def parse_create(self, obj: Any) -> VideoTask:
        data = _unwrap(obj)
        task_id = _task_id(data)
        if task_id is None:
            raise MalformedResponseError(
                f"The server accepted the video request but returned no {self.id_name}. Check "
                "that the profile's video dialect matches the server.",
                detail=f"{self.create_path} reply has no {self.id_name}",
            )
        task = _task_from(data, task_id)
        if task.state is VideoState.UNKNOWN and task.raw_status is None:
            task.state = VideoState.QUEUED
        return task

    def status_path(self, task_id: str) -> str:
        return f"{self.create_path}/{_path_segment(task_id)}"

    def parse_status(self, obj: Any, task_id: str) -> VideoTask:
        data = _unwrap(obj)
        return _task_from(data, _task_id(data) or task_id)


class TasksVideoDialect(_TaskDialect):
    """The seed's task API: `video/generations` and `video/generations/{task_id}`."""

    name = VideoDialect.TASKS
    create_path = "video/generations"
    id_name = "task id"

    supports_cancel = False
    supports_remix = False
    has_thumbnail = False

    def build_create_body(
        self, req: VideoRequest, image: tuple[bytes, str] | None = None
    ) -> dict[str, Any]:
        task_input: dict[str, Any] = {"prompt": req.prompt}
        if req.aspect_ratio:
            task_input["aspect_ratio"] = req.aspect_ratio
        task_input["video_generate_type"] = req.video_generate_type or "text_to_video"
        if image is not None:
            task_input["image_url"] = image_data_url(*image)
        body: dict[str, Any] = {}
        if req.model:
            body["model"] = req.model
        body["input"] = task_input
        return body

    def content_path(self, task: VideoTask) -> str | None:
        # The finished file is at `video_url` (often another host): download it directly.
        return None


class OpenAIVideoDialect(_TaskDialect):
    """OpenAI's video API: `videos`, `videos/{id}`, `videos/{id}/content`."""

    name = VideoDialect.OPENAI
    create_path = "videos"
    id_name = "video id"

    supports_cancel = True
    supports_remix = True
    has_thumbnail = True

    def build_create_body(
        self, req: VideoRequest, image: tuple[bytes, str] | None = None
    ) -> dict[str, Any]:
        """The JSON body; with an `image` the request is multipart instead (`build_create_form`)."""
        body: dict[str, Any] = {}
        if req.model:
            body["model"] = req.model
        body["prompt"] = req.prompt
        if req.seconds is not None:
            # OpenAI's API takes seconds as a string enum ("4", "8", "12").
            body["seconds"] = str(req.seconds)
        if req.size:
            body["size"] = req.size
        return body

    def build_create_form(
        self, req: VideoRequest, image: tuple[bytes, str]
    ) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
        """(form fields, files) for a multipart create with `input_reference` (OpenAI's shape)."""
        fields = {k: str(v) for k, v in self.build_create_body(req).items()}
        data, mime = image
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "bin")
        return fields, {"input_reference": (f"reference.{extension}", data, mime)}

    def content_path(self, task: VideoTask) -> str | None:
        return f"{self.create_path}/{_path_segment(task.task_id)}/content"

    def thumbnail_path(self, task_id: str) -> tuple[str, dict[str, str]]:
        """(path, query) of the poster frame."""
        return f"{self.create_path}/{_path_segment(task_id)}/content", {"variant": "thumbnail"}

    def delete_path(self, task_id: str) -> str:
        return f"{self.create_path}/{_path_segment(task_id)}"

    def remix_path(self, task_id: str) -> str:
        return f"{self.create_path}/{_path_segment(task_id)}/remix"

    def build_remix_body(self, prompt: str) -> dict[str, Any]:
        return {"prompt": prompt}


_OPERATION_NAME = re.compile(r"(?:models/[A-Za-z0-9._\-]+/)?operations/[A-Za-z0-9._\-]+")


class VeoVideoDialect:
    """Gemini Veo: `models/{model}:predictLongRunning`, then the operation `{name}` until done."""

    name = VideoDialect.VEO
    id_name = "operation name"
    supports_cancel = False
    supports_remix = False
    has_thumbnail = False

    @staticmethod
    def create_path(model: str) -> str:
        model = model.strip().removeprefix("models/")
        return f"models/{quote(model, safe='.-_')}:predictLongRunning"

    def build_create_body(
        self, req: VideoRequest, image: tuple[bytes, str] | None = None
    ) -> dict[str, Any]:
        instance: dict[str, Any] = {"prompt": req.prompt}
        if image is not None:
            data, mime = image
            instance["image"] = {
                "bytesBase64Encoded": base64.b64encode(data).decode("ascii"),
                "mimeType": mime,
            }
        parameters: dict[str, Any] = {}
        if req.aspect_ratio:
            parameters["aspectRatio"] = req.aspect_ratio
        if req.resolution:
            parameters["resolution"] = req.resolution
        if req.seconds is not None:
            parameters["durationSeconds"] = int(req.seconds)
        if req.negative_prompt:
            parameters["negativePrompt"] = req.negative_prompt
        if req.seed is not None:
            parameters["seed"] = int(req.seed)
        body: dict[str, Any] = {"instances": [instance]}
        if parameters:
            body["parameters"] = parameters
        return body

    def parse_create(self, obj: Any) -> VideoTask:
        if not isinstance(obj, dict):
            raise MalformedResponseError(detail="predictLongRunning reply is not a JSON object")
        if "name" not in obj and error_info_from_json(obj) is not None:
            raise api_error_from_json(200, obj)
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MalformedResponseError(
                "The server accepted the video request but returned no operation name. Check "
                "that the profile's video dialect matches the server.",
                detail="predictLongRunning reply has no name",
            )
        if obj.get("done"):
            return self.parse_status(obj, name.strip())
        return VideoTask(task_id=name.strip(), state=VideoState.QUEUED)

    def status_path(self, name: str) -> str:
        name = name.strip().strip("/")
        if not _OPERATION_NAME.fullmatch(name):
            # The name comes from the server; it must stay an operation path of this API.
            raise MalformedResponseError(
                "The server gave an operation name the app cannot poll. Try generating again.",
                detail=f"unexpected operation name {name[:80]!r}",
            )
        return name

    def parse_status(self, obj: Any, name: str) -> VideoTask:
        if not isinstance(obj, dict):
            raise MalformedResponseError(detail="operation reply is not a JSON object")
        if "done" not in obj and "name" not in obj and error_info_from_json(obj) is not None:
            raise api_error_from_json(200, obj)
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        progress = _progress(metadata.get("progressPercent", metadata.get("progress")))
        if not obj.get("done"):
            return VideoTask(task_id=name, state=VideoState.RUNNING, raw_status="running",
                             progress=progress)
        error = obj.get("error")
        if isinstance(error, dict) and error:
            code = error.get("code")
            return VideoTask(
                task_id=name,
                state=VideoState.FAILED,
                raw_status="failed",
                error=_error_text(error) or "The operation failed.",
                error_code=str(code) if code is not None else None,
            )
        response = obj.get("response") if isinstance(obj.get("response"), dict) else {}
        generated = response.get("generateVideoResponse")
        generated = generated if isinstance(generated, dict) else response
        url = None
        for sample in generated.get("generatedSamples") or generated.get("videos") or []:
            if isinstance(sample, dict):
                video = sample.get("video") if isinstance(sample.get("video"), dict) else sample
                candidate = video.get("uri") or video.get("gcsUri")
                if isinstance(candidate, str) and candidate.strip():
                    url = candidate.strip()
                    break
        if url is None:
            reasons = generated.get("raiMediaFilteredReasons")
            text = (
                " ".join(str(r) for r in reasons) if isinstance(reasons, list) and reasons
                else "The operation finished without a video."
            )
            return VideoTask(task_id=name, state=VideoState.FAILED, raw_status="done",
                             error=text, error_code="filtered" if reasons else None)
        return VideoTask(task_id=name, state=VideoState.COMPLETED, raw_status="done",
                         progress=100.0, video_url=url)

    def content_path(self, task: VideoTask) -> str | None:
        return None


AnyVideoDialect = TasksVideoDialect | OpenAIVideoDialect | VeoVideoDialect


def video_dialect_for(name: VideoDialect | str) -> AnyVideoDialect:
    """The dialect object for a profile's `video_dialect`; ConfigError for `none`/unknown."""
    try:
        dialect = VideoDialect(name)
    except ValueError:
        raise ConfigError(
            f"Unknown video dialect {name!r}. Pick one in the profile's settings."
        ) from None
    if dialect is VideoDialect.TASKS:
        return TasksVideoDialect()
    if dialect is VideoDialect.OPENAI:
        return OpenAIVideoDialect()
    if dialect is VideoDialect.VEO:
        return VeoVideoDialect()
    raise ConfigError(
        "This provider profile has no video API set. Choose a video dialect in the profile's "
        "settings, or use another provider for video."
    )
