"""One Switchboard per data folder, with two real app processes.

The first is started with SWITCHBOARD_REPORT_READY=1 (it prints `ready <dir>` once its window
and services are up) and stays running; a second start on the same folder must bring the first
window forward (the first logs it) and exit 0 without opening the database or painting a window.
A lock left by a process killed with SIGKILL must not block the next start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import ROOT, child_env, start_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"),
]

LINE_TIMEOUT = 60.0


async def start_first(data_dir: Path) -> asyncio.subprocess.Process:
    env = child_env()
    env["SWITCHBOARD_REPORT_READY"] = "1"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "--data-dir", str(data_dir), "--no-detect",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT)
        if not raw:
            raise AssertionError(f"the first instance exited ({await proc.wait()}) before ready")
        if raw.startswith(b"ready "):
            return proc


async def second_start(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(start_app, data_dir)


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> None:
    if proc.returncode is None:
        proc.send_signal(sig)
    await asyncio.wait_for(proc.wait(), LINE_TIMEOUT)


def test_a_second_start_brings_the_first_forward_and_exits_0(tmp_path: Path) -> None:
    async def scenario() -> tuple[subprocess.CompletedProcess[str], str]:
        first = await start_first(tmp_path)
        try:
            db = tmp_path / "switchboard.db"
            before = (db.stat().st_mtime_ns, db.stat().st_size)
            second = await second_start(tmp_path)
            assert (db.stat().st_mtime_ns, db.stat().st_size) == before
        finally:
            await stop(first)
        log = (tmp_path / "logs" / "switchboard.log").read_text(encoding="utf-8")
        return second, log

    second, log = asyncio.run(scenario())
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("already-running "), second.stdout
    assert "painted" not in second.stdout
    assert "brought the window forward" in log


def test_a_lock_left_by_a_killed_instance_does_not_block(tmp_path: Path) -> None:
    async def scenario() -> subprocess.CompletedProcess[str]:
        first = await start_first(tmp_path)
        await stop(first, signal.SIGKILL)
        assert (tmp_path / "switchboard.lock").exists()  # left behind, as after a crash
        return await second_start(tmp_path)

    result = asyncio.run(scenario())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("painted "), result.stdout


def test_other_data_folders_start_side_by_side(tmp_path: Path) -> None:
    async def scenario() -> subprocess.CompletedProcess[str]:
        (tmp_path / "a").mkdir()
        first = await start_first(tmp_path / "a")
        try:
            return await second_start(tmp_path / "b")
        finally:
            await stop(first)

    result = asyncio.run(scenario())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("painted "), result.stdout
    assert os.path.exists(tmp_path / "b" / "switchboard.db")


def test_a_live_lock_whose_owner_does_not_answer_shows_the_failure_window(tmp_path: Path) -> None:
    """The lock is held by a live process (this test) that runs no instance server: after
    trying for a while, the second start says so in its window instead of hanging or exiting
    silently."""
    from PySide6.QtCore import QLockFile

    from tests.e2e.helpers import failure_of

    lock = QLockFile(str(tmp_path / "switchboard.lock"))
    assert lock.tryLock(0)
    try:
        result = start_app(tmp_path)
    finally:
        lock.unlock()
    kind, _actions = failure_of(result)
    assert kind == "already-running"
    assert not (tmp_path / "switchboard.db").exists()
