"""Playback of a real short video (the demo's, shipped in resources/demo/), its keyboard,
and the completion notification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.ui.videos.records import VideoDraft
from tests.ui.videos.helpers import MULTIMEDIA_NOISE, FakePort, signal_once

pytestmark = pytest.mark.qt_log_ignore(*MULTIMEDIA_NOISE, extend=True)


@pytest.fixture(scope="module")
def real_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.core.demo.video import demo_video

    video = demo_video()
    assert video.playable, "resources/demo/demo.mp4 is missing"
    path = tmp_path_factory.mktemp("video") / "demo.mp4"
    path.write_bytes(video.data)
    return path


def test_play_pause_seek_volume_loop_full_screen(
    make_tab: Any, arun: Any, qtbot: Any, real_video: Path
) -> None:
    from PySide6.QtMultimedia import QMediaPlayer

    port = FakePort()
    tab = make_tab(port)
    tab.show()
    job = port.add(
        VideoDraft("gw", "sora-2", "test pattern"), "completed", video_path=str(real_video)
    )

    async def play() -> Any:
        tab.queue.run_action("play", job.job_id)
        player = tab.player
        assert player is not None and tab.player_holder.isVisible()
        while player.player.duration() <= 0:
            await signal_once(player.player.durationChanged, timeout=10)
        if player.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
            await signal_once(player.player.playbackStateChanged, timeout=10)
        return player

    player = arun(play(), timeout=20)
    assert player.player.duration() == pytest.approx(1000, abs=150)
    assert player.position.maximum() == player.player.duration()

    qtbot.keyClick(player, Qt.Key.Key_Space)
    assert player.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
    player.player.setPosition(0)
    qtbot.keyClick(player, Qt.Key.Key_Right)
    assert player.player.position() == player.player.duration()  # +5 s, clamped to the end
    qtbot.keyClick(player, Qt.Key.Key_Left)
    assert player.player.position() == 0
    volume = player.audio.volume()
    qtbot.keyClick(player, Qt.Key.Key_Down)
    assert player.audio.volume() == pytest.approx(volume - 0.1, abs=0.011)
    qtbot.keyClick(player, Qt.Key.Key_Up)
    assert player.audio.volume() == pytest.approx(volume, abs=0.011)
    player.loop_box.setChecked(True)
    assert player.player.loops() == QMediaPlayer.Loops.Infinite
    qtbot.keyClick(player, Qt.Key.Key_F)
    assert player.video.isFullScreen()
    qtbot.keyClick(player.video, Qt.Key.Key_Escape)
    assert not player.video.isFullScreen()
    player.close_button.click()
    assert not tab.player_holder.isVisible()


def test_unplayable_file_is_said(make_tab: Any, arun: Any, tmp_path: Path) -> None:
    port = FakePort()
    said: list[str] = []
    tab = make_tab(port, status=said.append)
    tab.show()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    job = port.add(VideoDraft("gw", "sora-2", "x"), "completed", video_path=str(bad))

    async def go() -> None:
        tab.queue.run_action("play", job.job_id)
        assert tab.player is not None
        await signal_once(tab.player.problem, timeout=10)

    with pytest.MonkeyPatch.context():
        arun(go(), timeout=15)
    assert any("Open externally" in s for s in said)


test_unplayable_file_is_said = pytest.mark.qt_log_ignore(
    *MULTIMEDIA_NOISE, "Could not open media", extend=True
)(test_unplayable_file_is_said)


@pytest.mark.parametrize("tray", [True, False], ids=["tray", "status-bar"])
def test_completion_notifies_only_when_unfocused(make_tab: Any, arun: Any, tray: bool) -> None:
    focused = [True]
    said: list[str] = []
    port = FakePort()
    tab = make_tab(
        port, status=said.append, is_focused=lambda: focused[0], tray_available=lambda: tray
    )
    job = port.add(VideoDraft("gw", "sora-2", "northern lights"), "running")
    port.advance(job.job_id, "completed")
    assert tab.notifier.sent == []  # focused: the queue shows it
    focused[0] = False
    job2 = port.add(VideoDraft("gw", "sora-2", "a slow sunrise"), "running")
    port.advance(job2.job_id, "downloading")
    assert tab.notifier.sent == []
    port.advance(job2.job_id, "completed")
    port.advance(job2.job_id, "completed")  # told once
    assert tab.notifier.sent == ["Video ready: a slow sunrise"]
    assert (tab.notifier.tray is not None) == tray
    assert said == ([] if tray else ["Video ready: a slow sunrise"])
