"""Video-task dialects: the seed's task API and OpenAI's videos API."""

from __future__ import annotations

import pytest

from app.core.errors import (
    AuthenticationError,
    ConfigError,
    MalformedResponseError,
    RateLimitError,
)
from app.core.protocol.types import VideoRequest, VideoState, VideoTask
from app.core.protocol.video import (
    OpenAIVideoDialect,
    TasksVideoDialect,
    video_dialect_for,
    video_state,
)
from app.core.providers import VideoDialect

TASKS = TasksVideoDialect()
OPENAI = OpenAIVideoDialect()


# --- the seed's task dialect ------------------------------------------------------------------


def test_tasks_create_body_matches_seed() -> None:
    req = VideoRequest(
        prompt="A drone shot flying over a tropical beach with crystal clear water",
        model="google/veo-3-1-fast",
        aspect_ratio="LANDSCAPE",
    )
    assert TASKS.create_path == "video/generations"
    assert TASKS.build_create_body(req) == {
        "model": "google/veo-3-1-fast",
        "input": {
            "prompt": "A drone shot flying over a tropical beach with crystal clear water",
            "aspect_ratio": "LANDSCAPE",
            "video_generate_type": "text_to_video",
        },
    }
    bare = TASKS.build_create_body(VideoRequest(prompt="p"))
    assert bare == {"input": {"prompt": "p", "video_generate_type": "text_to_video"}}


@pytest.mark.parametrize(
    "obj",
    [
        {"task_id": "YOUR_TASK_ID"},
        {"code": 0, "message": "success", "data": {"task_id": "YOUR_TASK_ID"}},
        {"id": "YOUR_TASK_ID", "status": "SUBMITTED"},
        {"taskId": "YOUR_TASK_ID"},
    ],
)
def test_tasks_parse_create(obj: dict) -> None:
    task = TASKS.parse_create(obj)
    assert task.task_id == "YOUR_TASK_ID"
    assert task.state is VideoState.QUEUED


@pytest.mark.parametrize(
    "obj", [{}, {"task_id": ""}, {"status": "PENDING"}, [], "text", {"task_id": None}]
)
def test_tasks_missing_task_id_is_malformed(obj: object) -> None:
    with pytest.raises(MalformedResponseError):
        TASKS.parse_create(obj)


def test_tasks_create_error_body_is_api_error() -> None:
    with pytest.raises(AuthenticationError):
        TASKS.parse_create(
            {
                "error": {
                    "message": "Invalid API key provided.",
                    "type": "authentication_error",
                    "code": "invalid_api_key",
                }
            }
        )
    with pytest.raises(RateLimitError):
        TASKS.parse_create({"code": 429, "message": "too many", "data": None})


def test_tasks_status_path_escapes_the_id() -> None:
    assert TASKS.status_path("abc123") == "video/generations/abc123"
    assert TASKS.status_path("a/b c") == "video/generations/a%2Fb%20c"


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", VideoState.QUEUED),
        ("QUEUED", VideoState.QUEUED),
        ("SUBMITTED", VideoState.QUEUED),
        ("PROCESSING", VideoState.RUNNING),
        ("RUNNING", VideoState.RUNNING),
        ("IN_PROGRESS", VideoState.RUNNING),
        ("in-progress", VideoState.RUNNING),
        ("COMPLETED", VideoState.COMPLETED),
        ("SUCCEEDED", VideoState.COMPLETED),
        ("SUCCESS", VideoState.COMPLETED),
        ("FAILED", VideoState.FAILED),
        ("FAILURE", VideoState.FAILED),
        ("CANCELLED", VideoState.CANCELLED),
        ("canceled", VideoState.CANCELLED),
        ("WHATEVER", VideoState.UNKNOWN),
        (None, VideoState.UNKNOWN),
    ],
)
def test_status_words(raw: str | None, state: VideoState) -> None:
    assert video_state(raw) is state
    task = TASKS.parse_status({"status": raw} if raw else {}, "t1")
    assert task.state is state
    assert task.raw_status == raw


def test_tasks_completed_with_top_level_url() -> None:
    task = TASKS.parse_status(
        {"status": "COMPLETED", "video_url": "https://cdn.example/v.mp4"}, "t1"
    )
    assert task == VideoTask(
        task_id="t1",
        state=VideoState.COMPLETED,
        raw_status="COMPLETED",
        progress=100.0,
        video_url="https://cdn.example/v.mp4",
    )
    assert TASKS.content_path(task) is None


