"""Reliability figures: start-up with a big purge pending, the purge itself, kill -9 mid-stream.

Every figure is measured through the real app process:

- **purge at start-up**: a data dir holding deleted threads (50 threads with 44,000 messages in
  all, and one thread of 100,000 messages, each a single deep chain) is started with
  `python -m app --quit-after-paint` exactly as `benchmarks/startup.py` starts it (its
  `_launch` is reused), alternating with a clean start (an empty migrated database). The
  database is copied afresh before every start, because a start purges part of it. Compared:
  the time to the first paint and to "services loaded and tabs ready" (medians).
- **the purge in the background**: the app is started normally over the same data (through
  `benchmarks._appdriver`, with a `purge` scenario registered here): from the Chat tab being
  ready, the time until no deleted thread is left, and the longest stall of the GUI thread
  meanwhile (a 5 ms Qt timer, `_appdriver.StallProbe`).
- **kill -9 mid-stream x20**: `benchmarks.chat._kill_once` (the chat-kill figure's run, reused
  with its `after_kill` hook) at 20 moments spread over the 250 ms journal interval; after each
  kill `PRAGMA integrity_check` (and FTS5's own integrity check) runs on the database file
  before anything opens it. Figures: databases not "ok" (target 0), worst text lost.

Big content (opening a 5 MB message, a 10 MB paste and its send: longest stall) is measured in
`benchmarks.big_content`; the suite `reliability` prints its rows with these.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import Row

ROOT = Path(__file__).resolve().parent.parent

PURGE_THREADS = 50
PURGE_MESSAGES = 44_000
BIG_THREAD = 100_000
REPEATS = 7
KILL_RUNS = 20


# --- building the data --------------------------------------------------------------------------


def _sizes(total: int, count: int) -> list[int]:
    """`count` thread lengths from ~150 to ~1,600 (deterministic) summing exactly to `total`."""
    raw = [150 + (i * 613) % 1451 for i in range(count)]
    scale = total / sum(raw)
    sizes = [max(1, int(r * scale)) for r in raw]
    sizes[-1] += total - sum(sizes)
    return sizes


def _build(path: Path, sizes: list[int], *, deleted: bool) -> None:
    """A migrated database with one chain thread per size (soft-deleted long ago if `deleted`),
    plus three live threads, written straight into SQLite (the FTS triggers index them)."""
    from app.core.store.db import Database
    from benchmarks.chat import TextMaker

    maker = TextMaker(seed=8)
    db = Database.open(path)
    try:

        def build(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            next_id = 1
            for n, size in enumerate([*sizes, 2, 2, 2]):
                live = n >= len(sizes)
                tid = conn.execute(
                    "INSERT INTO threads (title, created_at, updated_at, deleted_at)"
                    " VALUES (?, ?, ?, ?)",
                    (f"thread {n}", 1.0, 1.0 + n, None if live or not deleted else 2.0),
                ).lastrowid
                rows = []
                for k in range(size):
                    role = "user" if k % 2 == 0 else "assistant"
                    text = maker.user_message(120) if k % 2 == 0 else maker.assistant_message(360)
                    parent = next_id - 1 if k else None
                    rows.append((next_id, tid, parent, role, text, 1.0 + k, 1.0 + k))
                    next_id += 1
                conn.executemany(
                    "INSERT INTO messages (id, thread_id, parent_id, role, content, status,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)",
                    rows,
                )
                conn.execute(
                    "UPDATE threads SET selected_leaf_id = ? WHERE id = ?", (next_id - 1, tid)
                )
            conn.execute("COMMIT")

        db.run_sync(build)
    finally:
        db.close()


def _fresh_copy(template: Path, data_dir: Path) -> None:
    """`data_dir` holding a copy of the database `template` and nothing else of a past run."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    shutil.copyfile(template, data_dir / "switchboard.db")
    # Written back now, not during the timed start: the kernel flushing tens of MB of dirty
    # pages while the app starts was a bias against the bigger database.
    with open(data_dir / "switchboard.db", "rb+") as f:
        os.fsync(f.fileno())
    os.sync()


# --- 1. first paint and ready with a purge pending ----------------------------------------------


