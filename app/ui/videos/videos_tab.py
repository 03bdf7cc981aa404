"""The Videos tab: the submit form beside the queue, the player under it once something plays.

Wiring only: builds the views, gives the controllers the port, its own `TaskOwner`'s spawn and
their views, and connects them. The player (QtMultimedia) is built on first play.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.ui.videos.controllers import Effects, QueueController, SubmitController
from app.ui.videos.dialogs import ask_save_path, ask_yes_no
from app.ui.videos.notify import CompletionNotifier
from app.ui.videos.port import VideoPort
from app.ui.videos.posters import PosterCache
from app.ui.videos.queue_model import QueueModel
from app.ui.videos.queue_view import QueuePanel
from app.ui.videos.records import VideoDraft, VideoRow
from app.ui.videos.submit_form import SubmitForm

if TYPE_CHECKING:
    from app.core.services.tasks import TaskOwner
    from app.ui.videos.player import PlayerWidget

__all__ = ["VideosTab"]

VIDEO_FILTER = "Videos (*.mp4 *.webm *.mov);;All files (*)"


def reveal_in_file_manager(path: str) -> None:
    """Open the folder holding `path` (the portable part of "show in folder")."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


class VideosTab(QWidget):
    def __init__(
        self,
        port: VideoPort,
        tasks: TaskOwner,
        *,
        profiles: Callable[[], list[Any]],
        status: Callable[[str], None] = lambda _text: None,
        is_focused: Callable[[], bool] | None = None,
        tray_available: Callable[[], bool] | None = None,
        cache_dir: Path | None = None,
        effects: Effects | None = None,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Videos")
        self.port = port
        self.tasks = tasks
        self._profiles = profiles
        self._status = status
        spawn = tasks.spawn

        self.form = SubmitForm()
        self.model = QueueModel(self)
        self.posters = PosterCache(port, spawn, cache_dir, parent=self)
        self.panel = QueuePanel(
            self.model, self.posters, profile_name=self._profile_name, clock=clock
        )
        self.player: PlayerWidget | None = None
        self.player_holder = QWidget()
        self.player_holder.setAccessibleName("Player")
        QVBoxLayout(self.player_holder).setContentsMargins(0, 0, 0, 0)
        self.player_holder.hide()

        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        form_scroll.setWidget(self.form)
        # Vertical scrolling only: a sideways scroll bar under a form is never what one wants.
        form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_scroll.setMinimumWidth(self.form.minimumSizeHint().width() + 4)
        self.right = QSplitter(Qt.Orientation.Vertical)
        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(8, 12, 12, 8)
        queue_layout.addWidget(self.panel)
        self.right.addWidget(queue_box)
        self.right.addWidget(self.player_holder)
        self.right.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(form_scroll)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.effects = effects or Effects(
            confirm=lambda title, text, yes: ask_yes_no(self, title, text, yes),
            ask_save_path=lambda suggested: ask_save_path(
                self, "Save video as", suggested, VIDEO_FILTER
            ),
            open_url=lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(path)),
            reveal=reveal_in_file_manager,
            copy_text=lambda text: QGuiApplication.clipboard().setText(text),
            status=status,
        )
        self.notifier = CompletionNotifier(
            is_focused=is_focused or (lambda: self.window().isActiveWindow()),
            status=status,
            **({"tray_available": tray_available} if tray_available is not None else {}),
        )
        self.submit = SubmitController(port, spawn, self.form)
        self.queue = QueueController(port, spawn, self.panel, self.effects)
        self.submit.submitted.connect(self.queue.select_when_shown)
        self.queue.reuseRequested.connect(self.use_settings)
        self.queue.playRequested.connect(self.play)
        self.queue.jobCompleted.connect(self.notifier.completed)
        self.refresh_profiles()
        self.queue.start()

    # -- what the window calls --

    def focus_primary(self) -> None:
        """Put the keyboard focus in the tab's main field (the host calls this when shown)."""
        self.form.prompt.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh_profiles(self) -> None:
        self.form.set_profiles(self._profiles())
        self.submit.refresh_options()
        self.panel.list.viewport().update()

    def prefill_image(self, path: str) -> None:
        """Image-to-video from an image path (e.g. the gallery's "Make a video")."""
        self.form.prefill_image(path)

    def use_settings(self, draft: VideoDraft) -> None:
        self.form.set_draft(draft)

    # -- player --

    def ensure_player(self) -> PlayerWidget:
        if self.player is None:
            from app.ui.videos.player import PlayerWidget

            self.player = PlayerWidget()
            self.player.closeRequested.connect(self.player_holder.hide)
            self.player.problem.connect(self._status)
            layout = self.player_holder.layout()
            assert layout is not None
            layout.addWidget(self.player)
        return self.player

    def play(self, row: VideoRow) -> None:
        player = self.ensure_player()
        self.player_holder.show()
        total = max(1, self.right.height())
        self.right.setSizes([total * 2 // 5, total * 3 // 5])
        player.load(row.video_path, " ".join(row.draft.prompt.split())[:120])

    def _profile_name(self, profile_id: str) -> str:
        for p in self._profiles():
            if p.id == profile_id:
                return str(getattr(p, "name", "") or profile_id)
        return f"{profile_id} (missing)" if profile_id else ""

    async def aclose(self) -> None:
        self.queue.stop()
        self.panel.ticker.stop()
        if self.player is not None:
            self.player.stop()
        self.notifier.close()
        await self.tasks.aclose()
