"""`--self-test`: the real app offscreen against the demo prints one line per step and exits 0
only if every step passed; the step registry skips steps whose service is not in this build."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.self_test import STEPS, Step, run_steps

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^self-test: (\S+) (ok \(\d+ ms\)|FAILED: .+|skipped \(not in this build\))$")


def test_the_app_passes_its_self_test(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "app", "--self-test", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("self-test:")]
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {m.group(1): m.group(2) for m in map(LINE.match, lines[:-1]) if m}
    assert len(steps) == len(lines) - 1, lines  # every step line has the documented form
    for name in ("resources", "log", "window", "chat", "image", "video", "playback", "note", "pdf"):
        assert steps[name].startswith("ok"), lines
    assert lines[-1] == "self-test: passed"
    assert "Switchboard" in (tmp_path / "logs" / "switchboard.log").read_text(encoding="utf-8")


def _run(steps: list[Step], ctx: Any) -> int:
    return asyncio.run(run_steps(ctx, None, steps))


def test_a_failing_step_fails_the_run_and_the_others_still_run(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    async def good(ctx: Any, window: Any) -> None:
        ran.append("good")

    async def bad(ctx: Any, window: Any) -> None:
        raise RuntimeError("the demo did not answer")

    code = _run([Step("bad", bad), Step("good", good)], SimpleNamespace())
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == "self-test: bad FAILED: the demo did not answer"
    assert LINE.match(out[1]) and out[1].startswith("self-test: good ok")
    assert ran == ["good"]
    assert out[-1] == "self-test: 1 step(s) failed"


def test_a_step_runs_once_its_service_is_on_the_context(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []

    async def video(ctx: Any, window: Any) -> None:
        seen.append(ctx.videos)

    assert _run([Step("video", video, needs="videos")], SimpleNamespace()) == 0
    assert "self-test: video skipped (not in this build)" in capsys.readouterr().out
    assert _run([Step("video", video, needs="videos")], SimpleNamespace(videos="svc")) == 0
    assert seen == ["svc"]


def test_registry_names_the_issue_steps() -> None:
    names = [s.name for s in STEPS]
    assert names[-4:] == ["video", "playback", "note", "pdf"]
    assert {"chat", "image"} <= set(names)
