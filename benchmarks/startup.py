"""Start-up: time from process start to the main window painted, and RSS then.

Both the app and the baseline are started as fresh processes by this module, timed from just
before the spawn to the moment the child reports its first paint on stdout. The child reports its
own RSS at that moment. Each is run several times, alternating, and the medians are compared.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Row

ROOT = Path(__file__).resolve().parent.parent


def _launch(args: list[str], env: dict[str, str]) -> tuple[float, int, float, float]:
    """Start a child; returns (seconds to its first paint, its RSS then, seconds to ready,
    seconds to the composer accepting typing: NaN when the child does not report it)."""
    start = time.time()
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        cwd=ROOT, text=True,
    )
    assert proc.stdout is not None
    elapsed, rss, ready, composer = float("nan"), 0, float("nan"), float("nan")
    for line in proc.stdout:
        if line.startswith("painted "):
            parts = line.split()
            fields = dict(zip(parts[0::2], parts[1::2]))
            # Both children stamp their first paint with the wall clock; the spawn is stamped here.
            elapsed = float(fields["at"]) - start
            rss = int(fields["rss"])
            ready = float(fields.get("ready_at", fields["at"])) - start
            composer = float(fields.get("composer_at", "nan")) - start
            break
    proc.stdout.close()
    if proc.wait(timeout=60) != 0 or rss == 0:
        raise RuntimeError(f"{args} did not report its first paint (exit {proc.returncode})")
    return elapsed, rss, ready, composer


def _with_profile(data_dir: Path) -> None:
    """One provider profile (a closed loopback port: nothing is sent), so the chat tab is built."""
    from app.core.providers import ProfileRepository
    from benchmarks.chat import DemoServer

    profile = next(p for p in DemoServer(port=9).profiles() if p.id == "demo-openai")
    repo = ProfileRepository(data_dir / "profiles.json")
    repo.save([profile])
    repo.set_active_id(profile.id)


def run(repeats: int = 7) -> list[Row]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    app_times, app_rss, bare_times, bare_rss, app_ready = [], [], [], [], []
    composer_times: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="sb-bench-") as data_dir,
        tempfile.TemporaryDirectory(prefix="sb-bench-chat-") as chat_dir,
    ):
        _with_profile(Path(chat_dir))
        app_args = ["-m", "app", "--quit-after-paint", "--no-detect", "--data-dir"]
        # One warm-up run each so both read their files from the page cache.
        _launch(["-m", "benchmarks.bare_window"], env)
        _launch(["-m", "app", "--data-dir", data_dir, "--quit-after-paint"], env)
        _launch([*app_args, chat_dir], env)
        for _ in range(repeats):
            t, r, _, _ = _launch(["-m", "benchmarks.bare_window"], env)
            bare_times.append(t)
            bare_rss.append(r)
            t, r, ready, _ = _launch([*app_args, data_dir], env)
            app_times.append(t)
            app_rss.append(r)
            app_ready.append(ready)
            # With a profile: the chat tab is built and its composer takes the focus.
            composer_times.append(_launch([*app_args, chat_dir], env)[3])
        # The first start after an install or an update: no code kept from an earlier start
        # (app/codegen_cache.py); the runs above all had it, as every later start does.
        cold_times: list[float] = []
        for _ in range(3):
            shutil.rmtree(Path(chat_dir) / "cache", ignore_errors=True)
            cold_times.append(_launch([*app_args, chat_dir], env)[3])
    t_ratio = statistics.median(app_times) / statistics.median(bare_times)
    m_ratio = statistics.median(app_rss) / statistics.median(bare_rss)
    note_t = (
        f"app {statistics.median(app_times) * 1000:.0f} ms vs bare "
        f"{statistics.median(bare_times) * 1000:.0f} ms (median of {repeats})"
    )
    note_m = (
        f"app {statistics.median(app_rss) / 2**20:.0f} MiB vs bare "
        f"{statistics.median(bare_rss) / 2**20:.0f} MiB"
    )
    bare = statistics.median(bare_times)
    composer = statistics.median(composer_times)
    c_ratio = composer / bare
    note_c = (
        f"composer exists, enabled and focused {composer * 1000:.0f} ms vs bare first paint "
        f"{bare * 1000:.0f} ms (median of {repeats}; "
        f"{', '.join(f'{t * 1000:.0f}' for t in composer_times)} ms); one profile, one thread-less start"
    )
    return [
        Row("startup: time to first paint vs bare window", t_ratio, "x", "<= 1.3", t_ratio <= 1.3, note_t),
        Row("startup: RSS at first paint vs bare window", m_ratio, "x", "<= 1.5", m_ratio <= 1.5, note_m),
        Row(
            "startup: services loaded and tabs ready (info)",
            statistics.median(app_ready) * 1000,
            "ms",
            "info",
            True,
            "database open, profiles, keychain probe, chat tab built",
        ),
        Row(
            "startup: composer, first start after an install or update (info)",
            statistics.median(cold_times) / bare,
            "x",
            "info",
            True,
            f"{statistics.median(cold_times) * 1000:.0f} ms (median of 3): no code cache yet, "
            "so shiboken's support and the dataclasses are compiled, then kept",
        ),
        Row(
            "startup: composer accepts typing vs bare window's first paint",
            c_ratio,
            "x",
            "<= 2.0",
            c_ratio <= 2.0,
            note_c,
        ),
    ]
