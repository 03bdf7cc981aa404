"""Pure parsing of the three video dialects (issue 11 additions): Veo operations, OpenAI's
expiry, thumbnail, delete and remix, millisecond timestamps, and the video magic-byte check."""

from __future__ import annotations

import pytest

from app.core.errors import MalformedResponseError, RateLimitError
from app.core.protocol.types import VideoRequest, VideoState
from app.core.protocol.video import (
    OpenAIVideoDialect,
    TasksVideoDialect,
    VeoVideoDialect,
    epoch_seconds,
    sniff_video_type,
    video_dialect_for,
)
from app.core.providers import VideoDialect

VEO = VeoVideoDialect()
OPENAI = OpenAIVideoDialect()

NAME = "models/veo-3.0-generate-001/operations/abc123"


def test_veo_body_carries_every_parameter_in_its_own_words() -> None:
    req = VideoRequest(prompt="a fox", aspect_ratio="9:16", resolution="1080p", seconds=8,
                       negative_prompt="blur", seed=7)
    body = VEO.build_create_body(req, (b"\x89PNG....", "image/png"))
    assert body == {
        "instances": [{"prompt": "a fox",
                       "image": {"bytesBase64Encoded": "iVBORy4uLi4=", "mimeType": "image/png"}}],
        "parameters": {"aspectRatio": "9:16", "resolution": "1080p", "durationSeconds": 8,
                       "negativePrompt": "blur", "seed": 7},
    }
    assert VEO.create_path("models/veo-3.0-generate-001") == (
        "models/veo-3.0-generate-001:predictLongRunning"
    )
    assert VEO.build_create_body(VideoRequest(prompt="x")) == {"instances": [{"prompt": "x"}]}


def test_veo_operation_states() -> None:
    task = VEO.parse_create({"name": NAME})
    assert task.task_id == NAME and task.state is VideoState.QUEUED
    assert VEO.status_path(NAME) == NAME
    running = VEO.parse_status({"name": NAME, "done": False, "metadata": {"progressPercent": 40}}, NAME)
    assert running.state is VideoState.RUNNING and running.progress == 40.0
    done = VEO.parse_status(
        {"name": NAME, "done": True, "response": {"generateVideoResponse": {
            "generatedSamples": [{"video": {"uri": "https://g.example/v1beta/files/x:download?alt=media"}}]}}},
        NAME,
    )
    assert done.state is VideoState.COMPLETED
    assert done.video_url == "https://g.example/v1beta/files/x:download?alt=media"
    failed = VEO.parse_status({"name": NAME, "done": True,
                               "error": {"code": 3, "message": "Prompt was blocked."}}, NAME)
    assert failed.state is VideoState.FAILED and failed.error == "Prompt was blocked."
    assert failed.error_code == "3"
    filtered = VEO.parse_status({"name": NAME, "done": True, "response": {"generateVideoResponse": {
        "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["Unsafe content."]}}}, NAME)
    assert filtered.state is VideoState.FAILED and filtered.error == "Unsafe content."


@pytest.mark.parametrize("name", ["../../etc", "models/x/operations/a/../../b", "https://evil/x", ""])
def test_veo_refuses_an_operation_name_that_is_not_an_operation(name: str) -> None:
    with pytest.raises(MalformedResponseError):
        VEO.status_path(name)


def test_veo_create_without_a_name_or_with_an_error() -> None:
    with pytest.raises(MalformedResponseError):
        VEO.parse_create({"done": False})
    with pytest.raises(RateLimitError):
        VEO.parse_create({"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}})


def test_openai_status_tolerates_processing_ms_timestamps_and_an_extra_url() -> None:
    task = OPENAI.parse_status(
        {"id": "video_1", "status": "processing", "progress": 30, "created_at": 1_760_000_000_000},
        "video_1",
    )
    assert task.state is VideoState.RUNNING and task.raw_status == "processing"
    pending = OPENAI.parse_status({"id": "video_1", "status": "pending"}, "video_1")
    assert pending.state is VideoState.QUEUED
    done = OPENAI.parse_status(
        {"id": "video_1", "status": "completed", "expires_at": 1_760_003_600_000,
         "video_url": "https://cdn.example/v.mp4"},
        "video_1",
    )
    assert done.state is VideoState.COMPLETED and done.expires_at == 1_760_003_600.0
    assert done.video_url == "https://cdn.example/v.mp4"
    failed = OPENAI.parse_status(
        {"id": "video_1", "status": "failed",
         "error": {"code": "moderation_blocked", "message": "Blocked by moderation."}},
        "video_1",
    )
    assert failed.state is VideoState.FAILED and failed.error == "Blocked by moderation."
    assert failed.error_code == "moderation_blocked"


def test_openai_paths_and_form() -> None:
    assert OPENAI.content_path(OPENAI.parse_create({"id": "video_1"})) == "videos/video_1/content"
    assert OPENAI.thumbnail_path("video_1") == ("videos/video_1/content", {"variant": "thumbnail"})
    assert OPENAI.delete_path("video_1") == "videos/video_1"
    assert OPENAI.remix_path("a/b") == "videos/a%2Fb/remix"
    assert OPENAI.build_remix_body("rain") == {"prompt": "rain"}
    fields, files = OPENAI.build_create_form(
        VideoRequest(prompt="p", model="sora-2", seconds=8, size="1280x720"), (b"\xff\xd8\xffX", "image/jpeg")
    )
    assert fields == {"model": "sora-2", "prompt": "p", "seconds": "8", "size": "1280x720"}
    assert files == {"input_reference": ("reference.jpg", b"\xff\xd8\xffX", "image/jpeg")}


def test_tasks_image_to_video_sends_a_data_url() -> None:
    body = TasksVideoDialect().build_create_body(
        VideoRequest(prompt="p", video_generate_type="image_to_video"), (b"\x89PNG", "image/png")
    )
    assert body["input"]["image_url"] == "data:image/png;base64,iVBORw=="
    assert body["input"]["video_generate_type"] == "image_to_video"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1_760_000_000, 1_760_000_000.0), (1_760_000_000_500, 1_760_000_000.5),
     ("1760000000", 1_760_000_000.0), (None, None), (True, None), ("soon", None), (0, None)],
)
def test_epoch_seconds(value: object, expected: float | None) -> None:
    assert epoch_seconds(value) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
     (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81", "video/webm"),
     (b"<!DOCTYPE html><html>", None), (b'{"error": "expired"}', None),
     (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None)],
)
def test_sniff_video_type(head: bytes, expected: str | None) -> None:
    assert sniff_video_type(head) == expected


def test_the_veo_dialect_is_chosen_by_name() -> None:
    assert isinstance(video_dialect_for(VideoDialect.VEO), VeoVideoDialect)
    assert isinstance(video_dialect_for("veo"), VeoVideoDialect)
