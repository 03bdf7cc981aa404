"""In-app playback with QtMultimedia: play/pause, seek, volume, loop, full screen, keyboard.

Imported only when something is first played (QtMultimedia loads its FFmpeg backend, which the
first paint must not wait for). Keys: Space play/pause, Left/Right seek 5 s, Up/Down volume,
F full screen, Esc leaves full screen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.ui.videos.records import format_elapsed

__all__ = ["PlayerWidget"]

SEEK_STEP_MS = 5000
VOLUME_STEP = 0.1


class PlayerWidget(QWidget):
    closeRequested = Signal()
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Video player")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.audio.setVolume(0.8)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget()
        self.video.setAccessibleName("Video")
        self.video.setMinimumSize(240, 135)
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.player.setVideoOutput(self.video)
        # In full screen the video widget is its own window: its keys must still reach us.
        self.video.installEventFilter(self)

        self.title = QLabel("")
        self.title.setProperty("role", "muted")
        style = self.style()
        self.play_button = QPushButton()
        self.play_button.setAccessibleName("Play")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.clicked.connect(self.toggle)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setAccessibleName("Position")
        self.position.setRange(0, 0)
        self.position.sliderMoved.connect(self.player.setPosition)
        self.time_label = QLabel("0:00 / 0:00")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setAccessibleName("Volume")
        self.volume.setToolTip("Volume (Up / Down)")
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(100)
        self.volume.valueChanged.connect(lambda v: self.audio.setVolume(v / 100))
        self.loop_box = QCheckBox("&Loop")
        self.loop_box.toggled.connect(self.set_loop)
        self.full_button = QPushButton("Full screen")
        self.full_button.setToolTip("Full screen (F; Esc to leave)")
        self.full_button.clicked.connect(lambda: self.set_full_screen(True))
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close player")
        self.close_button.clicked.connect(self._close)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.position, 1)
        controls.addWidget(self.time_label)
        vol = QLabel("Vol")
        vol.setProperty("role", "muted")
        controls.addWidget(vol)
        controls.addWidget(self.volume)
        controls.addWidget(self.loop_box)
        controls.addWidget(self.full_button)
        controls.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.video, 1)
        layout.addLayout(controls)

        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)

    # -- public --

    def load(self, path: str, title: str = "", *, autoplay: bool = True) -> None:
        self.title.setText(title or Path(path).name)
        self.player.setSource(QUrl.fromLocalFile(path))
        if autoplay:
            self.player.play()
        self.setFocus()

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def seek_by(self, ms: int) -> None:
        duration = self.player.duration()
        target = max(0, self.player.position() + ms)
        if duration > 0:
            target = min(target, duration)
        self.player.setPosition(target)

    def change_volume(self, step: float) -> None:
        self.volume.setValue(round(max(0.0, min(1.0, self.audio.volume() + step)) * 100))

    def set_loop(self, on: bool) -> None:
        self.player.setLoops(QMediaPlayer.Loops.Infinite if on else 1)
        if self.loop_box.isChecked() != on:
            self.loop_box.setChecked(on)

    def set_full_screen(self, on: bool) -> None:
        self.video.setFullScreen(on)
        if not on:
            self.setFocus()

    def stop(self) -> None:
        self.set_full_screen(False)
        self.player.stop()
        self.player.setSource(QUrl())

    # -- keyboard --

    def handle_key(self, key: int) -> bool:
        if key == Qt.Key.Key_Space:
            self.toggle()
        elif key == Qt.Key.Key_Left:
            self.seek_by(-SEEK_STEP_MS)
        elif key == Qt.Key.Key_Right:
            self.seek_by(SEEK_STEP_MS)
        elif key == Qt.Key.Key_Up:
            self.change_volume(VOLUME_STEP)
        elif key == Qt.Key.Key_Down:
            self.change_volume(-VOLUME_STEP)
        elif key == Qt.Key.Key_F:
            self.set_full_screen(not self.video.isFullScreen())
        elif key == Qt.Key.Key_Escape and self.video.isFullScreen():
            self.set_full_screen(False)
        else:
            return False
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.handle_key(event.key()):
            super().keyPressEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.video and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if self.handle_key(event.key()):
                return True
        return super().eventFilter(obj, event)

    # -- player signals --

    def _on_position(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.time_label.setText(
            f"{format_elapsed(ms / 1000)} / {format_elapsed(self.player.duration() / 1000)}"
        )

    def _on_duration(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self._on_position(self.player.position())

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setAccessibleName("Pause" if playing else "Play")

    def _on_error(self, _error: QMediaPlayer.Error, text: str) -> None:
        self.problem.emit(
            f"This video cannot be played here: {text or 'unknown format'}. Try Open externally."
        )

    def _close(self) -> None:
        self.stop()
        self.closeRequested.emit()
