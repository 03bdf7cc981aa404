"""A child process for the kill tests: starts one generation and reports its job's states.

Usage: python kill_child.py DB IMAGES_DIR PORT KEY PROFILE_ID. Prints `STATE <state> <flag>`
lines (flag: may_have_reached_provider) as the job changes; the parent SIGKILLs it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.core.demo.server import DemoServer
from app.core.jobs import JobEngine, JobStore
from app.core.services.images import ImageEvent, ImageGenerationRequest, ImageService
from app.core.store.db import Database
from tests.core.helpers import Clients


async def main(db_path: str, images_dir: str, port: int, key: str, profile_id: str) -> None:
    db = Database.open(db_path)
    profiles = DemoServer(port=port, api_key=key).profiles()
    clients = Clients(profiles, key)
    engine = JobEngine(JobStore(db))
    service = ImageService(db, engine, clients, Path(images_dir))

    def report(event: ImageEvent) -> None:
        if event.what == "job" and event.job is not None:
            print(f"STATE {event.job.state} {int(event.job.may_have_reached_provider)}", flush=True)
        elif event.what == "image":
            print("IMAGE", flush=True)

    service.on_event(report)
    await service.generate(
        ImageGenerationRequest(profile_id, "an orange kite", n=2, size="64x64", response_format="url")
    )
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
