"""The demo server in a process of its own, for the benchmarks that need a provider.

In-process, the server's work (rendering PNGs, answering polls) would compete with the measured
loop for the GIL; a real provider is another machine. Shared by benchmarks/images.py and
benchmarks/videos.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["demo_server_process"]


@contextmanager
def demo_server_process(key: str, *extra_args: str) -> Iterator[Any]:
    """Start `python -m app.core.demo.server` on a free port with `key` (and `extra_args`);
    yield a DemoServer handle for its profiles (not started itself); stop the process after."""
    from app.core.demo.server import DemoServer

    proc = subprocess.Popen(
        [sys.executable, "-m", "app.core.demo.server", "--port", "0", "--api-key", key,
         *extra_args],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip().rsplit(":", 1)[1])
        yield DemoServer(port=port, api_key=key)
    finally:
        proc.terminate()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
