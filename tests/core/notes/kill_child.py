"""A child process for the notes kill test: indexes a folder and prints progress until killed.

Usage: python kill_child.py DB FOLDER PORT KEY. Prints `EMBEDDED <chunks_done>` lines.
"""

from __future__ import annotations

import asyncio
import sys

from app.core.demo.server import DemoServer
from app.core.jobs import JobEngine, JobStore
from app.core.services.notes import NotesEvent, NotesService
from app.core.store.db import Database
from tests.core.helpers import Clients


async def main(db_path: str, folder: str, port: int, key: str) -> None:
    db = Database.open(db_path)
    clients = Clients(DemoServer(port=port, api_key=key).profiles(), key)
    service = NotesService(db, JobEngine(JobStore(db)), clients, batch_size=2, max_in_flight=1)

    def report(event: NotesEvent) -> None:
        p = event.progress
        if p is not None and p.phase == "embedding":
            print(f"EMBEDDED {p.chunks_done}", flush=True)

    service.subscribe(report)
    source = await service.add_folder(folder)
    await service.set_index_model("demo-openai", "demo-embedding")
    await service.index(source.id)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
