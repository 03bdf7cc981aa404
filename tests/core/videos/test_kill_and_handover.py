"""Real processes: killed during submit and during download, and a job handed to the next start.

The child (video_child.py) is "the app": it runs the service against this test's demo server
and prints its job's states; the parent SIGKILLs it (no cleanup, no final write) at the moment
under test, then starts again on the same database, in-process or as a second child.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.demo.video import demo_video
from app.core.providers import ProviderProfile
from app.core.store.db import Database
from tests.core.videos.conftest import DIALECTS, KEY, video_service

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("video_child.py")


async def run_child(
    server: DemoServer, db_path: Path, videos: Path, *args: str, until=None  # type: ignore[no-untyped-def]
) -> list[str]:
    """Run the child; SIGKILL it as soon as `until(line)` is true (None: let it exit)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), str(db_path), str(videos), str(server.port), KEY, *args,
        stdout=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
            if not line:
                break
            lines.append(line)
            if until is not None and until(line):
                proc.kill()
                break
    finally:
        if proc.returncode is None and until is not None:
            proc.kill()
        await proc.communicate()
    if until is not None:
        assert proc.returncode == -9, lines
    else:
        assert proc.returncode == 0, lines
    return lines


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_killed_during_submit_is_reconciled_and_never_sent_twice(
    server: DemoServer, profiles: list[ProviderProfile], tmp_path: Path, arun, profile_id: str
) -> None:
    # The create request is held at the server: the child is killed while it is in flight.
    server.faults.add(FaultRule(method="POST", delay_s=30, times=1))
    db_path, videos = tmp_path / "kill.db", tmp_path / "videos"
    Database.open(db_path).close()
    lines = arun(run_child(server, db_path, videos, "submit", profile_id, "a kite",
                           until=lambda l: l == "STATE submitting 1"), timeout=60)
    assert lines[-1] == "STATE submitting 1"
    server.faults.clear()
    posts = len([r for r in server.requests.snapshot() if r.method == "POST"])
    assert posts <= 1

    db = Database.open(db_path)
    try:
        async def restart() -> None:
            async with video_service(db, profiles, videos) as service:
                resolved = await service.recover()
                assert [j.state for j in resolved] == ["interrupted"]
                (view,) = await service.list_jobs()
                assert view.state == "interrupted" and "may have received it" in (view.error or "")
                assert view.can_retry and view.task_id is None
                again = await service.recover()  # a second start: still nothing sent
                assert again == []

        arun(restart())
    finally:
        db.close()
    assert len([r for r in server.requests.snapshot() if r.method == "POST"]) == posts


def test_killed_during_download_resumes_with_range_and_saves_the_file_once(
    server: DemoServer, profiles: list[ProviderProfile], tmp_path: Path, arun
) -> None:
    size = len(demo_video().data)
    # The file trickles out (about 3 s): the child is killed a quarter of the way through.
    server.faults.add(FaultRule(path_contains="/content", method="GET",
                                trickle_bytes_per_s=size / 3, times=1))
    db_path, videos = tmp_path / "kill.db", tmp_path / "videos"
    Database.open(db_path).close()

    def far_enough(line: str) -> bool:
        return line.startswith("PROGRESS ") and float(line.split()[1]) >= 0.25

    arun(run_child(server, db_path, videos, "submit", "demo-openai", "a slow river",
                   until=far_enough), timeout=60)
    part = videos / ".parts" / "job-1.part"
    kept = part.stat().st_size
    assert 0 < kept < size
    server.faults.clear()

    db = Database.open(db_path)
    try:
        async def restart() -> None:
            async with video_service(db, profiles, videos) as service:
                (resumed,) = await service.recover()
                assert resumed.state == "downloading"
                view = await service.wait(resumed.id)
                assert view is not None and view.state == "completed", view and view.error
                assert view.file_path is not None and view.file_path.read_bytes() == demo_video().data
                assert not part.exists()

        arun(restart())
    finally:
        db.close()
    assert len(server.requests.find("/videos", method="POST")) == 1
    contents = [r for r in server.requests.find("/content", method="GET") if not r.query]
    assert contents[-1].headers.get("range") == f"bytes={kept}-"


@pytest.mark.parametrize("profile_id", DIALECTS)
def test_a_job_left_running_when_the_app_quit_is_finished_by_the_next_process(
    server: DemoServer, tmp_path: Path, arun, profile_id: str
) -> None:
    server.video_seconds = 1.0
    db_path, videos = tmp_path / "handover.db", tmp_path / "videos"
    Database.open(db_path).close()
    first = arun(run_child(server, db_path, videos, "quit-when-running", profile_id, "a train"),
                 timeout=60)
    assert first[-1].startswith("QUIT ")
    second = arun(run_child(server, db_path, videos, "recover"), timeout=60)
    assert second == [f"DONE {first[-1].split()[1]} completed"]
    assert len([r for r in server.requests.snapshot() if r.method == "POST"]) == 1
    (saved,) = list(videos.rglob("video-*.mp4"))
    assert saved.read_bytes() == demo_video().data
