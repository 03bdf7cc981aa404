"""The submit form: profile, model, prompt, the dialect's own shape/duration/resolution words,
and the kind (text-to-video, or image-to-video with an image from disk or the gallery).

The form only edits a `VideoDraft`; `submitRequested(draft)` says the user pressed Submit. Which
fields show follows the chosen profile's dialect (`records.DIALECT_OPTIONS`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.videos.records import (
    DIALECT_OPTIONS,
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    DialectOptions,
    VideoDraft,
    dialect_of,
)

__all__ = ["SubmitForm"]

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp)"


class SubmitForm(QWidget):
    submitRequested = Signal(object)  # VideoDraft

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("New video")
        self._profiles: list[Any] = []
        self._told: dict[str, DialectOptions] = {}  # profile id -> the service's options
        self._image_dialog: QFileDialog | None = None

        heading = QLabel("New video")
        heading.setProperty("role", "heading")

        self.profile_combo = QComboBox()
        self.profile_combo.setAccessibleName("Profile")
        self.profile_combo.currentIndexChanged.connect(self._on_profile)
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setAccessibleName("Model")
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setPlaceholderText("Describe the video: subject, motion, camera, light…")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setMinimumHeight(90)
        self.prompt.textChanged.connect(self._update_submit)

        self.text_radio = QRadioButton("&Text to video")
        self.image_radio = QRadioButton("I&mage to video")
        self.kind_group = QButtonGroup(self)
        self.kind_group.addButton(self.text_radio)
        self.kind_group.addButton(self.image_radio)
        self.text_radio.setChecked(True)
        self.kind_group.buttonToggled.connect(self._on_kind)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.text_radio)
        kind_row.addWidget(self.image_radio)
        kind_row.addStretch(1)

        self.image_edit = QLineEdit()
        self.image_edit.setAccessibleName("Start image")
        self.image_edit.setPlaceholderText("An image file")
        self.image_edit.textChanged.connect(self._update_submit)
        self.image_button = QPushButton("Choose…")
        self.image_button.setAccessibleName("Choose a start image")
        self.image_button.clicked.connect(self.choose_image)
        self.image_row = QWidget()
        image_layout = QHBoxLayout(self.image_row)
        image_layout.setContentsMargins(0, 0, 0, 0)
        image_layout.addWidget(self.image_edit, 1)
        image_layout.addWidget(self.image_button)

        self.shape_combo = QComboBox()
        self.shape_combo.setAccessibleName("Aspect ratio")
        self.duration_combo = QComboBox()
        self.duration_combo.setAccessibleName("Duration")
        self.resolution_combo = QComboBox()
        self.resolution_combo.setAccessibleName("Resolution")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Profile", self.profile_combo)
        form.addRow("M&odel", self.model_combo)
        form.addRow("P&rompt", self.prompt)
        form.addRow("Kind", kind_row)
        form.addRow("Start &image", self.image_row)
        self.shape_label = QLabel("&Aspect ratio")
        self.shape_label.setBuddy(self.shape_combo)
        form.addRow(self.shape_label, self.shape_combo)
        self.duration_label = QLabel("&Duration (s)")
        self.duration_label.setBuddy(self.duration_combo)
        form.addRow(self.duration_label, self.duration_combo)
        self.resolution_label = QLabel("Re&solution")
        self.resolution_label.setBuddy(self.resolution_combo)
        form.addRow(self.resolution_label, self.resolution_combo)
        self.form = form

        self.no_video_label = QLabel(
            "None of your profiles makes videos. Add one that does (an OpenAI-compatible gateway "
            "with /videos, a video-task endpoint, or Gemini) in Settings."
        )
        self.no_video_label.setWordWrap(True)
        self.no_video_label.setProperty("role", "muted")
        self.no_video_label.hide()

        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setProperty("role", "error")
        self.error_label.setAccessibleName("Submit problem")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Reserved: a message appearing must not move the Submit button under the cursor.
        self.error_label.setMinimumHeight(self.error_label.fontMetrics().lineSpacing() * 3)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.submit_button = QPushButton("Submit")
        self.submit_button.setAccessibleName("Submit video job")
        self.submit_button.setProperty("role", "primary")
        self.submit_button.setToolTip("Submit (Ctrl+Enter)")
        self.submit_button.clicked.connect(self._on_submit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(heading)
        layout.addWidget(self.no_video_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addStretch(1)

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._on_submit)

        self._on_kind()
        self._apply_dialect(None)
        self._update_submit()

    # -- profiles --

    def set_profiles(self, profiles: list[Any]) -> None:
        """Offer the profiles that speak a video dialect (keeps the current one when it stays)."""
        current = self.profile_id()
        self._profiles = [p for p in profiles if dialect_of(p)]
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        for p in self._profiles:
            self.profile_combo.addItem(getattr(p, "name", p.id) or p.id, p.id)
        self.profile_combo.blockSignals(False)
        i = self.profile_combo.findData(current)
        self.profile_combo.setCurrentIndex(i if i >= 0 else (0 if self._profiles else -1))
        self._on_profile()
        self.no_video_label.setVisible(not self._profiles)

    def profile_id(self) -> str:
        data = self.profile_combo.currentData()
        return str(data) if data else ""

    def _profile(self) -> Any:
        pid = self.profile_id()
        return next((p for p in self._profiles if p.id == pid), None)

    def options(self) -> DialectOptions | None:
        told = self._told.get(self.profile_id())
        if told is not None:
            return told
        profile = self._profile()
        name = dialect_of(profile) if profile is not None else ""
        return DIALECT_OPTIONS.get(name)

    def apply_options(self, profile_id: str, opts: DialectOptions) -> None:
        """The service's words for a profile's dialect (asked when the profile is chosen)."""
        self._told[profile_id] = opts
        if profile_id == self.profile_id():
            self._apply_dialect(opts)
            self._update_submit()

    def _on_profile(self, *_args: object) -> None:
        profile = self._profile()
        self.model_combo.clear()
        if profile is not None:
            default = (getattr(profile, "default_models", None) or {}).get("video", "")
            if default:
                self.model_combo.addItem(default)
            self.model_combo.setCurrentText(default)
        self._apply_dialect(self.options())
        self._update_submit()

    def set_models(self, models: list[str]) -> None:
        """Offer a profile's video models (keeps what is typed)."""
        typed = self.model_combo.currentText()
        self.model_combo.clear()
        self.model_combo.addItems(models)
        self.model_combo.setCurrentText(typed or (models[0] if models else ""))

    def _apply_dialect(self, opts: DialectOptions | None) -> None:
        def fill(combo: QComboBox, values: tuple[str, ...]) -> None:
            keep = combo.currentText()
            combo.clear()
            combo.addItems(list(values))
            if keep in values:
                combo.setCurrentText(keep)

        fill(self.shape_combo, opts.shapes if opts else ())
        self.shape_label.setText(f"&{opts.shape_label}" if opts else "&Aspect ratio")
        self.shape_combo.setAccessibleName(opts.shape_label if opts else "Aspect ratio")
        durations = opts.durations if opts else ()
        fill(self.duration_combo, durations)
        self.duration_label.setText(f"&{opts.duration_label}" if opts else "&Duration (s)")
        self.form.setRowVisible(self.duration_combo, bool(durations))
        resolutions = opts.resolutions if opts else ()
        fill(self.resolution_combo, resolutions)
        self.form.setRowVisible(self.resolution_combo, bool(resolutions))
        self.image_radio.setEnabled(opts is None or opts.image_to_video)

    # -- kind and image --

    def _on_kind(self, *_args: object) -> None:
        self.form.setRowVisible(self.image_row, self.image_radio.isChecked())
        self._update_submit()

    def choose_image(self) -> None:
        """A file picker (non-blocking: open(), never exec())."""
        dialog = QFileDialog(self, "Choose a start image", "", IMAGE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.prefill_image)
        dialog.finished.connect(dialog.deleteLater)
        self._image_dialog = dialog
        dialog.open()

    def prefill_image(self, path: str) -> None:
        """Image-to-video from `path` (a file, or an image from the gallery)."""
        if not path:
            return
        self.image_radio.setChecked(True)
        self.image_edit.setText(path)
        self.prompt.setFocus()

    # -- the draft --

    def draft(self) -> VideoDraft:
        opts = self.options()
        seconds = self.duration_combo.currentText() if opts and opts.durations else ""
        image = self.image_radio.isChecked()
        return VideoDraft(
            profile_id=self.profile_id(),
            model=self.model_combo.currentText().strip(),
            prompt=self.prompt.toPlainText().strip(),
            kind=IMAGE_TO_VIDEO if image else TEXT_TO_VIDEO,
            image_path=self.image_edit.text().strip() if image else "",
            shape=self.shape_combo.currentText(),
            seconds=int(seconds) if seconds.isdigit() else None,
            resolution=self.resolution_combo.currentText() if opts and opts.resolutions else "",
        )

    def set_draft(self, draft: VideoDraft) -> None:
        """ "Use these settings": the form as the job was asked (a missing profile is kept out)."""
        i = self.profile_combo.findData(draft.profile_id)
        if i >= 0:
            self.profile_combo.setCurrentIndex(i)
        if draft.model:
            self.model_combo.setCurrentText(draft.model)
        self.prompt.setPlainText(draft.prompt)
        (self.image_radio if draft.kind == IMAGE_TO_VIDEO else self.text_radio).setChecked(True)
        self.image_edit.setText(draft.image_path)
        for combo, value in (
            (self.shape_combo, draft.shape),
            (self.duration_combo, str(draft.seconds) if draft.seconds else ""),
            (self.resolution_combo, draft.resolution),
        ):
            j = combo.findText(value) if value else -1
            if j >= 0:
                combo.setCurrentIndex(j)
        self.show_error(
            ""
            if i >= 0 or not draft.profile_id
            else "That job's profile no longer exists; choose one above."
        )
        self.prompt.setFocus()

    def problem(self) -> str:
        """Why Submit would be refused, or ""."""
        d = self.draft()
        if not d.profile_id:
            return "Choose a profile that makes videos."
        if not d.model:
            return "Enter a model."
        if not d.prompt:
            return "Describe the video in the prompt."
        if d.kind == IMAGE_TO_VIDEO and not d.image_path:
            return "Choose a start image, or switch to text to video."
        return ""

    def _update_submit(self, *_args: object) -> None:
        problem = self.problem()
        self.submit_button.setEnabled(not problem)
        self.submit_button.setToolTip(problem or "Submit (Ctrl+Enter)")

    def _on_submit(self) -> None:
        if not self.problem():
            self.show_error("")
            self.submitRequested.emit(self.draft())

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