@pytest.mark.parametrize(
    "obj",
    [
        {"status": "SUCCEEDED", "output": {"video_url": "https://x/v.mp4"}},
        {"status": "SUCCESS", "data": {"video_url": "https://x/v.mp4"}},
        {"status": "COMPLETED", "url": "https://x/v.mp4"},
        {"status": "COMPLETED", "output": {"video_urls": ["https://x/v.mp4"]}},
        {
            "code": 0,
            "data": {"task_id": "t1", "status": "COMPLETED", "video_url": "https://x/v.mp4"},
        },
    ],
)
def test_tasks_nested_video_urls(obj: dict) -> None:
    task = TASKS.parse_status(obj, "t1")
    assert task.state is VideoState.COMPLETED
    assert task.video_url == "https://x/v.mp4"
    assert task.task_id == "t1"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        ("Content policy violation", "Content policy violation"),
        ({"code": "E42", "message": "Prompt rejected"}, "Prompt rejected"),
        ({"code": "E42"}, "E42"),
    ],
)
def test_tasks_failed_error_string_or_object(error: object, text: str) -> None:
    # A failed task carries `error`: it is the task's result, not an API error body.
    task = TASKS.parse_status({"status": "FAILED", "error": error}, "t1")
    assert task.state is VideoState.FAILED
    assert task.error == text


def test_tasks_failed_with_only_a_message() -> None:
    task = TASKS.parse_status(
        {"task_id": "t1", "status": "FAILURE", "message": "GPU out of memory"}, "t1"
    )
    assert (task.state, task.error) == (VideoState.FAILED, "GPU out of memory")


@pytest.mark.parametrize(
    ("progress", "value"),
    [
        (45, 45.0),
        (45.5, 45.5),
        ("45%", 45.0),
        ("45", 45.0),
        (0.45, 45.0),
        (1, 1.0),
        ("soon", None),
        (150, 100.0),
        (True, None),
    ],
)
def test_tasks_progress_number_or_percent_text(progress: object, value: float | None) -> None:
    task = TASKS.parse_status({"status": "PROCESSING", "progress": progress}, "t1")
    assert task.progress == value


def test_tasks_status_error_body_is_api_error() -> None:
    with pytest.raises(AuthenticationError):
        TASKS.parse_status({"error": {"message": "bad key", "code": "invalid_api_key"}}, "t1")
    with pytest.raises(MalformedResponseError):
        TASKS.parse_status(["nope"], "t1")


# --- OpenAI's videos API ----------------------------------------------------------------------


def test_openai_paths_and_body() -> None:
    assert OPENAI.create_path == "videos"
    assert OPENAI.status_path("video_123") == "videos/video_123"
    assert OPENAI.content_path(VideoTask(task_id="video_123")) == "videos/video_123/content"
    req = VideoRequest(prompt="a cat surfing", model="sora-2", seconds=8, size="1280x720")
    assert OPENAI.build_create_body(req) == {
        "model": "sora-2",
        "prompt": "a cat surfing",
        "seconds": "8",
        "size": "1280x720",
    }
    assert OPENAI.build_create_body(VideoRequest(prompt="p")) == {"prompt": "p"}


def test_openai_create_and_status_lifecycle() -> None:
    created = OPENAI.parse_create(
        {"id": "video_123", "object": "video", "model": "sora-2", "status": "queued", "progress": 0}
    )
    assert (created.task_id, created.state, created.progress, created.model) == (
        "video_123",
        VideoState.QUEUED,
        0.0,
        "sora-2",
    )
    running = OPENAI.parse_status(
        {"id": "video_123", "status": "in_progress", "progress": 33}, "video_123"
    )
    assert (running.state, running.progress) == (VideoState.RUNNING, 33.0)
    done = OPENAI.parse_status(
        {"id": "video_123", "status": "completed", "progress": 100, "error": None}, "video_123"
    )
    assert (done.state, done.error, done.video_url) == (VideoState.COMPLETED, None, None)
    failed = OPENAI.parse_status(
        {
            "id": "video_123",
            "status": "failed",
            "error": {"code": "moderation_blocked", "message": "Blocked by moderation"},
        },
        "video_123",
    )
    assert (failed.state, failed.error) == (VideoState.FAILED, "Blocked by moderation")


def test_openai_create_without_id_or_with_error() -> None:
    with pytest.raises(MalformedResponseError):
        OPENAI.parse_create({"object": "video", "status": "queued"})
    with pytest.raises(RateLimitError):
        OPENAI.parse_create(
            {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            }
        )


# --- choosing a dialect -----------------------------------------------------------------------


def test_video_dialect_for() -> None:
    assert isinstance(video_dialect_for(VideoDialect.TASKS), TasksVideoDialect)
    assert isinstance(video_dialect_for(VideoDialect.OPENAI), OpenAIVideoDialect)
    assert isinstance(video_dialect_for("tasks"), TasksVideoDialect)
    with pytest.raises(ConfigError):
        video_dialect_for(VideoDialect.NONE)
    with pytest.raises(ConfigError):
        video_dialect_for("bogus")
