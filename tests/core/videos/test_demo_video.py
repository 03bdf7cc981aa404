"""The demo server's video: real and playable-shaped, cached, served with Range, in 3 dialects."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import httpx
import pytest

from app.core.demo import video as video_module
from app.core.demo.server import DemoServer
from app.core.demo.video import POSTER_FILE, VIDEO_FILE, demo_video
from app.resources import resource_dir
from tests.core.videos.conftest import KEY


def _boxes(data: bytes) -> dict[bytes, bytes]:
    """The top-level ISO-BMFF boxes of an MP4: {type: payload}."""
    boxes: dict[bytes, bytes] = {}
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        assert size >= 8, f"bad box size {size} at {at}"
        boxes[kind] = data[at + 8 : at + size]
        at += size
    assert at == len(data)
    return boxes


def test_the_demo_video_is_the_shipped_h264_mp4_read_once() -> None:
    video = demo_video()
    assert video.playable and video.data[4:8] == b"ftyp"
    assert video.data == (resource_dir() / "demo" / VIDEO_FILE).read_bytes()
    assert video.poster == (resource_dir() / "demo" / POSTER_FILE).read_bytes()
    assert video.poster[:3] == b"\xff\xd8\xff"
    assert len(video.data) < 64 * 1024  # "a few KB": it ships in every install
    boxes = _boxes(video.data)
    assert list(boxes)[:2] == [b"ftyp", b"moov"]  # +faststart: the index before the data
    assert b"mdat" in boxes and b"avc1" in boxes[b"moov"]  # an H.264 track
    # mvhd (version 0): flags, created, modified, timescale, duration -> about one second.
    moov = boxes[b"moov"]
    mvhd = moov[moov.index(b"mvhd") + 4 :]
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    assert abs(duration / timescale - 1.0) < 0.15
    assert demo_video() is video  # cached for the process


def test_a_missing_video_file_falls_back_to_the_placeholder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import app.resources

    monkeypatch.setattr(app.resources, "resource_dir", lambda: tmp_path)
    video_module._generate.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=video_module.__name__):
            video = demo_video()
        assert not video.playable and video.data[4:8] == b"ftyp" and b"moov" not in video.data
        assert "demo video is missing" in caplog.text
    finally:
        video_module._generate.cache_clear()


def test_range_requests_resume_and_ranges_past_the_end_are_refused(server: DemoServer) -> None:
    server.video_seconds = 0.0
    base = server.base_url("openai")
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(headers=headers) as http:
        job = http.post(f"{base}/videos", json={"prompt": "ranges"}).json()
        whole = http.get(f"{base}/videos/{job['id']}/content")
        assert whole.status_code == 200 and whole.content == demo_video().data
        assert whole.headers["accept-ranges"] == "bytes"
        part = http.get(f"{base}/videos/{job['id']}/content", headers={"Range": "bytes=100-"})
        assert part.status_code == 206 and part.content == demo_video().data[100:]
        size = len(demo_video().data)
        assert part.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
        past = http.get(f"{base}/videos/{job['id']}/content", headers={"Range": f"bytes={size}-"})
        assert past.status_code == 416
        thumb = http.get(f"{base}/videos/{job['id']}/content", params={"variant": "thumbnail"})
        assert thumb.headers["content-type"] == "image/jpeg"
        assert http.delete(f"{base}/videos/{job['id']}").json()["deleted"] is True
        assert http.get(f"{base}/videos/{job['id']}").status_code == 404


def test_veo_operations_need_the_key_and_name_a_download_on_the_same_origin(server: DemoServer) -> None:
    server.video_seconds = 0.0
    base = server.base_url("gemini")
    with httpx.Client() as http:
        refused = http.post(f"{base}/models/veo-demo:predictLongRunning",
                            json={"instances": [{"prompt": "x"}]})
        assert refused.status_code in (401, 403)
        key = {"x-goog-api-key": KEY}
        op = http.post(f"{base}/models/veo-demo:predictLongRunning",
                       json={"instances": [{"prompt": "x"}]}, headers=key).json()
        assert op["name"].startswith("models/veo-demo/operations/")
        done = http.get(f"{base}/{op['name']}", headers=key).json()
        assert done["done"] is True
        uri = done["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        assert uri.startswith(server.origin + "/gemini/v1beta/files/")
        assert http.get(uri).status_code in (401, 403)  # the file needs the key too
        assert http.get(uri, headers=key).content == demo_video().data
        bad = http.post(f"{base}/models/veo-demo:predictLongRunning",
                        json={"instances": [{"prompt": "x"}], "parameters": {"fps": 3}},
                        headers=key)
        assert bad.status_code == 400