def _start_times(template: Path, clean: Path, work: Path) -> dict[str, list[float]]:
    from benchmarks.startup import _launch

    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.pop("SWITCHBOARD_QUIT_AFTER_PAINT", None)
    args = ["-m", "app", "--data-dir", str(work), "--quit-after-paint", "--no-detect"]
    times: dict[str, list[float]] = {"paint": [], "ready": [], "clean_paint": [], "clean_ready": []}
    _fresh_copy(clean, work)
    _launch(args, env)  # warm-up: files into the page cache
    for n in range(REPEATS):
        # Alternating which goes first, so a drift of the machine's load favours neither.
        for prefix, source in (("clean_", clean), ("", template))[:: 1 if n % 2 else -1]:
            _fresh_copy(source, work)
            paint, _rss, ready = _launch(args, env)
            times[f"{prefix}paint"].append(paint)
            times[f"{prefix}ready"].append(ready)
    return times


def _start_rows(label: str, times: dict[str, list[float]]) -> list[Row]:
    rows = []
    for what, name in (("paint", "time to first paint"), ("ready", "services and tabs ready")):
        app = statistics.median(times[what])
        clean = statistics.median(times[f"clean_{what}"])
        ratio = app / clean
        rows.append(
            Row(
                f"reliability: {name} with {label} to purge vs a clean start",
                ratio,
                "x",
                "<= 1.1",
                ratio <= 1.1,
                f"{app * 1000:.0f} ms vs {clean * 1000:.0f} ms (median of {REPEATS}, "
                "each from a fresh copy of the database)",
            )
        )
    return rows


# --- 2. the purge in the background ---------------------------------------------------------------


async def scenario_purge(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    """In the app: from the Chat tab being ready, wait until no deleted thread is left (and at
    least `min_s` seconds: the clean baseline probes as long as the purge took)."""
    import asyncio

    from benchmarks._appdriver import StallProbe

    probe = StallProbe(5)
    probe.start()
    t0 = time.perf_counter()
    repo = tab.ctx.threads
    deadline = t0 + float(params.get("timeout", 120))
    min_s = float(params.get("min_s", 0.0))
    left, done_at = -1, 0.0
    while time.perf_counter() < deadline:
        left = len(await repo.list_deleted_threads())
        if left == 0 and not done_at:
            done_at = time.perf_counter()
        if done_at and time.perf_counter() - t0 >= min_s:
            break
        await asyncio.sleep(0.05)
    t1 = done_at or time.perf_counter()
    probe.stop()
    return {
        "purge_s": t1 - t0,
        "left": left,
        "max_stall_ms": probe.max_stall * 1000.0,
        "worst_stalls": [(round(st * 1000, 1), round(at, 2)) for st, at in probe.worst],
    }


def _drive_purge(data_dir: Path, min_s: float = 0.0) -> dict[str, Any]:
    from benchmarks.chat import _child_env

    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.reliability", "--drive-purge", str(data_dir),
         json.dumps({"min_s": min_s})],
        check=False, capture_output=True, text=True, cwd=ROOT, env=_child_env(), timeout=300,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("result "):
            return dict(json.loads(line[len("result ") :]))
        if line.startswith("error "):
            raise RuntimeError(f"purge scenario failed in the app:\n{json.loads(line[6:])}")
    raise RuntimeError(f"purge scenario: no result (exit {proc.returncode})\n{proc.stderr[-3000:]}")


def _background_row(label: str, template: Path, clean: Path, work: Path, server: Any) -> Row:
    from benchmarks.chat import _write_profiles

    _fresh_copy(template, work)
    _write_profiles(work, server)  # the driver needs a Chat tab, hence an active profile
    result = _drive_purge(work)
    # The same probe over a clean start for as long: how much of the stall is the machine's.
    _fresh_copy(clean, work)
    _write_profiles(work, server)
    baseline = _drive_purge(work, min_s=result["purge_s"])
    stall = result["max_stall_ms"]
    ok = result["left"] == 0 and stall <= 50.0
    return Row(
        f"reliability: longest UI stall while purging {label} in the background",
        stall,
        "ms",
        "<= 50",
        ok,
        f"purge done {result['purge_s']:.1f} s after the Chat tab was ready"
        + ("" if result["left"] == 0 else f", {result['left']} deleted threads LEFT")
        + f"; worst stalls (ms, at s) {result['worst_stalls'][:3]}; a clean start probed as "
        f"long: {baseline['max_stall_ms']:.0f} ms, {baseline['worst_stalls'][:3]}",
    )


