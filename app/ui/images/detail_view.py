"""The detail view of one image: the image fitted and zoomable, its prompt, revised prompt and
every parameter (read-only), and the actions.

It shows a `DetailInfo` (a UI record the controller builds from the service's image record) and
emits one signal per action with the image id; it does nothing itself. Looking never writes to the
generate form: only "Use these settings" does, through the controller.

Keys: Left/Right (and Up/Down) move to the previous/next image, Escape goes back to the gallery,
Delete deletes, Ctrl+C copies the image, Ctrl+0 fits, Ctrl+1 shows 100 %, the wheel zooms.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.images.icons import icon, standard
from app.ui.images.image_viewer import ZoomableImage

__all__ = ["DetailInfo", "DetailView"]


LABELS = {"n": "Images asked for", "created_at": "Created", "response_format": "Response format"}


@dataclass
class DetailInfo:
    """What the detail view shows about one image."""

    id: int
    path: Path | None
    prompt: str = ""
    revised_prompt: str = ""
    starred: bool = False
    # (label, value) rows shown read-only: provider, model, size, quality, seed, time, ...
    parameters: list[tuple[str, str]] = field(default_factory=list)
    batch_text: str = ""  # "Image 2 of 4 of one generation"


def parameter_rows(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Every non-empty parameter as a readable row (nested values as compact JSON)."""
    rows: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif key.endswith("_at") and isinstance(value, (int, float)):
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
        else:
            text = str(value)
        rows.append((LABELS.get(key, key.replace("_", " ").capitalize()), text))
    return rows


