"""What the loop's thread was doing during a stall: a separate process samples, every 1 ms, the
state and current system call of each thread of the process under test (Linux procfs:
`/proc/PID/task/TID/stat` and `.../syscall`), and `explain()` sums the samples that fall inside
a late tick.

It tells the two kinds of stall apart. The app's own: the loop's thread running a long callback
(`running`), or waiting for the GIL or a lock that a worker thread holds (asleep in `futex`). The
machine's: the loop's thread asleep in `epoll_wait` well past the ≤ 5 ms timeout the ticker gave
it, with nothing of the process running, because the kernel did not wake it (on a VM: the host
did not run the vCPU its timer was on). Off by default (`SWITCHBOARD_BENCH_NOTES_PROBE=1` in the
`notes` suite): the sampler keeps a CPU partly busy itself, which makes the machine's stalls more
frequent, so a run with it is a diagnosis, not a figure.
"""

from __future__ import annotations

import collections
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ThreadSampler"]

# System call numbers of the waits that matter here, per architecture (the numbers differ: 22 is
# epoll_pwait on aarch64 but pipe on x86_64). epoll_wait, epoll_pwait, epoll_pwait2; futex.
_SYSCALLS = {
    "x86_64": ({"232", "281", "441"}, {"202"}),
    "aarch64": ({"22", "441"}, {"98"}),
}
_EPOLL, _FUTEX = _SYSCALLS.get(platform.machine(), (set(), set()))

_SAMPLER_SOURCE = r"""
import json, os, select, sys, time
pid, out = int(sys.argv[1]), open(sys.argv[2], "w")
base = f"/proc/{pid}/task"
ready = True
while True:
    t = time.monotonic()
    rec = []
    try:
        tids = os.listdir(base)
    except FileNotFoundError:
        break
    for tid in tids:
        try:
            with open(f"{base}/{tid}/stat") as f:
                st = f.read()
            with open(f"{base}/{tid}/syscall") as f:
                call = f.read().split()[0]
        except (OSError, IndexError):
            continue
        rec.append((int(tid), st[st.rindex(")") + 2], call))
    out.write(json.dumps([t, rec]) + "\n")
    if ready:
        out.flush()
        print("ready", flush=True)  # the first sample is written: the parent goes on
        ready = False
    if select.select([sys.stdin], [], [], max(0.0, 0.001 - (time.monotonic() - t)))[0]:
        break
out.close()
"""


class ThreadSampler:
    """`ThreadSampler()` starts sampling this process (it returns once the first sample is
    written); `stop()` ends it and loads the samples; `explain(start, end)` describes the main
    thread, which runs the loop in the benchmarks, over [start, end] (monotonic)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="switchboard-probe-")
        self._path = Path(self._dir.name) / "samples.jsonl"
        self._loop_tid = os.getpid()  # Linux: the main thread's id is the process id
        self._samples: list[tuple[float, list[tuple[int, str, str]]]] = []
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SAMPLER_SOURCE, str(os.getpid()), str(self._path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        self._proc.stdout.readline()  # "ready": sampling has begun

    def stop(self) -> None:
        self._proc.communicate(input=b"", timeout=30)
        with self._path.open() as f:
            self._samples = [tuple(json.loads(line)) for line in f if line.strip()]  # type: ignore[misc]
        self._dir.cleanup()

    def explain(self, start: float, end: float) -> dict[str, int]:
        """Counts of samples in [start, end]: the loop thread `asleep in epoll_wait`, `asleep in
        futex` (GIL or a lock), `running` (or runnable), `asleep elsewhere`; and `another thread
        running`: samples in which some other thread of the process was on a CPU."""
        counts: collections.Counter[str] = collections.Counter()
        for t, threads in self._samples:
            if not start <= t <= end:
                continue
            for tid, state, call in threads:
                if tid == self._loop_tid:
                    if state == "R" or call == "running":
                        counts["running"] += 1
                    elif call in _EPOLL:
                        counts["asleep in epoll_wait"] += 1
                    elif call in _FUTEX:
                        counts["asleep in futex"] += 1
                    else:
                        counts["asleep elsewhere"] += 1
            if any(tid != self._loop_tid and (s == "R" or c == "running") for tid, s, c in threads):
                counts["another thread running"] += 1
        return dict(counts)
