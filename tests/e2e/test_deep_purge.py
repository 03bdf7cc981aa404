"""The real app over a data dir holding a deleted 5,000-message thread, started twice.

Before the purge was made iterative, the start-up purge of such a thread raised "too many
levels of trigger recursion" and the app exited at every start, showing nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.core.store.db import Database
from tests.core.store.helpers import check_integrity, count_rows, deep_chain

ROOT = Path(__file__).resolve().parents[2]


def _start(data: Path, shot: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("SWITCHBOARD_QUIT_AFTER_PAINT", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data), "--no-detect",
         "--quit-after-paint", "--screenshot", str(shot)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_deleted_deep_thread_then_two_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = Database.open(data / "switchboard.db")
    try:
        live_id, _ = deep_chain(db, 4, word="harbour")
        deep_id, _ = deep_chain(db, 5_000)
        db.run_sync(
            lambda conn: conn.execute("UPDATE threads SET deleted_at = 1 WHERE id = ?", (deep_id,))
        )
    finally:
        db.close()
    for n in range(2):
        proc = _start(data, tmp_path / f"shot{n}.png")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.startswith("painted "), proc.stdout
        assert "Traceback" not in proc.stderr
    db = Database.open(data / "switchboard.db")
    try:
        check_integrity(db)
        # The purge runs in the background and may be stopped by the quit; what is left of
        # the thread is still deleted (never shown), and the live thread is whole.
        left = count_rows(db, "SELECT count(*) FROM threads WHERE id = ? AND deleted_at IS NULL",
                      deep_id)
        assert left == 0
        assert count_rows(db, "SELECT count(*) FROM messages WHERE thread_id = ?", live_id) == 4
    finally:
        db.close()
    log = (data / "logs" / "switchboard.log").read_text(encoding="utf-8")
    assert "Traceback" not in log and "trigger recursion" not in log
