"""The Images tab: the generate form and its running generations on the left, the gallery (or
one image's details) on the right.

The tab only wires: it is given the ImageService, its own TaskOwner, the profiles and a client
getter, builds the widgets and the three controllers (generate, gallery, detail), and connects
them. `sendToChatRequested(path)` is for the main window to route to the chat tab.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError
from app.ui.async_bridge import close_if_unstarted
from app.ui.empty_state import EmptyStateCard
from app.ui.images.detail_controller import DetailController
from app.ui.images.detail_view import DetailView
from app.ui.images.filter_bar import FilterBar
from app.ui.images.gallery_controller import GalleryController
from app.ui.images.gallery_model import GalleryItem, GalleryModel
from app.ui.images.gallery_view import THUMB, GalleryView
from app.ui.images.generate_controller import GenerateController
from app.ui.images.generate_form import GenerateForm
from app.ui.images.icons import standard
from app.ui.images.job_list import JobList
from app.ui.images.thumbnails import ThumbnailLoader

if TYPE_CHECKING:
    from app.core.providers import ProviderProfile
    from app.core.services.images import ImageService
    from app.core.services.tasks import TaskOwner

__all__ = ["ImagesTab"]

log = logging.getLogger(__name__)
UNDO_MS = 10_000


class EmptyState(EmptyStateCard):
    """What the gallery says when it has nothing to show (and the one action that helps)."""

    clearFiltersRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Gallery empty")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clearFiltersRequested)
        self._lay_out([self.clear_button])
        self.show_state(filtered=False)

    def show_state(self, *, filtered: bool) -> None:
        if filtered:
            self.title.setText("No images match")
            self.body.setText("Nothing in the library matches this search and these filters.")
        else:
            self.title.setText("No images yet")
            self.body.setText(
                "Write a prompt on the left and press Generate. Every image is saved here the "
                "moment it arrives, with the settings that made it."
            )
        self.clear_button.setVisible(filtered)


class ImagesTab(QWidget):
    """Form + generations | filters + gallery / detail, and an Undo bar for deletes."""

    sendToChatRequested = Signal(str)  # absolute path of an image file, for the chat composer
    galleryShown = Signal()  # the gallery page is current
    detailShown = Signal(int)  # image id

    def __init__(
        self,
        service: ImageService,
        tasks: TaskOwner,
        *,
        profiles: Callable[[], list[ProviderProfile]],
        client_for: Callable[[str], Awaitable[Any]] | None = None,
        open_url: Callable[..., Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Images")
        self.service = service
        self.tasks = tasks
        self._profiles = profiles
        self._closed = False

        # -- widgets --
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(12, 12, 12, 12)
        self.form = GenerateForm()
        left_layout.addWidget(self.form)
        gen_heading = QLabel("Generations")
        gen_heading.setProperty("role", "subheading")
        left_layout.addWidget(gen_heading)
        self.job_list = JobList()
        # The list takes the rest of the column (and scrolls inside it): a job arriving or
        # finishing repaints the list, never re-lays out the form above it.
        left_layout.addWidget(self.job_list, 1)
        left_scroll = QScrollArea()
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setWidget(left)
        left_scroll.setMinimumWidth(340)
        split.addWidget(left_scroll)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 12, 12, 8)
        self.filters = FilterBar()
        right_layout.addWidget(self.filters)
        self.loader = ThumbnailLoader(
            self._make_thumbnail,
            self.spawn,
            locate=self._locate_thumbnail,
            size=THUMB,
            parent=self,
        )
        self.model = GalleryModel(self.spawn, parent=self)
        self.gallery = GalleryView(self.model, self.loader)
        self.empty = EmptyState()
        self.detail = DetailView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.gallery)
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.detail)
        right_layout.addWidget(self.pages, 1)
        self.undo_bar = QFrame()
        self.undo_bar.setAccessibleName("Undo bar")
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(8, 4, 8, 4)
        self.undo_label = QLabel("Image deleted.")
        self.undo_button = QPushButton(standard(QStyle.StandardPixmap.SP_ArrowBack), "Undo")
        self.undo_button.setToolTip("Put the image back (Ctrl+Z)")
        undo_row.addWidget(self.undo_label, 1)
        undo_row.addWidget(self.undo_button)
        self.undo_bar.setVisible(False)
        right_layout.addWidget(self.undo_bar)
        self.message_label = QLabel("")
        self.message_label.setProperty("role", "muted")
        self.message_label.setAccessibleName("Images status")
        right_layout.addWidget(self.message_label)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 900])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

        # -- controllers --
        self.generate = GenerateController(
            service,
            self.spawn,
            self.form,
            self.job_list,
            profiles=profiles,
            client_for=client_for,
            parent=self,
        )
        self.gallery_ctl = GalleryController(
            service,
            self.spawn,
            self.model,
            self.gallery,
            self.filters,
            profile_names=lambda: [(p.id, p.name) for p in self._profiles()],
            parent=self,
        )
        extra: dict[str, Any] = {} if open_url is None else {"open_url": open_url}
        self.detail_ctl = DetailController(
            service,
            self.spawn,
            self.detail,
            self.model,
            use_settings=self.form.apply,
            rerun=self.generate.rerun,
            star=self.gallery_ctl.star,
            delete=self.gallery_ctl.delete,
            profile_name=self._profile_name,
            parent=self,
            **extra,
        )

        # -- wiring --
        self.gallery.openRequested.connect(lambda i: self.spawn(self.open_image(i)))
        self.gallery.deleteRequested.connect(lambda i: self.spawn(self.gallery_ctl.delete(i)))
        self.gallery.copyRequested.connect(self._copy_from_grid)
        self.gallery_ctl.emptyChanged.connect(self._on_empty)
        self.gallery_ctl.deleted.connect(self._offer_undo)
        self.empty.clearFiltersRequested.connect(self.filters.clear)
        self.detail_ctl.closed.connect(self.show_gallery)
        self.detail_ctl.opened.connect(self._on_opened)
        self.detail_ctl.message.connect(self.show_message)
        self.detail_ctl.sendToChatRequested.connect(self.sendToChatRequested)
        self.generate.startFailed.connect(self.show_message)
        self.model.loadFailed.connect(self.show_message)
        self._undo_item: GalleryItem | None = None
        self.undo_button.clicked.connect(self.undo_delete)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(UNDO_MS)
        self._undo_timer.timeout.connect(lambda: self.undo_bar.setVisible(False))
        self.undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self._undo_if_offered)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.setInterval(6000)
        self._message_timer.timeout.connect(lambda: self.message_label.setText(""))

        self.generate.start()
        self.gallery_ctl.start()

    def focus_primary(self) -> None:
        """Put the keyboard focus in the tab's main field (the host calls this when shown)."""
        self.form.prompt_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- running work --

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Start `coro` under this tab's TaskOwner; known errors become the status line."""
        if self._closed or self.tasks.closed:
            coro.close()
            return None

        async def guarded() -> Any:
            try:
                return await coro
            except SwitchboardError as exc:
                log.info("images: %s", exc)
                if not self._closed:
                    self.show_message(exc.user_message)
                return None

        task = self.tasks.spawn(guarded())
        task.add_done_callback(lambda _t: close_if_unstarted(coro))
        return task

    def _locate_thumbnail(self, item: GalleryItem) -> str | None:
        return str(self.service.thumbnail_path(item.sha256)) if item.sha256 else None

    async def _make_thumbnail(self, item: GalleryItem) -> Path:
        if item.sha256 and item.path is not None:
            return await self.service.thumbnail_file(item.sha256, item.path)
        return await self.service.thumbnail(item.id)

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._message_timer.start()

    def _profile_name(self, profile_id: str) -> str:
        for p in self._profiles():
            if p.id == profile_id:
                return p.name
        return f"{profile_id} (profile removed)"

    def refresh_profiles(self) -> None:
        """The profile list changed (Settings): update the form's and the filter's choices."""
        self.generate.refresh_profiles()
        self.spawn(self.gallery_ctl.load_facets())

    # -- pages --

    async def open_image(self, image_id: int) -> None:
        if await self.detail_ctl.open(image_id):
            self.pages.setCurrentWidget(self.detail)
            self.detail.setFocus()

    def _on_opened(self, image_id: int) -> None:
        row = self.model.row_of(image_id)
        if row >= 0:
            self.gallery.setCurrentIndex(self.model.index(row))
        self.detailShown.emit(image_id)

    def show_gallery(self) -> None:
        self._on_empty(self.model.rowCount() == 0 and self.model.exhausted)
        self.gallery.setFocus()
        self.galleryShown.emit()

    def _on_empty(self, empty: bool) -> None:
        if self.pages.currentWidget() is self.detail and self.detail_ctl.record is not None:
            return
        if empty:
            self.empty.show_state(filtered=not self.gallery_ctl.query.empty)
            self.pages.setCurrentWidget(self.empty)
        else:
            self.pages.setCurrentWidget(self.gallery)

    def _copy_from_grid(self, image_id: int) -> None:
        item = self.model.item(self.model.row_of(image_id))
        if item is not None and item.path is not None:
            self.detail_ctl.copy_file(Path(item.path))

    # -- undo --

    def _offer_undo(self, item: GalleryItem) -> None:
        self._undo_item = item
        prompt = " ".join(item.prompt.split())
        short = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        self.undo_label.setText(f"Deleted “{short}”.")
        self.undo_bar.setVisible(True)
        self._undo_timer.start()

    def _undo_if_offered(self) -> None:
        if self.undo_bar.isVisible():
            self.undo_delete()

    def undo_delete(self) -> None:
        item = self._undo_item
        self._undo_item = None
        self.undo_bar.setVisible(False)
        self._undo_timer.stop()
        if item is not None:
            self.spawn(self.gallery_ctl.restore(item.id))

    # -- closing --

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for timer in (self._undo_timer, self._message_timer):
            timer.stop()
        self.loader.close()
        self.generate.close()
        self.gallery_ctl.close()
        await self.tasks.aclose()
