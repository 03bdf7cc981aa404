"""Big content figures (issue 8, suite `reliability-big`): a 5 MB message opens, a 10 MB paste
and its send, each through the real app in its own process (`benchmarks._bigdriver`).

- open a thread holding one 5 MB assistant message: time to first paint (<= 300 ms) and the
  longest event-loop stall from the `open_thread` call to 1 s after that paint (<= 50 ms);
- paste 10 MB of text into the composer (the clipboard's real paste path) and send it to a
  loopback DemoServer: the longest stall of each (<= 100 ms), and the request must reach the
  server with the whole text (checked on the server's request log) and the reply complete.

Registered in `benchmarks.__main__.SUITES` as its own suite (the registry maps one name to one
function, so it cannot merge rows into the `reliability` suite of another module).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.core.demo.server import DemoServer
from benchmarks.chat import (
    ROOT,
    TextMaker,
    _child_env,
    _data_dir,
    _insert_messages,
    _write_profiles,
)
from benchmarks.report import Row

BIG_MESSAGE_BYTES = 5_000_000
PASTE_CHARS = 10_000_000


def _drive(scenario: str, data_dir: Path, params: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """Run `benchmarks._bigdriver SCENARIO` over `data_dir` and return its result."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._bigdriver", scenario, "--data-dir", str(data_dir),
         "--params", json.dumps(params)],
        check=False, capture_output=True, text=True, cwd=ROOT, env=_child_env(), timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("result "):
            return dict(json.loads(line[len("result ") :]))
        if line.startswith("error "):
            raise RuntimeError(f"{scenario} failed in the app:\n{json.loads(line[len('error ') :])}")
    raise RuntimeError(f"{scenario}: no result (exit {proc.returncode})\n{proc.stderr[-3000:]}")


def _build_big_thread(data_dir: Path) -> tuple[int, int, int]:
    """A thread of a question and one ~5 MB markdown reply, and an empty thread."""
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository

    maker = TextMaker(seed=9)
    # Paragraphs, lists and code blocks, repeated up to the size (generating 5 MB word by word
    # would take minutes).
    unit = maker.assistant_message(200_000)
    text = (unit * (BIG_MESSAGE_BYTES // len(unit) + 1))[:BIG_MESSAGE_BYTES]
    db = Database.open(data_dir / "switchboard.db")
    try:
        repo = ThreadRepository(db)

        async def threads() -> tuple[int, int]:
            empty = await repo.create_thread("An empty thread", profile_id="demo-openai", model="demo-chat")
            big = await repo.create_thread("One 5 MB reply", profile_id="demo-openai", model="demo-chat")
            return big.id, empty.id

        big_id, empty_id = asyncio.run(threads())
        now = time.time() - 120
        db.run_sync(
            _insert_messages,
            [(1, big_id, None, "user", "Print the whole log, please.", now),
             (2, big_id, 1, "assistant", text, now + 60)],
        )
        db.run_sync(lambda c: c.execute("UPDATE threads SET selected_leaf_id = 2 WHERE id = ?", (big_id,)))
    finally:
        db.close()
    return big_id, empty_id, len(text.encode("utf-8"))


def open_big_rows() -> list[Row]:
    idle_server = DemoServer(port=9)  # never started: nothing is sent
    with _data_dir() as data_dir:
        big_id, empty_id, size = _build_big_thread(data_dir)
        _write_profiles(data_dir, idle_server)
        result = _drive("open-big", data_dir, {"thread_id": big_id, "empty_id": empty_id, "repeats": 3})
    first = statistics.median(result["open_ms"])
    stall = max(result["max_stall_ms"])
    mib = 2**20
    note = (
        f"{size / mib:.1f} MiB message; opens {', '.join(f'{t:.0f}' for t in result['open_ms'])} ms; "
        f"stalls {', '.join(f'{s:.0f}' for s in result['max_stall_ms'])} ms (open call to 1 s after the paint); "
        f"RSS idle {result['rss_idle'] / mib:.0f} MiB, after {result['rss_after'] / mib:.0f} MiB"
    )
    return [
        Row("big: open a thread with one 5 MB message to first paint", first, "ms", "<= 300", first <= 300, note),
        Row("big: longest UI stall opening the 5 MB message", stall, "ms", "<= 50", stall <= 50),
    ]


def paste_send_rows() -> list[Row]:
    server = DemoServer("127.0.0.1", 0, token_rate=2000.0)  # as the chat-stream figures
    server.start()
    try:
        with _data_dir() as data_dir:
            _write_profiles(data_dir, server)
            result = _drive("paste-send", data_dir, {"chars": PASTE_CHARS})
        received = [r for r in server.requests.find("chat/completions", "POST")]
        got = 0
        if received:
            content = received[-1].json["messages"][-1]["content"]
            got = len(content) if isinstance(content, str) else 0
    finally:
        server.stop()
    reached = got == PASTE_CHARS
    ok = reached and result["status"] == "complete"
    note = (
        f"paste() returned in {result['paste_ms']:.0f} ms; send to reply end {result['reply_s']:.1f} s; "
        f"reply {result['status']}{' (' + str(result['error']) + ')' if result['error'] else ''}; "
        f"server received {got:,} of {PASTE_CHARS:,} characters; stored user message "
        f"{result['stored_user_chars']:,}; worst send stalls (ms, at s) {result['send_worst']}"
    )
    return [
        Row("big: longest UI stall pasting 10 MB into the composer", result["paste_stall_ms"], "ms", "<= 100",
            result["paste_stall_ms"] <= 100),
        Row("big: longest UI stall sending it (to the reply's end)", result["send_stall_ms"], "ms", "<= 100",
            result["send_stall_ms"] <= 100 and ok, note),
    ]


def rows() -> list[Row]:
    return open_big_rows() + paste_send_rows()