class DetailView(QWidget):
    """One image, its settings and its actions. Every action signal carries the image id."""

    backRequested = Signal()
    previousRequested = Signal()
    nextRequested = Signal()
    copyImageRequested = Signal(int)
    copyPromptRequested = Signal(int)
    saveAsRequested = Signal(int)
    revealRequested = Signal(int)
    openExternalRequested = Signal(int)
    useSettingsRequested = Signal(int)
    rerunRequested = Signal(int)
    sendToChatRequested = Signal(int)
    starRequested = Signal(int, bool)
    deleteRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Image details")
        self.info: DetailInfo | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        bar = QHBoxLayout()
        self.back_button = self._tool(
            "Back to the gallery (Esc)", standard(QStyle.StandardPixmap.SP_ArrowBack), "Back"
        )
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.back_button.clicked.connect(self.backRequested)
        bar.addWidget(self.back_button)
        self.prev_button = self._tool(
            "Previous image (Left)", standard(QStyle.StandardPixmap.SP_MediaSeekBackward)
        )
        self.prev_button.clicked.connect(self.previousRequested)
        self.next_button = self._tool(
            "Next image (Right)", standard(QStyle.StandardPixmap.SP_MediaSeekForward)
        )
        self.next_button.clicked.connect(self.nextRequested)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        self.batch_label = QLabel("")
        self.batch_label.setProperty("role", "muted")
        bar.addWidget(self.batch_label)
        bar.addStretch(1)
        self.fit_button = self._tool("Fit to the window (Ctrl+0)", icon("zoom-fit"), "Fit")
        self.fit_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.actual_button = self._tool("Actual size (Ctrl+1)", QIcon(), "100 %")
        self.actual_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.zoom_label = QLabel("")
        self.zoom_label.setMinimumWidth(48)
        self.zoom_label.setAccessibleName("Zoom")
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        bar.addWidget(self.zoom_label)
        outer.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.viewer = ZoomableImage()
        # The view keeps the keyboard: arrows move between images instead of scrolling.
        self.viewer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.viewer.zoomChanged.connect(lambda p: self.zoom_label.setText(f"{p} %"))
        self.fit_button.clicked.connect(self.viewer.fit)
        self.actual_button.clicked.connect(self.viewer.actual_size)
        split.addWidget(self.viewer)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 0, 0, 0)
        actions = QGridLayout()
        self.star_button = self._button("Star", icon("star-outline"), "Star this image")
        self.star_button.setCheckable(True)
        self.star_button.clicked.connect(self._on_star)
        self.copy_image_button = self._button("Copy image", icon("copy"), "Copy the image (Ctrl+C)")
        self.copy_prompt_button = self._button("Copy prompt", icon("copy"), "Copy the prompt")
        self.save_button = self._button(
            "Save as…", standard(QStyle.StandardPixmap.SP_DialogSaveButton), "Save a copy"
        )
        self.reveal_button = self._button(
            "Show in folder",
            standard(QStyle.StandardPixmap.SP_DirOpenIcon),
            "Show the file in the file manager",
        )
        self.open_button = self._button(
            "Open", standard(QStyle.StandardPixmap.SP_FileIcon), "Open with the system viewer"
        )
        self.use_button = self._button(
            "Use these settings",
            standard(QStyle.StandardPixmap.SP_ArrowLeft),
            "Fill the generate form with this image's settings",
        )
        self.rerun_button = self._button(
            "Re-run",
            standard(QStyle.StandardPixmap.SP_BrowserReload),
            "Generate again with the same settings (keeps this image)",
        )
        self.send_button = self._button(
            "Send to chat",
            icon("send-to-chat"),
            "Attach this image to a new message in the Chat tab",
        )
        self.delete_button = self._button(
            "Delete", standard(QStyle.StandardPixmap.SP_TrashIcon), "Delete (Del); you can undo"
        )
        buttons = [
            self.star_button,
            self.copy_image_button,
            self.copy_prompt_button,
            self.save_button,
            self.reveal_button,
            self.open_button,
            self.use_button,
            self.rerun_button,
            self.send_button,
            self.delete_button,
        ]
        for i, b in enumerate(buttons):
            actions.addWidget(b, i // 2, i % 2)
        for button, signal in (
            (self.copy_image_button, self.copyImageRequested),
            (self.copy_prompt_button, self.copyPromptRequested),
            (self.save_button, self.saveAsRequested),
            (self.reveal_button, self.revealRequested),
            (self.open_button, self.openExternalRequested),
            (self.use_button, self.useSettingsRequested),
            (self.rerun_button, self.rerunRequested),
            (self.send_button, self.sendToChatRequested),
            (self.delete_button, self.deleteRequested),
        ):
            button.clicked.connect(lambda _=False, s=signal: self._emit(s))
        side_layout.addLayout(actions)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        info = QWidget()
        info_layout = QVBoxLayout(info)
        info_layout.setContentsMargins(0, 8, 0, 0)
        info_layout.addWidget(self._heading("Prompt"))
        self.prompt_text = self._text("Prompt")
        info_layout.addWidget(self.prompt_text)
        self.revised_heading = self._heading("Revised prompt (by the provider)")
        info_layout.addWidget(self.revised_heading)
        self.revised_text = self._text("Revised prompt")
        info_layout.addWidget(self.revised_text)
        info_layout.addWidget(self._heading("Parameters"))
        self.params_form = QFormLayout()
        self.params_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        info_layout.addLayout(self.params_form)
        info_layout.addStretch(1)
        scroll.setWidget(info)
        side_layout.addWidget(scroll, 1)
        side.setMinimumWidth(300)
        # The image gets the room; the side column stays a readable width.
        side.setMaximumWidth(440)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([900, 360])
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)

    # -- building bits --

    def _tool(self, tip: str, ic: Any, text: str = "") -> QToolButton:
        b = QToolButton()
        b.setToolTip(tip)
        b.setAccessibleName(text or tip.split(" (")[0])
        if not ic.isNull():
            b.setIcon(ic)
        if text:
            b.setText(text)
        b.setAutoRaise(True)
        return b

    def _button(self, text: str, ic: Any, tip: str) -> QPushButton:
        b = QPushButton(ic, text)
        b.setToolTip(tip)
        b.setAccessibleName(text)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return b

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setProperty("role", "subheading")
        return label

    def _text(self, name: str) -> QPlainTextEdit:
        t = QPlainTextEdit()
        t.setReadOnly(True)
        t.setAccessibleName(name)
        t.setMaximumHeight(96)
        t.setFrameShape(QFrame.Shape.StyledPanel)
        return t

    # -- showing --

    def show_info(self, info: DetailInfo, pixmap: QPixmap | None = None) -> None:
        self.info = info
        if pixmap is None:
            pixmap = QPixmap(str(info.path)) if info.path is not None else QPixmap()
        self.viewer.set_pixmap(pixmap)
        self.prompt_text.setPlainText(info.prompt)
        self.revised_text.setPlainText(info.revised_prompt)
        has_revised = bool(info.revised_prompt) and info.revised_prompt != info.prompt
        self.revised_heading.setVisible(has_revised)
        self.revised_text.setVisible(has_revised)
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        for label, value in info.parameters:
            v = QLabel(value)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setAccessibleName(label)
            self.params_form.addRow(label, v)
        self.batch_label.setText(info.batch_text)
        self.set_starred(info.starred)

    def set_starred(self, starred: bool) -> None:
        if self.info is not None:
            self.info.starred = starred
        self.star_button.setChecked(starred)
        self.star_button.setText("Starred" if starred else "Star")
        self.star_button.setIcon(icon("star" if starred else "star-outline"))

    def _on_star(self) -> None:
        if self.info is not None:
            self.starRequested.emit(self.info.id, not self.info.starred)
            # The controller confirms with set_starred once the service has written it.
            self.star_button.setChecked(self.info.starred)

    def _emit(self, signal: Any) -> None:
        if self.info is not None:
            signal.emit(self.info.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Escape:
            self.backRequested.emit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up) and not ctrl:
            self.previousRequested.emit()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down) and not ctrl:
            self.nextRequested.emit()
        elif key == Qt.Key.Key_Delete:
            self._emit(self.deleteRequested)
        elif event.matches(QKeySequence.StandardKey.Copy):
            self._emit(self.copyImageRequested)
        elif ctrl and key == Qt.Key.Key_0:
            self.viewer.fit()
        elif ctrl and key == Qt.Key.Key_1:
            self.viewer.actual_size()
        else:
            super().keyPressEvent(event)
            return
        event.accept()
