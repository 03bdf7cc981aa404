"""A child "app" process for the video kill and hand-over tests.

Usage: python video_child.py DB VIDEOS_DIR PORT KEY MODE [PROFILE_ID PROMPT]
- MODE `submit`: submit one job, then print `STATE <state> <may_have_reached>` on every state
  change and `PROGRESS <fraction>` while it downloads, until killed.
- MODE `quit-when-running`: submit one job; once the provider's task id is saved, quit the way
  the app does (services closed, engine closed: rows left active) and print `QUIT <job id>`.
- MODE `recover`: start like the app (recover), wait for every job, print `DONE <id> <state>`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.core.demo.server import DemoServer
from app.core.jobs import JobEngine, JobEvent, JobStore
from app.core.services.videos import VideoService, VideoSubmitRequest
from app.core.store.db import Database
from tests.core.helpers import Clients
from tests.core.videos.conftest import FAST


async def main(db_path: str, videos_dir: str, port: int, key: str, mode: str, *rest: str) -> None:
    db = Database.open(db_path)
    profiles = [p for p in DemoServer(port=port, api_key=key).profiles()]
    clients = Clients(profiles, key)
    engine = JobEngine(JobStore(db))
    service = VideoService(db, engine, clients, Path(videos_dir), **FAST)  # type: ignore[arg-type]
    try:
        if mode == "recover":
            for job in await service.recover():
                view = await service.wait(job.id)
                assert view is not None
                print(f"DONE {view.id} {view.state} {view.error or ''}", flush=True)
            return
        profile_id, prompt = rest
        running = asyncio.get_running_loop().create_future()

        def report(event: JobEvent) -> None:
            job = event.job
            if event.what == "state":
                print(f"STATE {job.state} {int(job.may_have_reached_provider)}", flush=True)
                if job.provider_task_id and not running.done():
                    running.set_result(job.id)
            elif job.state == "downloading" and job.progress:
                print(f"PROGRESS {job.progress:.3f}", flush=True)

        engine.subscribe(report)
        await service.submit(VideoSubmitRequest(profile_id, prompt))
        if mode == "quit-when-running":
            job_id = await running
            await service.aclose()
            await engine.aclose()
            print(f"QUIT {job_id}", flush=True)
            return
        await asyncio.Event().wait()  # until killed
    finally:
        await service.aclose()
        await engine.aclose()
        await clients.aclose()
        db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:]))