# --- 3. kill -9 mid-stream ------------------------------------------------------------------------


def _integrity(db_path: Path) -> str:
    """SQLite's and FTS5's integrity checks of the file as the kill left it ("ok" if both pass)."""
    conn = sqlite3.connect(db_path)
    try:
        result = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        if result == "ok":
            try:
                conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as exc:
                result = f"fts: {exc}"
        return result
    finally:
        conn.close()


def kill_rows_x20() -> list[Row]:
    from benchmarks.chat import KILL_AFTER_S, KILL_RATE, PacedDemoServer, _kill_once

    spread = max(KILL_AFTER_S) - min(KILL_AFTER_S)
    moments = [min(KILL_AFTER_S) + spread * i / (KILL_RUNS - 1) for i in range(KILL_RUNS)]
    checks: list[str] = []
    server = PacedDemoServer(token_rate=KILL_RATE)
    server.start()
    try:
        runs = [
            _kill_once(server, after, after_kill=lambda p: checks.append(_integrity(p)))
            for after in moments
        ]
    finally:
        server.stop()
    corrupt = sum(1 for c in checks if c != "ok")
    lost = [(sent - kept) / KILL_RATE for sent, kept, _ in runs]
    worst = max(lost)
    prefix_ok = all(r[2] for r in runs)
    return [
        Row(
            "reliability: corrupt databases after kill -9 mid-stream",
            corrupt,
            "dbs",
            "0",
            corrupt == 0 and len(checks) == KILL_RUNS,
            f"{KILL_RUNS} SIGKILLs {moments[0]:.2f}-{moments[-1]:.2f} s into a stream; "
            "PRAGMA integrity_check and the FTS5 integrity-check on the file as left"
            + ("" if corrupt == 0 else f"; failures: {[c for c in checks if c != 'ok']}"),
        ),
        Row(
            "reliability: worst text lost when killed mid-stream (x20)",
            worst,
            "s",
            "<= 0.5",
            worst <= 0.5 and prefix_ok,
            f"median {statistics.median(lost):.2f} s (server-sent minus saved tokens / rate); "
            + ("saved text a prefix of the reply" if prefix_ok else "a saved reply was WRONG"),
        ),
    ]


# --- 4. big content (the big-messages work adds its rows here) ------------------------------------


def big_content_rows() -> list[Row]:
    """Open a 5 MB message (first paint, longest stall); 10 MB paste and send (longest stall):
    `benchmarks.big_content` (also runnable alone as the suite `reliability-big`)."""
    from benchmarks import big_content

    return big_content.rows()


# --- the suite ------------------------------------------------------------------------------------


def run() -> list[Row]:
    from benchmarks.chat import PacedDemoServer

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sb-bench-rel-") as tmp:
        base = Path(tmp)
        clean = base / "clean.db"
        from app.core.store.db import Database

        Database.open(clean).close()
        many, big = base / "many.db", base / "big.db"
        t0 = time.perf_counter()
        _build(many, _sizes(PURGE_MESSAGES, PURGE_THREADS), deleted=True)
        _build(big, [BIG_THREAD], deleted=True)
        built = time.perf_counter() - t0
        labels = {
            many: f"{PURGE_THREADS} deleted threads ({PURGE_MESSAGES:,} messages)",
            big: f"one deleted {BIG_THREAD:,}-message thread",
        }
        for template, label in labels.items():
            rows += _start_rows(label, _start_times(template, clean, base / "run"))
        server = PacedDemoServer(token_rate=200.0)
        server.start()
        try:
            for template, label in labels.items():
                rows.append(_background_row(label, template, clean, base / "run", server))
        finally:
            server.stop()
        rows[0].note += f"; test data built in {built:.0f} s"
    rows += kill_rows_x20()
    rows += big_content_rows()
    return rows


def _drive_purge_main(data_dir: str, params: str) -> int:
    """The app process of `_drive_purge`: `benchmarks._appdriver` with the purge scenario."""
    from benchmarks import _appdriver

    _appdriver.SCENARIOS["purge"] = scenario_purge
    return _appdriver.main(["purge", "--data-dir", data_dir, "--params", params])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--drive-purge":
        sys.exit(_drive_purge_main(sys.argv[2], sys.argv[3]))
    from benchmarks.report import print_table

    print_table(run())
