"""Hostile servers: the client's peak memory against each (issue 7).

For each case the demo server (in this process) misbehaves on purpose and a fresh child process
runs the real `ProviderClient` against it with its default caps. The child reports its peak RSS
(`resource.getrusage`) before and after the request; the row is the growth, against a target of
at most 300 MB extra. The child also reports how the request ended (the error class), so a row
that "passes" by crashing is visible in the note.

Run alone with `python -m benchmarks --only protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import Row

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 300.0
KEY = "sk-bench-protocol"

# name -> (fault rule fields, streamed request)
CASES: dict[str, tuple[dict[str, object], bool]] = {
    "1 GB JSON body": ({"huge_body_mb": 1024}, False),
    "endless SSE line (1 GB)": ({"endless_line_mb": 1024}, True),
    "gzip bomb (inflates to 4 GB)": ({"gzip_bomb_mb": 4096}, False),
    "endless empty events (600k)": ({"empty_events": 600_000}, True),
}


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


async def _child_run(base_url: str, streamed: bool) -> str:
    from app.core.client import ProviderClient
    from app.core.errors import SwitchboardError
    from app.core.protocol.types import ChatMessage, GenerationParams
    from app.core.providers import ProviderProfile

    profile = ProviderProfile(name="Bench", base_url=base_url, max_retries=0)
    messages = [ChatMessage(role="user", content="Hello, 20 tokens")]
    async with ProviderClient(profile, KEY) as client:
        try:
            if streamed:
                chars = 0
                stream = client.chat_stream("demo-chat", messages, GenerationParams())
                async with contextlib.aclosing(stream) as deltas:  # type: ignore[type-var]
                    async for delta in deltas:
                        chars += len(delta.content)
                return f"complete ({chars} chars)"
            result = await client.chat("demo-chat", messages, GenerationParams())
            return f"complete ({len(result.text)} chars)"
        except SwitchboardError as error:
            return type(error).__name__


def _child(base_url: str, streamed: bool) -> None:
    import app.core.client  # noqa: F401  (imports count in the baseline, not in the growth)

    before = _peak_mb()
    started = time.perf_counter()
    outcome = asyncio.run(_child_run(base_url, streamed))
    elapsed = time.perf_counter() - started
    print(f"result before={before:.1f} after={_peak_mb():.1f} seconds={elapsed:.2f} outcome={outcome.replace(' ', '_')}")


def rows() -> list[Row]:
    from app.core.demo import DemoServer

    out: list[Row] = []
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for name, (fault, streamed) in CASES.items():
        server = DemoServer("127.0.0.1", 0, api_key=KEY, token_rate=0)
        server.start()
        try:
            server.faults.add(**fault)  # type: ignore[arg-type]
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.protocol", "--child", server.base_url("openai"), str(int(streamed))],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=600,
                check=False,  # a failed child becomes a failing row, with its stderr
            )
        finally:
            server.stop()
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("result ")), "")
        if not line:
            out.append(Row(f"protocol: peak RSS growth, {name}", float("nan"), "MB", f"<= {TARGET_MB:g}", False, f"child failed: {proc.stderr[-300:]}"))
            continue
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        growth = float(fields["after"]) - float(fields["before"])
        note = f"ended: {fields['outcome'].replace('_', ' ')} after {float(fields['seconds']):.1f} s"
        out.append(Row(f"protocol: peak RSS growth, {name}", growth, "MB", f"<= {TARGET_MB:g}", growth <= TARGET_MB, note))
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3] == "1")
    else:
        from benchmarks.report import print_table

        print_table(rows())
