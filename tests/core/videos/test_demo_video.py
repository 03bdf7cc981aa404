"""The demo server's video: real and playable-shaped, cached, served with Range, in 3 dialects."""

from __future__ import annotations

import httpx

from app.core.demo.server import DemoServer
from app.core.demo.video import demo_video
from tests.core.videos.conftest import KEY


def test_the_demo_video_is_a_real_h264_mp4_made_once() -> None:
    video = demo_video()
    assert video.playable and video.data[4:8] == b"ftyp"
    assert b"avc1" in video.data and b"moov" in video.data  # H.264 track, a real index
    assert video.poster[:3] == b"\xff\xd8\xff"
    assert demo_video() is video  # cached for the process


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
