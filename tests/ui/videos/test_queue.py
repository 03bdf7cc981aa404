"""The queue panel over a fake port: order, statuses, filter, elapsed ticking, actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.ui.videos.queue_view import actions_for
from app.ui.videos.records import VideoDraft, row_from_job, status_word
from tests.ui.videos.helpers import MULTIMEDIA_NOISE, FakePort, rows, signal_once, until

# A fake "video" file makes the poster grab fail: the backend says so; the row just has no poster.
pytestmark = pytest.mark.qt_log_ignore(*MULTIMEDIA_NOISE, "Could not open media", extend=True)


def _loaded(tab: Any, arun: Any, n: int) -> None:
    arun(until(tab.model, lambda: tab.model.rowCount() == n))


def test_newest_first_and_every_status_word(make_tab: Any, arun: Any) -> None:
    port = FakePort()
    tab = make_tab(port)
    tab.show()
    d = VideoDraft("gw", "sora-2", "a fox")
    a = port.add(d, "submitting")
    b = port.add(d, "running", raw="queued")
    c = port.add(d, "running", raw="in_progress")
    e = port.add(d, "running", raw="WARMING_UP")  # an unknown word: shown verbatim
    f = port.add(d, "failed", error="The provider refused the prompt: policy.")
    g = port.add(d, "interrupted")
    _loaded(tab, arun, 6)
    shown = [(r.job_id, r.status) for r in tab.model.rows()]
    assert shown == [
        (g.job_id, "interrupted"),
        (f.job_id, "failed"),
        (e.job_id, "WARMING_UP"),
        (c.job_id, "running"),
        (b.job_id, "queued"),
        (a.job_id, "submitting"),
    ]
    # The provider's error is what a failed row says (tooltip and painted line).
    idx = tab.model.index_for(f.job_id)
    assert "policy" in idx.data(3)  # ToolTipRole


def test_filter_by_status_and_count(make_tab: Any, arun: Any) -> None:
    tab = make_tab(FakePort(rows(50)))
    tab.show()
    _loaded(tab, arun, 50)
    tab.panel.set_filter("Failed")
    failed = [r for r in tab.model.rows() if r.state == "failed"]
    assert tab.panel.proxy.rowCount() == len(failed) > 0
    assert tab.panel.count_label.text() == f"{len(failed)} of 50"
    tab.panel.set_filter("Active")
    assert tab.panel.proxy.rowCount() == len([r for r in tab.model.rows() if r.active])
    tab.panel.set_filter("All")
    assert tab.panel.proxy.rowCount() == 50


def test_one_timer_ticks_elapsed_only_while_a_job_runs(make_tab: Any, arun: Any) -> None:
    now = [2000.0]
    port = FakePort(now=1000.0)
    tab = make_tab(port, clock=lambda: now[0])
    tab.show()
    job = port.add(VideoDraft("gw", "sora-2", "rain on a window"), "running", progress=0.25)
    _loaded(tab, arun, 1)
    row = tab.model.row_for(job.job_id)
    assert row.elapsed(now[0]) == 2000.0 - job.created_at
    assert tab.panel.ticker.isActive()

    async def one_tick() -> None:
        await signal_once(tab.panel.ticker.timeout, timeout=3)

    changed: list[Any] = []
    tab.model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    arun(one_tick())
    assert changed  # the running row was repainted by the panel's timer
    port.advance(job.job_id, "completed", video_path="")
    assert not tab.panel.ticker.isActive()  # nothing left to tick
    done = tab.model.row_for(job.job_id)
    now[0] += 500
    assert done.elapsed(now[0]) == done.updated_at - done.created_at  # frozen once finished


def test_actions_offered_per_state(tmp_path: Path) -> None:
    base = rows(1)[0]
    from dataclasses import replace

    running = replace(base, state="running")
    assert "cancel" in actions_for(running) and "retry" not in actions_for(running)
    failed = replace(base, state="failed")
    assert {"retry", "remove", "copy", "reuse"} <= actions_for(failed)
    assert "play" not in actions_for(failed)
    done = replace(base, state="completed", video_path=str(tmp_path / "v.mp4"))
    assert {"play", "open", "reveal", "save", "retry"} <= actions_for(done)
    assert actions_for(None) == set()


def test_cancel_retry_copy_reuse_open_reveal(make_tab: Any, arun: Any, tmp_path: Path) -> None:
    port = FakePort()
    said: list[str] = []
    opened: list[str] = []
    revealed: list[str] = []
    copied: list[str] = []
    tab = make_tab(port, status=said.append)
    tab.effects.open_url = opened.append
    tab.effects.reveal = revealed.append
    tab.effects.copy_text = copied.append
    tab.show()
    draft = VideoDraft("tasks", "veo-fast", "a kite over dunes", shape="PORTRAIT")
    running = port.add(draft, "running")
    video = tmp_path / "done.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    done = port.add(draft, "completed", video_path=str(video))
    _loaded(tab, arun, 2)

    tab.panel.select(running.job_id)
    assert tab.panel.buttons["cancel"].isEnabled()
    assert not tab.panel.buttons["retry"].isEnabled()

    async def go() -> None:
        await tab.queue.cancel(tab.model.row_for(running.job_id))
        assert tab.model.row_for(running.job_id).state == "cancelled"
        new_id = await tab.queue.retry(tab.model.row_for(running.job_id))
        new = tab.model.row_for(new_id)
        assert new is not None and new.retry_of == running.job_id
        assert tab.panel.current_row().job_id == new_id  # the new job is selected

    arun(go())
    assert ("cancel", running.job_id) in port.calls and ("retry", running.job_id) in port.calls
    assert said and "Stopped tracking" in said[-1]

    tab.panel.select(done.job_id)
    for action in ("copy", "open", "reveal"):
        tab.panel.menu_actions[action].trigger()
    assert copied == ["a kite over dunes"]
    assert opened == [str(video)] and revealed == [str(video)]

    tab.form.set_profiles([])  # "use these settings" brings the profile back when it exists
    tab.refresh_profiles()
    tab.panel.menu_actions["reuse"].trigger()
    assert tab.form.profile_id() == "tasks"
    assert tab.form.prompt.toPlainText() == "a kite over dunes"
    assert tab.form.shape_combo.currentText() == "PORTRAIT"


def test_remove_asks_and_keeps_the_job_when_declined(
    make_tab: Any, arun: Any, tmp_path: Path
) -> None:
    port = FakePort()
    tab = make_tab(port)
    answers = [False, True]
    asked: list[str] = []

    async def confirm(title: str, text: str, yes: str) -> bool:
        asked.append(text)
        return answers.pop(0)

    tab.effects.confirm = confirm
    video = tmp_path / "v.mp4"
    video.write_bytes(b"data")
    job = port.add(VideoDraft("gw", "sora-2", "x"), "completed", video_path=str(video))
    _loaded(tab, arun, 1)
    row = tab.model.row_for(job.job_id)
    assert arun(tab.queue.remove(row)) is False
    assert tab.model.row_for(job.job_id) is not None and video.exists()
    assert arun(tab.queue.remove(row)) is True
    assert tab.model.row_for(job.job_id) is None and not video.exists()
    assert ("remove", (job.job_id, True)) in port.calls
    assert "delete its video file" in asked[0]


def test_save_as_copies_the_file(make_tab: Any, arun: Any, tmp_path: Path) -> None:
    port = FakePort()
    tab = make_tab(port)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"movie-bytes")
    target = tmp_path / "out" / "copy.mp4"
    target.parent.mkdir()

    async def ask(suggested: str) -> str:
        assert suggested.endswith("v.mp4")
        return str(target)

    tab.effects.ask_save_path = ask
    job = port.add(VideoDraft("gw", "sora-2", "x"), "completed", video_path=str(video))
    _loaded(tab, arun, 1)
    assert arun(tab.queue.save_as(tab.model.row_for(job.job_id))) == str(target)
    assert target.read_bytes() == b"movie-bytes"
    # A failed write is said, not raised.
    said: list[str] = []
    tab.effects.status = said.append

    async def ask_bad(_s: str) -> str:
        return str(tmp_path / "missing-dir" / "x.mp4")

    tab.effects.ask_save_path = ask_bad
    assert arun(tab.queue.save_as(tab.model.row_for(job.job_id))) == ""
    assert said and "could not be saved" in said[0]


def test_status_word_rules() -> None:
    assert status_word("running", "PENDING") == "queued"
    assert status_word("running", "PROCESSING") == "running"
    assert status_word("running", "Rendering-Stage-2") == "Rendering-Stage-2"
    assert status_word("failed", "PROCESSING") == "failed"


def test_row_from_a_job_record() -> None:
    from app.core.jobs import JobRecord

    job = JobRecord(
        7,
        "video.generate",
        "running",
        params={
            "prompt": "p",
            "model": "m",
            "profile_id": "gw",
            "size": "1280x720",
            "seconds": "8",
        },
        progress=0.5,
        result={"provider_status": "in_progress"},
        created_at=10.0,
        updated_at=20.0,
    )
    row = row_from_job(job)
    assert (row.status, row.draft.shape, row.draft.seconds, row.progress) == (
        "running",
        "1280x720",
        8,
        0.5,
    )
