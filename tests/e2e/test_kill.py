"""Killed mid-stream: the real app, SIGKILLed while a reply streams, keeps the partial reply.

The app runs as its own process (`kill_driver.py`: `app.main.run` plus a send from the Chat
tab) against a loopback DemoServer in this process. Once the driver reports that part of the
reply is committed to SQLite, it is killed with SIGKILL (no shutdown code runs). The real app
is then started again (`python -m app --quit-after-paint`), which marks the reply
`interrupted`, and the database must hold a non-empty prefix of the server's reply, at least
as long as the last journal write the killed process reported.

No wall-clock limits: every wait is on a line from the child's stdout or its exit, each
bounded by a timeout so a broken app fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.demo import DemoServer
from app.core.providers import ProfileRepository
from app.core.store.db import Database
from app.core.store.threads import ThreadRepository
from tests.e2e.helpers import kill_child_env

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"),
]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().with_name("kill_driver.py")
# Long enough that the reply is far from finished when the kill comes (25 s at 200 tokens/s).
PROMPT = "Write 5000 tokens about tides and harbours."
# Journal writes to see before the kill: the reply is then well under way.
JOURNALS_BEFORE_KILL = 3
LINE_TIMEOUT = 60.0




def _write_profile(server: DemoServer, data_dir: Path) -> None:
    profile = next(p for p in server.profiles() if p.id == "demo-openai")
    repo = ProfileRepository(data_dir / "profiles.json")
    repo.save([profile])
    repo.set_active_id(profile.id)


def _server_reply(server: DemoServer) -> str:
    """The whole reply the server gives for PROMPT (non-streamed: same deterministic text)."""
    with httpx.Client(timeout=30.0) as client:
        response = client.post(
            server.base_url("openai") + "/chat/completions",
            json={"model": "demo-chat", "messages": [{"role": "user", "content": PROMPT}]},
        )
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


async def _next_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT)
    if not raw:
        raise AssertionError(f"the app exited (code {await proc.wait()}) before reporting")
    return raw.decode("utf-8", "replace").strip()


async def _stream_then_kill(data_dir: Path) -> tuple[int, int]:
    """Start the app, let it journal a few times, SIGKILL it; returns (reply id, chars journalled)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DRIVER),
        "--data-dir",
        str(data_dir),
        "--prompt",
        PROMPT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
        env=kill_child_env(),
    )
    reply_id, journalled, seen = 0, 0, 0
    try:
        while seen < JOURNALS_BEFORE_KILL:
            line = await _next_line(proc)
            kind, _, rest = line.partition(" ")
            if kind in ("failed", "finished"):
                raise AssertionError(f"the app did not stay mid-stream: {line!r}")
            if kind == "journalled":
                message_id, chars = (int(v) for v in rest.split())
                reply_id, journalled = message_id, chars
                seen += 1
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), LINE_TIMEOUT) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return reply_id, journalled


async def _restart_app(data_dir: Path) -> None:
    """Start the real app again and let it quit after its first paint (recovery runs then)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "--data-dir",
        str(data_dir),
        "--quit-after-paint",
        "--no-detect",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
        env=kill_child_env(),
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), LINE_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, f"the restarted app failed (exit {proc.returncode})"
    assert out.decode().startswith("painted "), out


async def _read_reply(data_dir: Path, reply_id: int) -> Any:
    db = Database.open(data_dir / "switchboard.db")
    try:
        return await ThreadRepository(db).get_message(reply_id)
    finally:
        await asyncio.to_thread(db.close)


def test_killed_mid_stream_keeps_the_partial_reply(
    demo_server_factory: Callable[..., DemoServer],
    tmp_path: Path,
    arun: Callable[..., Any],
) -> None:
    server = demo_server_factory(api_key=None, token_rate=200.0)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _write_profile(server, data_dir)
    full_reply = _server_reply(server)

    reply_id, journalled = arun(_stream_then_kill(data_dir), timeout=120.0)
    assert reply_id > 0 and journalled > 0

    arun(_restart_app(data_dir), timeout=120.0)
    reply = arun(_read_reply(data_dir, reply_id))

    assert reply is not None, "the partial reply's row is gone"
    assert reply.role == "assistant"
    assert reply.status == "interrupted"
    assert reply.content, "the partial reply is empty"
    assert full_reply.startswith(reply.content), "the saved text is not what the server sent"
    # Everything the killed process reported as committed survived the kill...
    assert len(reply.content) >= journalled
    # ...and the kill really came mid-stream.
    assert len(reply.content) < len(full_reply)
    # The user's message is kept too, as the reply's parent.
    question = arun(_read_reply(data_dir, reply.parent_id))
    assert question is not None and question.role == "user"
    assert question.content == PROMPT
