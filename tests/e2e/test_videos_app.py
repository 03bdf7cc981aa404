"""A video job left running when the real app quits is finished by the next real app process.

Both processes are the real app (`video_app_driver.py`: `app.main.run` plus a submit through
`ctx.videos`) against a loopback DemoServer in this process. The first quits normally while the
job is `running` (the job engine leaves its row for the next start); the second recovers it
after its window is attached, polls it to the end and saves the file. One create request only.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from app.core.demo import DemoServer
from app.core.demo.video import demo_video
from app.core.providers import ProfileRepository
from app.core.store.db import Database
from tests.e2e.helpers import kill_child_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().with_name("video_app_driver.py")


async def _run(data_dir: Path, *args: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(DRIVER), "--data-dir", str(data_dir), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
        env=kill_child_env(),
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out
    return out.decode().split("\n")[:-1]


def test_a_job_left_running_by_the_app_is_finished_by_the_next_app_process(
    tmp_path: Path, arun
) -> None:
    with DemoServer(token_rate=0, video_seconds=4.0) as server:
        repo = ProfileRepository(tmp_path / "profiles.json")
        profile = next(p for p in server.profiles() if p.id == "demo-openai")
        repo.save([profile])
        repo.set_active_id(profile.id)

        first = arun(_run(tmp_path, "submit", "demo-openai", "a harbour at night"), timeout=120)
        assert [line.split()[0] for line in first] == ["running"]
        job_id = int(first[0].split()[1])
        db = Database.open(tmp_path / "switchboard.db")
        try:
            state = db.run_sync(
                lambda c: c.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            )
        finally:
            db.close()
        assert state == "running"  # quitting is not cancelling

        second = arun(_run(tmp_path, "finish"), timeout=120)
        (done,) = second
        _word, done_id, done_state, path = done.split(" ", 3)
        assert int(done_id) == job_id and done_state == "completed"
        assert Path(path).read_bytes() == demo_video().data
        assert Path(path).is_relative_to(tmp_path / "videos")
        assert len(server.requests.find("/videos", method="POST")) == 1
