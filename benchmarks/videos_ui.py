"""Videos tab figures (suite `videos`, beside the core rows of benchmarks/videos.py).

- With 200 unfinished video jobs in the database, the window's first paint and the time until
  the composer accepts typing (services loaded, tabs attached: the app's own `ready_at`), each
  as a ratio to the same app over an empty queue (<= 1.1x). Both are fresh `python -m app
  --quit-after-paint` processes over data dirs that differ only by the jobs, run alternately;
  medians compared.
- 1,000 jobs in the queue panel: from asking the real VideoService for them (SQLite) to the
  panel's first paint showing them (<= 100 ms), in a child process.

    python -m benchmarks.videos_ui            # prints the rows
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Row

ROOT = Path(__file__).resolve().parent.parent
UNFINISHED = 200
PANEL_JOBS = 1000
PROFILES = ("demo-openai", "demo-melancholy", "demo-gemini")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _launch(data_dir: str) -> tuple[float, float]:
    """One app start: (seconds to first paint, seconds to ready), from the spawn."""
    start = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", data_dir, "--quit-after-paint", "--no-detect"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=ROOT,
        text=True,
    )
    assert proc.stdout is not None
    painted = ready = float("nan")
    for line in proc.stdout:
        if line.startswith("painted "):
            parts = line.split()
            fields = dict(zip(parts[0::2], parts[1::2], strict=False))
            painted = float(fields["at"]) - start
            ready = float(fields.get("ready_at", fields["at"])) - start
            break
    proc.stdout.close()
    if proc.wait(timeout=120) != 0:
        raise RuntimeError(f"the app over {data_dir} did not report its first paint")
    return painted, ready


def _insert_jobs(data_dir: Path, n: int, *, finished: bool) -> None:
    """`n` video jobs as the service writes them (params = the request's JSON)."""
    from app.core.jobs import JobStore
    from app.core.services.videos import VIDEO_KIND, VideoSubmitRequest
    from app.core.store.db import Database

    async def fill() -> None:
        db = Database.open(data_dir / "switchboard.db")
        try:
            store = JobStore(db)
            for i in range(n):
                profile = PROFILES[i % len(PROFILES)]
                request = VideoSubmitRequest(
                    profile_id=profile,
                    prompt=f"job {i}: a paper boat drifting across a pond at dawn",
                    model="demo-video",
                    aspect_ratio="16:9",
                )
                job = await store.create(VIDEO_KIND, request.to_json(), owner_key=profile)
                if finished and i % 3 == 0:
                    await store.update(job.id, state="completed", provider_task_id=f"t{i}")
                elif finished and i % 3 == 1:
                    await store.update(job.id, state="failed", error="The provider refused it.")
                else:
                    await store.update(
                        job.id,
                        state="running",
                        provider_task_id=f"task-{i}",
                        may_have_reached_provider=True,
                    )
        finally:
            db.close()

    asyncio.run(fill())


def _make_unfinished(data_dir: Path) -> int:
    """Each start reconciles the jobs after `ready` (their profiles are not in this data dir,
    so they fail): put them back to `running` before the next start."""
    import sqlite3

    conn = sqlite3.connect(data_dir / "switchboard.db")
    try:
        with conn:
            cur = conn.execute("UPDATE jobs SET state = 'running', error = NULL")
        return cur.rowcount
    finally:
        conn.close()


def startup_rows(repeats: int = 7) -> list[Row]:
    with (
        tempfile.TemporaryDirectory(prefix="sb-vid-empty-") as empty,
        tempfile.TemporaryDirectory(prefix="sb-vid-200-") as busy,
    ):
        for d in (empty, busy):
            _launch(d)  # creates the database (and warms the page cache)
        _insert_jobs(Path(busy), UNFINISHED, finished=False)
        _launch(busy)
        paint = {"empty": [], "busy": []}
        ready = {"empty": [], "busy": []}
        for _ in range(repeats):
            for name, d in (("empty", empty), ("busy", busy)):
                if name == "busy":
                    _make_unfinished(Path(busy))
                p, r = _launch(d)
                paint[name].append(p)
                ready[name].append(r)
    med = {k: (statistics.median(paint[k]), statistics.median(ready[k])) for k in paint}
    paint_ratio = med["busy"][0] / med["empty"][0]
    ready_ratio = med["busy"][1] / med["empty"][1]
    return [
        Row(
            f"videos: first paint with {UNFINISHED} unfinished jobs vs empty queue",
            paint_ratio,
            "x",
            "<= 1.1",
            paint_ratio <= 1.1,
            f"{med['busy'][0] * 1000:.0f} ms vs {med['empty'][0] * 1000:.0f} ms (median of {repeats})",
        ),
        Row(
            f"videos: composer ready with {UNFINISHED} unfinished jobs vs empty queue",
            ready_ratio,
            "x",
            "<= 1.1",
            ready_ratio <= 1.1,
            f"{med['busy'][1] * 1000:.0f} ms vs {med['empty'][1] * 1000:.0f} ms (median of {repeats})",
        ),
    ]


def _child_panel(data_dir: str, repeats: int) -> None:
    """In this process: the real service lists the jobs; the panel paints them."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.core.jobs import JobEngine, JobStore
    from app.core.services.videos import VideoService
    from app.core.store.db import Database
    from app.ui.theme import ThemeManager
    from app.ui.videos.port import ServicePort
    from app.ui.videos.queue_model import QueueModel
    from app.ui.videos.queue_view import QueuePanel

    app = QApplication([])
    ThemeManager(app, "light", follow=False)
    db = Database.open(Path(data_dir) / "switchboard.db")
    service = VideoService(db, JobEngine(JobStore(db)), None, Path(data_dir) / "videos")
    port = ServicePort(service)

    class Painted(QObject):
        seen = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.seen = True
            return False

    times: list[float] = []
    shown = 0
    for _ in range(repeats):
        model = QueueModel()
        panel = QueuePanel(model)
        panel.resize(900, 700)
        watch = Painted()
        panel.list.viewport().installEventFilter(watch)
        panel.show()
        app.processEvents()
        watch.seen = False
        t0 = time.perf_counter()
        rows = asyncio.run(port.rows(limit=PANEL_JOBS))
        model.set_rows(rows)
        while not watch.seen:
            app.processEvents()
        times.append(time.perf_counter() - t0)
        shown = panel.proxy.rowCount()
        panel.ticker.stop()
        panel.close()
        panel.deleteLater()
        app.processEvents()
    db.close()
    print("result " + json.dumps({"times": times, "shown": shown}), flush=True)


def panel_rows(repeats: int = 7) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="sb-vid-panel-") as d:
        _launch(d)
        _insert_jobs(Path(d), PANEL_JOBS, finished=True)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.videos_ui", "--child-panel", d, str(repeats)],
            check=False,
            capture_output=True,
            text=True,
            env=_env(),
            cwd=ROOT,
            timeout=300,
        )
    line = next((x for x in out.stdout.splitlines() if x.startswith("result ")), None)
    if line is None:
        raise RuntimeError(f"the panel child failed: {out.stderr[-2000:]}")
    result = json.loads(line[len("result ") :])
    ms = statistics.median(result["times"]) * 1000
    ok = ms <= 100 and result["shown"] == PANEL_JOBS
    return [
        Row(
            f"videos: {PANEL_JOBS} jobs in the queue panel, listed and painted",
            ms,
            "ms",
            "<= 100",
            ok,
            f"service list + rows + first paint; {result['shown']} shown; median of {repeats}",
        )
    ]


def run() -> list[Row]:
    return [*startup_rows(), *panel_rows()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.videos_ui")
    parser.add_argument("--child-panel", nargs=2, metavar=("DATA_DIR", "REPEATS"))
    args = parser.parse_args(argv)
    if args.child_panel:
        _child_panel(args.child_panel[0], int(args.child_panel[1]))
        return 0
    from benchmarks.report import print_table

    rows = run()
    print_table(rows)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
