"""The video service against the real loopback demo server, in all three dialects."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.demo.video import demo_video
from app.core.providers import ProviderProfile
from app.core.services.videos import VideoEvent, VideoFilter, VideoSubmitRequest
from app.core.store.db import Database
from tests.core.videos.conftest import DIALECTS, video_service

pytestmark = pytest.mark.e2e

POLL_PATHS = {"demo-melancholy": "video/generations/", "demo-openai": "/videos/",
              "demo-gemini": "/operations/"}


def png_file(tmp_path: Path) -> Path:
    from app.core.demo.media import render_prompt_image

    path = tmp_path / "start.png"
    path.write_bytes(render_prompt_image("start", 32, 32))
    return path


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_each_dialect_makes_and_saves_a_playable_video(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            events: list[VideoEvent] = []
            service.subscribe(events.append)
            job_id = await service.submit(
                VideoSubmitRequest(profile_id, "a lighthouse at dusk", seconds=4)
            )
            view = await service.wait(job_id)
            assert view is not None and view.state == "completed", view and view.error
            assert view.file_path is not None and view.file_path.is_file()
            assert view.file_path.read_bytes() == demo_video().data
            assert view.mime == "video/mp4" and view.byte_size == len(demo_video().data)
            assert view.task_id and view.progress == 100.0
            assert view.file_path.is_relative_to(tmp_path / "videos")
            # The provider's own words were shown while it ran.
            seen = {e.view.status for e in events if e.view is not None}
            expected = {"demo-melancholy": "PROCESSING", "demo-openai": "in_progress",
                        "demo-gemini": "running"}[profile_id]
            assert expected in seen, seen
            if profile_id == "demo-openai":
                assert view.poster_path is not None and view.poster_path.read_bytes()[:3] == b"\xff\xd8\xff"
                assert view.can_remix
            else:
                assert view.poster_path is None  # the UI grabs a frame
            assert not list((tmp_path / "videos" / ".parts").glob("*"))
            (listed,) = await service.list_jobs()
            assert listed.id == job_id and listed.prompt == "a lighthouse at dusk"

    arun(scenario())
    create = [r for r in server.requests.snapshot() if r.method == "POST"]
    assert len(create) == 1
    if profile_id == "demo-openai":
        assert create[0].json["seconds"] == "4"  # a string, as OpenAI wants
    if profile_id == "demo-gemini":
        assert create[0].path.endswith("models/veo-demo:predictLongRunning")
        assert create[0].json["parameters"] == {"durationSeconds": 4}
        assert create[0].headers.get("x-goog-api-key") == "<redacted>"
    if profile_id == "demo-melancholy":
        assert create[0].path.endswith("/video/generations/")  # the profile's trailing slash
        assert create[0].json["input"]["video_generate_type"] == "text_to_video"


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_a_failed_job_shows_the_providers_error_and_retry_links_a_new_job(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            job_id = await service.submit(VideoSubmitRequest(profile_id, "please fail now"))
            view = await service.wait(job_id)
            assert view is not None and view.state == "failed"
            assert "could not make this video" in (view.error or "")
            assert "fail" in (view.error or "").split("could not make this video")[1]
            assert view.can_retry and view.file_path is None
            new_id = await service.retry(job_id)
            assert new_id != job_id
            new = await service.wait(new_id)
            assert new is not None and new.retry_of == job_id and new.state == "failed"
            failed = await service.list_jobs(VideoFilter(states=frozenset({"failed"})))
            assert [v.id for v in failed] == [new_id, job_id]  # newest first

    arun(scenario())


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_a_stalled_job_times_out_and_says_so(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos", timeout=0.8) as service:
            job_id = await service.submit(VideoSubmitRequest(profile_id, "stall forever"))
            view = await service.wait(job_id)
            assert view is not None and view.state == "failed"
            assert "did not finish within 1 s" in (view.error or "")

    arun(scenario())
    assert len(server.requests.find(POLL_PATHS[profile_id], method="GET")) >= 2


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_a_429_on_a_poll_is_waited_out_as_the_server_asks(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    server.faults.add(
        FaultRule(path_contains=POLL_PATHS[profile_id], method="GET", status=429,
                  retry_after=1, times=1)
    )

    async def scenario() -> float:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            started = time.monotonic()
            job_id = await service.submit(VideoSubmitRequest(profile_id, "a calm sea"))
            view = await service.wait(job_id)
            assert view is not None and view.state == "completed", view and view.error
            return time.monotonic() - started

    took = arun(scenario())
    assert took >= 0.95  # the Retry-After second was honoured (unfaulted: about 0.4 s)
    assert not server.faults.rules() or server.faults.rules()[0].times == 0


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_an_expired_result_fails_with_a_sentence_not_a_bad_file(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            job_id = await service.submit(VideoSubmitRequest(profile_id, "this will expire"))
            view = await service.wait(job_id)
            assert view is not None and view.state == "failed"
            assert "expired" in (view.error or ""), view.error
            assert view.file_path is None
            assert not list((tmp_path / "videos").rglob("*.mp4"))

    arun(scenario())


def test_polling_pauses_while_offline_and_resumes(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    # Three polls in a row get no answer at all (the connection drops), then the server is back.
    server.faults.add(
        FaultRule(path_contains="/videos/", method="GET", disconnect_after_events=0, times=3)
    )

    async def scenario() -> list[str]:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            texts: list[str] = []
            service.engine.subscribe(lambda e: texts.append(e.job.progress_text))
            ids = [
                await service.submit(VideoSubmitRequest("demo-openai", f"offline {i}"))
                for i in range(3)
            ]
            for job_id in ids:
                view = await service.wait(job_id)
                assert view is not None and view.state == "completed", view and view.error
            return texts

    texts = arun(scenario())
    assert "offline" in texts


def test_cancel_uses_the_providers_delete_where_it_has_one(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            running: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def on(event: VideoEvent) -> None:
                if event.view and event.view.task_id and not running.done():
                    running.set_result(None)

            service.subscribe(on)
            openai_id = await service.submit(VideoSubmitRequest("demo-openai", "stall please"))
            await running
            outcome = await service.cancel(openai_id)
            assert outcome.provider_cancelled and "Cancelled at" in outcome.message
            assert (await service.get(openai_id)).state == "cancelled"  # type: ignore[union-attr]

            running2: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            service.subscribe(lambda e: e.view and e.view.id != openai_id and e.view.task_id
                              and not running2.done() and running2.set_result(None))
            tasks_id = await service.submit(VideoSubmitRequest("demo-melancholy", "stall too"))
            await running2
            outcome = await service.cancel(tasks_id)
            assert not outcome.provider_cancelled and "stopped tracking" in outcome.message
            assert await service.remove(tasks_id)
            assert await service.get(tasks_id) is None

    arun(scenario())
    assert len(server.requests.find("/videos/", method="DELETE")) == 1


def test_remix_posts_to_the_remix_endpoint_and_links_the_job(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            first = await service.wait(await service.submit(VideoSubmitRequest("demo-openai", "a cat")))
            assert first is not None and first.state == "completed"
            remix_id = await service.remix(first.id, "the same cat, in the rain")
            remixed = await service.wait(remix_id)
            assert remixed is not None and remixed.state == "completed", remixed and remixed.error
            assert remixed.remix_of == first.id and remixed.prompt == "the same cat, in the rain"
            assert remixed.file_path != first.file_path
            assert await service.remove(first.id, delete_file=True)
            assert first.file_path is not None and not first.file_path.exists()

    arun(scenario())
    (remix,) = server.requests.find("/remix", method="POST")
    assert remix.json == {"prompt": "the same cat, in the rain"}


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_image_to_video_sends_the_image_in_the_dialects_shape(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun,
    profile_id: str,
) -> None:
    image = png_file(tmp_path)

    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            job_id = await service.submit(
                VideoSubmitRequest(profile_id, "make it move", kind="image_to_video",
                                   image_path=str(image))
            )
            view = await service.wait(job_id)
            assert view is not None and view.state == "completed", view and view.error

    arun(scenario())
    newest = max(server.videos.all(), key=lambda j: j.created_at)
    assert newest.has_image and newest.prompt == "make it move"
    (create,) = [r for r in server.requests.snapshot() if r.method == "POST"]
    if profile_id == "demo-openai":
        assert create.headers["content-type"].startswith("multipart/form-data")
    elif profile_id == "demo-gemini":
        assert create.json["instances"][0]["image"]["mimeType"] == "image/png"
    else:
        assert create.json["input"]["image_url"].startswith("data:image/png;base64,")


def test_a_download_url_on_another_origin_never_gets_the_key(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    server.video_seconds = 0.0
    other = f"http://localhost:{server.port}"  # same server, another origin than 127.0.0.1

    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            job_id = await service.submit(VideoSubmitRequest("demo-melancholy", "a far file"))
            task_id = None
            for _ in range(200):
                job = await service.engine.store.get(job_id)
                if job is not None and job.provider_task_id:
                    task_id = job.provider_task_id
                    break
                await asyncio.sleep(0.01)
            assert task_id is not None
            view = await service.wait(job_id)
            assert view is not None and view.state == "completed", view and view.error

    # Reply with the other origin's file URL: rewrite after the task exists, via a matching rule.
    original = server.videos.create

    def create(**kwargs):  # type: ignore[no-untyped-def]
        job = original(**kwargs)
        server.faults.add(FaultRule(
            path_contains=f"video/generations/{job.id}", method="GET", status=200,
            body={"task_id": job.id, "status": "COMPLETED",
                  "video_url": f"{other}/files/video-{job.id}.mp4"},
        ))
        return job

    server.videos.create = create  # type: ignore[method-assign]
    try:
        arun(scenario())
    finally:
        del server.videos.create
    (download,) = server.requests.find("/files/video-", method="GET")
    assert download.headers["host"].startswith("localhost")
    assert not download.auth_present and "authorization" not in download.headers
    polls = server.requests.find("video/generations/task_", method="GET")
    assert polls and all(p.auth_present for p in polls)


def test_the_api_key_is_never_written_to_the_database(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    from tests.core.videos.conftest import KEY

    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos") as service:
            for pid in ("demo-openai", "demo-gemini", "demo-melancholy"):
                await service.wait(await service.submit(VideoSubmitRequest(pid, "keys?")))

    arun(scenario())
    rows = db.run_sync(lambda c: [tuple(r) for r in c.execute("SELECT * FROM jobs")])
    assert len(rows) == 3 and KEY not in json.dumps(rows, default=str)


def test_the_jobs_of_a_profile_share_one_poll_budget(
    server: DemoServer, profiles: list[ProviderProfile], db: Database, tmp_path: Path, arun
) -> None:
    # 120 polls a minute (2 a second, a burst of 10) for 4 jobs that never finish, for about
    # 2 s: unbudgeted, each would poll every 0.02-0.1 s (well over 60 polls in all).
    async def scenario() -> None:
        async with video_service(db, profiles, tmp_path / "videos", poll_budget=120.0,
                                 timeout=2.0) as service:
            ids = [await service.submit(VideoSubmitRequest("demo-openai", f"stall {i}"))
                   for i in range(4)]
            for job_id in ids:
                view = await service.wait(job_id)
                assert view is not None and view.state == "failed"
            assert 0 < service.poll_stats()["demo-openai"] <= 10 + 2 * 2.5 + 1

    arun(scenario())
    polls = [r for r in server.requests.find("/videos/", method="GET")]
    assert 4 <= len(polls) <= 16
