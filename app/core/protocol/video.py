"""Video-task dialects: submit a generation, poll its status, find the finished file.

Two wire shapes exist:
- `TasksVideoDialect` — the seed's (004): `POST video/generations` with
  `{model, input: {prompt, aspect_ratio, video_generate_type}}` -> `{task_id}`, then
  `GET video/generations/{task_id}` -> `{status, video_url, error, progress}`. Real servers of
  this family vary the casing of statuses and nest the URL (`output.video_url`, `data.video_url`),
  so parsing is tolerant.
- `OpenAIVideoDialect` — OpenAI's `POST videos` -> `{id, status, progress}`, `GET videos/{id}`,
  the file at `GET videos/{id}/content`.

Pure: paths, bodies and parsing only; the client does the requests and the polling.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from app.core.errors import ConfigError, MalformedResponseError
from app.core.protocol.errors import api_error_from_json, error_info_from_json
from app.core.protocol.types import VideoRequest, VideoState, VideoTask
from app.core.providers import VideoDialect

__all__ = [
    "OpenAIVideoDialect",
    "TasksVideoDialect",
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
    return VideoTask(
        task_id=task_id,
        state=state,
        raw_status=raw_status,
        progress=progress,
        video_url=_find_video_url(obj),
        error=error,
        model=model if isinstance(model, str) else None,
    )


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

    def build_create_body(self, req: VideoRequest) -> dict[str, Any]:
        task_input: dict[str, Any] = {"prompt": req.prompt}
        if req.aspect_ratio:
            task_input["aspect_ratio"] = req.aspect_ratio
        task_input["video_generate_type"] = req.video_generate_type or "text_to_video"
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

    def build_create_body(self, req: VideoRequest) -> dict[str, Any]:
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

    def content_path(self, task: VideoTask) -> str | None:
        return f"{self.create_path}/{_path_segment(task.task_id)}/content"


def video_dialect_for(name: VideoDialect | str) -> TasksVideoDialect | OpenAIVideoDialect:
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
    raise ConfigError(
        "This provider profile has no video API set. Choose a video dialect in the profile's "
        "settings, or use another provider for video."
    )
