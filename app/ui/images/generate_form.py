"""The generate form: profile, model, prompt, n, size, quality, style, response format, seed and
negative prompt — and the list of running generations under it.

The form only edits a `FormSettings` record; it never starts work itself. `generateRequested`
carries the record, the controller turns it into a job. "Use these settings" from the detail view
calls `apply(settings)`; looking at an image never writes here by itself.

Sizes are shown and typed in the profile's own notation (`1024x1024` or `1024*1024`). Fields the
profile's dialect does not take are hidden (`set_capabilities`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SIZES", "FormCapabilities", "FormSettings", "GenerateForm"]

SIZES = ("1024x1024", "1024x1536", "1536x1024", "1792x1024", "1024x1792", "512x512", "256x256")
QUALITIES = ("", "auto", "standard", "hd", "low", "medium", "high")
STYLES = ("", "vivid", "natural")
FORMATS = ("", "url", "b64_json")
_DEFAULT_LABEL = "(provider default)"


@dataclass
class FormSettings:
    """What the form holds (a UI record; the controller builds the service's request from it)."""

    profile_id: str = ""
    model: str = ""
    prompt: str = ""
    n: int = 1
    size: str = "1024x1024"  # in the profile's notation
    quality: str = ""
    style: str = ""
    response_format: str = ""
    seed: int | None = None
    negative_prompt: str = ""


@dataclass
class FormCapabilities:
    """Which optional fields the profile's dialect accepts."""

    size_style: str = "x"
    quality: bool = True
    style: bool = True
    response_format: bool = True
    seed: bool = False
    negative_prompt: bool = False
    max_n: int = 10
    formats: tuple[str, ...] = field(default=("url", "b64_json"))


def to_notation(size: str, style: str) -> str:
    """`1024x1024` written with `style`'s separator ("x" or "*"); other words unchanged."""
    for sep in ("x", "X", "*", "×"):
        if sep in size:
            w, _, h = size.partition(sep)
            if w.strip().isdigit() and h.strip().isdigit():
                return f"{w.strip()}{style}{h.strip()}"
    return size.strip()


class GenerateForm(QWidget):
    """The form. Signals: `generateRequested(FormSettings)`, `profileChanged(str)`."""

    generateRequested = Signal(object)
    profileChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Generate images")
        self._caps = FormCapabilities()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.profile_combo = QComboBox()
        self.profile_combo.setAccessibleName("Profile")
        self.profile_combo.currentIndexChanged.connect(self._on_profile_index)
        form.addRow("&Profile", self.profile_combo)

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setAccessibleName("Image model")
        self.model_combo.setToolTip("Pick an image model or type its name.")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(12)
        form.addRow("&Model", self.model_combo)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setAccessibleName("Prompt")
        self.prompt_edit.setPlaceholderText("Describe the image…")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setMinimumHeight(90)
        self.prompt_edit.textChanged.connect(self._update_enabled)
        form.addRow("P&rompt", self.prompt_edit)

        self.negative_edit = QLineEdit()
        self.negative_edit.setAccessibleName("Negative prompt")
        self.negative_edit.setPlaceholderText("What to leave out (optional)")
        form.addRow("&Negative", self.negative_edit)
        self._negative_label = form.labelForField(self.negative_edit)

        row = QHBoxLayout()
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 10)
        self.n_spin.setAccessibleName("Number of images")
        self.n_spin.setToolTip("How many images to generate")
        row.addWidget(self.n_spin)
        self.size_combo = QComboBox()
        self.size_combo.setEditable(True)
        self.size_combo.setAccessibleName("Size")
        self.size_combo.setToolTip("Width and height in the provider's notation")
        row.addWidget(self.size_combo, 1)
        size_label = QLabel("Count, si&ze")
        size_label.setBuddy(self.size_combo)
        form.addRow(size_label, row)

        self.quality_combo = self._choice_combo("Quality", QUALITIES)
        form.addRow("&Quality", self.quality_combo)
        self.style_combo = self._choice_combo("Style", STYLES)
        form.addRow("St&yle", self.style_combo)
        self.format_combo = self._choice_combo("Response format", FORMATS)
        self.format_combo.setToolTip(
            "url: the provider hosts the image for a while; b64_json: sent inline"
        )
        form.addRow("&Format", self.format_combo)

        seed_row = QHBoxLayout()
        self.seed_check = QCheckBox("Fixed seed")
        self.seed_check.setAccessibleName("Use a fixed seed")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setAccessibleName("Seed")
        self.seed_spin.setEnabled(False)
        self.seed_check.toggled.connect(self.seed_spin.setEnabled)
        seed_row.addWidget(self.seed_check)
        seed_row.addWidget(self.seed_spin, 1)
        self.seed_box = QWidget()
        self.seed_box.setLayout(seed_row)
        seed_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("S&eed", self.seed_box)
        self._seed_label = form.labelForField(self.seed_box)
        self._quality_label = form.labelForField(self.quality_combo)
        self._style_label = form.labelForField(self.style_combo)
        self._format_label = form.labelForField(self.format_combo)
        outer.addLayout(form)

        buttons = QHBoxLayout()
        self.hint = QLabel("")
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons.addWidget(self.hint, 1)
        self.generate_button = QPushButton("&Generate")
        self.generate_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.generate_button.setToolTip(
            "Generate (Ctrl+Enter). You can keep editing while it runs."
        )
        self.generate_button.setProperty("role", "primary")
        self.generate_button.setAccessibleName("Generate")
        self.generate_button.clicked.connect(self._on_generate)
        buttons.addWidget(self.generate_button)
        outer.addLayout(buttons)
        self.set_capabilities(self._caps)
        self._update_enabled()

    def _choice_combo(self, name: str, values: tuple[str, ...]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        for v in values:
            combo.addItem(v or _DEFAULT_LABEL, v)
        return combo

    # -- profiles and models --

    def set_profiles(self, profiles: list[tuple[str, str]], current: str = "") -> None:
        """`profiles`: (id, name) pairs of profiles that can make images."""
        keep = current or self.profile_id()
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        for pid, name in profiles:
            self.profile_combo.addItem(name, pid)
        i = self.profile_combo.findData(keep)
        self.profile_combo.setCurrentIndex(max(i, 0))
        self.profile_combo.blockSignals(False)
        self._update_enabled()
        self.profileChanged.emit(self.profile_id())

    def profile_id(self) -> str:
        data = self.profile_combo.currentData()
        return str(data) if data else ""

    def set_models(self, models: list[str], default: str = "") -> None:
        """Offer `models`; keep what the user typed, else select `default`."""
        typed = self.model_combo.currentText().strip()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        seen: set[str] = set()
        for m in ([default] if default else []) + models:
            if m and m not in seen:
                seen.add(m)
                self.model_combo.addItem(m)
        self.model_combo.setCurrentText(typed if typed and typed in seen else default or typed)
        self.model_combo.blockSignals(False)

    def set_capabilities(self, caps: FormCapabilities) -> None:
        self._caps = caps
        current = self.size_combo.currentText() or SIZES[0]
        self.size_combo.clear()
        for s in SIZES:
            self.size_combo.addItem(to_notation(s, caps.size_style))
        self.size_combo.setCurrentText(to_notation(current, caps.size_style))
        self.n_spin.setMaximum(max(1, caps.max_n))
        for widget, label, shown in (
            (self.quality_combo, self._quality_label, caps.quality),
            (self.style_combo, self._style_label, caps.style),
            (self.format_combo, self._format_label, caps.response_format),
            (self.seed_box, self._seed_label, caps.seed),
            (self.negative_edit, self._negative_label, caps.negative_prompt),
        ):
            widget.setVisible(shown)
            if label is not None:
                label.setVisible(shown)

    @property
    def capabilities(self) -> FormCapabilities:
        return self._caps

    # -- the record --

    def settings(self) -> FormSettings:
        caps = self._caps
        return FormSettings(
            profile_id=self.profile_id(),
            model=self.model_combo.currentText().strip(),
            prompt=self.prompt_edit.toPlainText().strip(),
            n=self.n_spin.value(),
            size=to_notation(self.size_combo.currentText(), caps.size_style),
            quality=str(self.quality_combo.currentData() or "") if caps.quality else "",
            style=str(self.style_combo.currentData() or "") if caps.style else "",
            response_format=str(self.format_combo.currentData() or "")
            if caps.response_format
            else "",
            seed=self.seed_spin.value() if caps.seed and self.seed_check.isChecked() else None,
            negative_prompt=self.negative_edit.text().strip() if caps.negative_prompt else "",
        )

    def apply(self, s: FormSettings) -> None:
        """Fill the form from `s` ("use these settings")."""
        if s.profile_id:
            i = self.profile_combo.findData(s.profile_id)
            if i >= 0 and i != self.profile_combo.currentIndex():
                self.profile_combo.setCurrentIndex(i)
        if s.model:
            self.model_combo.setCurrentText(s.model)
        self.prompt_edit.setPlainText(s.prompt)
        self.n_spin.setValue(max(1, s.n))
        if s.size:
            self.size_combo.setCurrentText(to_notation(s.size, self._caps.size_style))
        for combo, value in (
            (self.quality_combo, s.quality),
            (self.style_combo, s.style),
            (self.format_combo, s.response_format),
        ):
            i = combo.findData(value)
            if i < 0:
                combo.addItem(value, value)
                i = combo.count() - 1
            combo.setCurrentIndex(i)
        self.seed_check.setChecked(s.seed is not None)
        if s.seed is not None:
            self.seed_spin.setValue(s.seed)
        self.negative_edit.setText(s.negative_prompt)

    def _on_profile_index(self, _i: int) -> None:
        self._update_enabled()
        self.profileChanged.emit(self.profile_id())

    def _update_enabled(self) -> None:
        has_profile = bool(self.profile_id())
        has_prompt = bool(self.prompt_edit.toPlainText().strip())
        self.generate_button.setEnabled(has_profile and has_prompt)
        if not has_profile:
            self.hint.setText("Add a provider with an image model in Settings to generate images.")
        elif not has_prompt:
            self.hint.setText("Write a prompt to generate.")
        else:
            self.hint.setText("")

    def _on_generate(self) -> None:
        if self.generate_button.isEnabled():
            self.generateRequested.emit(self.settings())

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self._on_generate()
            event.accept()
            return
        super().keyPressEvent(event)
