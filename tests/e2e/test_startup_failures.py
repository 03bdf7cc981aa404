"""Start-up failures through the real app: `python -m app --data-dir DIR --quit-after-paint`.

Each case prepares a data folder the way a user's machine breaks it (a damaged or foreign file,
a newer schema, a lock held by another program, a read-only mount, a full disk, a log folder that
cannot be made) and checks that the app shows its start-up failure window (it prints
`startup-failure <kind> visible=1 actions=...` once the window painted, then exits 3) instead of
dying with a traceback, and that it offered the right safe actions. Mounts (tmpfs) need root;
those cases skip with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.store.db import Database
from app.core.store.migrations import LATEST_VERSION
from tests.e2e.helpers import failure_of, start_app

pytestmark = pytest.mark.e2e









def make_db(path: Path, titles: tuple[str, ...] = ("lighthouses",)) -> None:
    import asyncio

    from app.core.store.threads import ThreadRepository

    db = Database.open(path)
    try:
        repo = ThreadRepository(db)

        async def fill() -> None:
            for title in titles:
                await repo.create_thread(title + " " + "x" * 400)

        asyncio.run(fill())
    finally:
        db.close()


SAFE = {"choose", "open-folder", "quit"}


def test_a_file_that_is_not_a_database_shows_the_window_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    db.write_bytes(b"%PDF-1.7 not a database\n" * 200)
    before = db.read_bytes()
    kind, actions = failure_of(start_app(tmp_path))
    assert kind == "not-a-database"
    assert SAFE <= set(actions) and "restore" not in actions
    assert db.read_bytes() == before


def test_a_damaged_database_offers_its_real_backup(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    make_db(db)
    shutil.copy(db, tmp_path / "switchboard.db.bak-v4")
    data = bytearray(db.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)
    db.write_bytes(bytes(data))
    kind, actions = failure_of(start_app(tmp_path))
    assert kind == "damaged"
    assert "restore" in actions and SAFE <= set(actions)


def test_a_truncated_database_without_backup_offers_no_restore(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    make_db(db, tuple(f"t{i}" for i in range(40)))
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    kind, actions = failure_of(start_app(tmp_path))
    assert kind == "damaged"
    assert "restore" not in actions


def test_a_newer_schema_is_refused_without_changing_a_byte(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    make_db(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 3}")
    conn.close()
    before = db.read_bytes()
    kind, actions = failure_of(start_app(tmp_path))
    assert kind == "newer-schema"
    assert "read-only" in actions
    assert db.read_bytes() == before
    assert not list(tmp_path.glob("switchboard.db.bak-v*"))
    assert not (tmp_path / "switchboard.db-wal").exists()


def test_a_database_locked_by_another_program_shows_the_window(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    make_db(db)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        kind, actions = failure_of(start_app(tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert kind == "locked"
    assert "retry" in actions


def test_an_unwritable_log_folder_still_shows_a_window_and_can_continue(tmp_path: Path) -> None:
    make_db(tmp_path / "switchboard.db")
    (tmp_path / "logs").write_text("a file where the log folder should be")
    result = start_app(tmp_path)
    kind, actions = failure_of(result)
    assert kind == "log-unwritable"
    assert "continue" in actions
    assert "OSError" not in result.stderr and "FileExistsError" not in result.stderr


# --- mounts: a read-only folder, a full disk ---------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs at a fresh folder (root only), unmounted at teardown."""
    if not shutil.which("mount") or (hasattr(os, "geteuid") and os.geteuid() != 0):
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    target = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_read_only_data_folder_shows_the_window_and_the_history_opens_read_only(
    tmpfs: Path,
) -> None:
    data = tmpfs / "data"
    data.mkdir()
    make_db(data / "switchboard.db", ("harbours",))
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True
    )
    if remount.returncode != 0:
        pytest.skip(f"remount read-only is not permitted: {remount.stderr.strip()}")
    result = start_app(data)
    kind, actions = failure_of(result)
    assert kind == "read-only"
    assert "read-only" in actions
    # Logging could not use data/logs: it fell back rather than raising a bare OSError.
    assert "OSError" not in result.stderr and "Read-only file system" not in result.stderr
    reading = start_app(data, "--read-only")
    assert reading.returncode == 0, reading.stderr
    assert reading.stdout.startswith("painted "), reading.stdout


def test_a_full_disk_shows_the_window(tmpfs: Path) -> None:
    filler = tmpfs / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    data = tmpfs / "data"
    kind, actions = failure_of(start_app(data))
    assert kind == "disk-full"
    assert "retry" in actions
