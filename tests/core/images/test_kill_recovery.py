"""A real process killed (SIGKILL) mid-generation and mid-download: the next start resolves it.

The child (kill_child.py) runs the service against this test's demo server, whose delay fault
holds the request in flight; the child prints each job state, and is killed when the row says
`submitting` (request sent) or `downloading`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app.core.demo.faults import FaultRule
from app.core.demo.server import DemoServer
from app.core.providers import ProviderProfile
from app.core.store.db import Database
from tests.core.images.conftest import KEY, image_service

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("kill_child.py")


async def run_child_until(
    server: DemoServer, db_path: Path, images: Path, wanted: str
) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), str(db_path), str(images), str(server.port), KEY,
        "demo-openai", stdout=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
            assert line, f"the child ended early after {lines}"
            lines.append(line)
            if line == wanted:
                break
    finally:
        proc.kill()  # SIGKILL: no cleanup, no final write
        await proc.communicate()
    assert proc.returncode == -9
    return lines


def test_killed_while_the_request_was_in_flight_is_interrupted_not_resent(
    server: DemoServer, profiles: list[ProviderProfile], tmp_path: Path, arun
) -> None:
    server.faults.add(FaultRule(path_contains="images/generations", delay_s=30, times=1))
    db_path, images = tmp_path / "kill.db", tmp_path / "images"
    Database.open(db_path).close()
    lines = arun(run_child_until(server, db_path, images, "STATE submitting 1"), timeout=60)
    assert lines[-1] == "STATE submitting 1"
    posts = len(server.requests.find("images/generations", method="POST"))

    db = Database.open(db_path)
    try:
        async def restart() -> None:
            async with image_service(db, profiles, images) as service:
                resolved = await service.recover()
                assert [j.state for j in resolved] == ["interrupted"]
                (job,) = await service.jobs()
                assert job.state == "interrupted" and "may have received it" in (job.error or "")
                assert await service.batch(job.id) == []
                # Not sent again by itself.
                assert len(server.requests.find("images/generations", method="POST")) == posts

        arun(restart())
    finally:
        db.close()


def test_killed_during_the_download_resumes_and_saves_every_image_once(
    server: DemoServer, profiles: list[ProviderProfile], tmp_path: Path, arun
) -> None:
    server.faults.add(FaultRule(path_contains="/files/", method="GET", delay_s=30, times=1))
    db_path, images = tmp_path / "kill.db", tmp_path / "images"
    Database.open(db_path).close()
    arun(run_child_until(server, db_path, images, "STATE downloading 1"), timeout=60)
    # The kill may land before the held GET reached the server: lift the fault for the restart.
    server.faults.clear()
    posts = len(server.requests.find("images/generations", method="POST"))
    assert posts == 1

    db = Database.open(db_path)
    try:
        async def restart() -> None:
            async with image_service(db, profiles, images) as service:
                (resumed,) = await service.recover()
                job = await service.wait(resumed.id)
                assert job is not None and job.state == "completed", job.error
                batch = await service.batch(job.id)
                assert [im.batch_index for im in batch] == [0, 1]
                assert all(service.file_path(im).exists() for im in batch)
                assert len(server.requests.find("images/generations", method="POST")) == posts
                assert job.attempts == 2

        arun(restart())
    finally:
        db.close()
