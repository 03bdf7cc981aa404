"""The Thread settings side panel's widgets (profile, model, system prompt, parameters, personas,
the context estimate); `thread_settings.ThreadSettingsController` fills it and listens to it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import style
from app.ui.chat.model_combo import model_combo
from app.ui.chat.params_form import ParamsForm

__all__ = ["ThreadSettingsPanel"]


MIN_WIDTH = 300


class ThreadSettingsPanel(QFrame):
    """The side panel's widgets; the controller fills it and listens to it."""

    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadSettingsPanel")
        self.setAccessibleName("Thread settings")
        self.setFrameShape(QFrame.Shape.NoFrame)

        # Elided, not clipped, when the window is at its narrowest.
        self.title_label = title = style.ElidedLabel("Thread settings", self)
        title.setObjectName("threadSettingsTitle")
        title.setProperty("role", "subheading")
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("closeThreadSettings")
        style.icon_button(self.close_button, "close", "Close (Ctrl+Shift+S)", "Close thread settings")
        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 6, 0)
        top.addWidget(title, 1)
        top.addWidget(self.close_button)

        body = QWidget(self)
        body.setObjectName("threadSettingsBody")
        form = QVBoxLayout(body)
        form.setContentsMargins(10, 4, 10, 10)
        form.setSpacing(8)

        self.kind_label = QLabel(body)
        self.kind_label.setObjectName("threadKind")
        self.kind_label.setAccessibleName("Thread kind")
        self.kind_label.setProperty("role", "muted")
        self.kind_label.setWordWrap(True)

        model_box = QGroupBox("Provider and model", body)
        model_form = QFormLayout(model_box)
        self.profile_combo = QComboBox(model_box)
        self.profile_combo.setObjectName("threadProfileCombo")
        self.profile_combo.setAccessibleName("Provider profile for this thread")
        self.profile_combo.setToolTip("Later replies in this thread use this profile; earlier ones keep theirs.")
        self.model_combo = model_combo(
            model_box, object_name="threadModelCombo", accessible="Model for this thread",
            edit_accessible="Model name for this thread", min_chars=16,
        )
        self.context_label = QLabel(model_box)
        self.context_label.setObjectName("contextIndicator")
        self.context_label.setAccessibleName("Context used")
        profile_label = QLabel("&Profile", model_box)
        profile_label.setBuddy(self.profile_combo)
        model_label = QLabel("&Model", model_box)
        model_label.setBuddy(self.model_combo)
        model_form.addRow(profile_label, self.profile_combo)
        model_form.addRow(model_label, self.model_combo)
        model_form.addRow("Context", self.context_label)

        prompt_box = QGroupBox("System prompt", body)
        prompt_layout = QVBoxLayout(prompt_box)
        self.system_edit = QPlainTextEdit(prompt_box)
        self.system_edit.setObjectName("systemPromptEdit")
        self.system_edit.setAccessibleName("System prompt")
        self.system_edit.setAccessibleDescription("Instructions sent before the conversation in every request of this thread.")
        self.system_edit.setPlaceholderText("e.g. You are a concise assistant. Answer in English.")
        self.system_edit.setTabChangesFocus(True)
        self.system_edit.setMinimumHeight(90)
        self.system_edit.setMaximumHeight(160)
        prompt_layout.addWidget(self.system_edit)

        self.persona_box = QGroupBox("Personas", body)
        self.persona_layout = QVBoxLayout(self.persona_box)

        params_box = QGroupBox("Parameters (only checked ones are sent)", body)
        params_layout = QVBoxLayout(params_box)
        self.params_form = ParamsForm(params_box)
        params_layout.addWidget(self.params_form)

        composer_box = QGroupBox("Composer", body)
        composer_layout = QVBoxLayout(composer_box)
        self.ctrl_enter_check = QCheckBox("Ctrl+Enter sends (Enter adds a line)", composer_box)
        self.ctrl_enter_check.setObjectName("ctrlEnterSends")
        self.ctrl_enter_check.setAccessibleName("Ctrl+Enter sends")
        self.ctrl_enter_check.setToolTip("Off: Enter sends and Shift+Enter adds a line. Applies to every thread.")
        composer_layout.addWidget(self.ctrl_enter_check)

        form.addWidget(self.kind_label)
        form.addWidget(model_box)
        form.addWidget(prompt_box)
        form.addWidget(self.persona_box)
        form.addWidget(params_box)
        form.addWidget(composer_box)
        form.addStretch(1)

        self.scroll_area = QScrollArea(self)
        self.scroll_area.setObjectName("threadSettingsScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addLayout(top)
        outer.addWidget(self.scroll_area, 1)

        self.close_button.clicked.connect(self.closeRequested)

    def minimumSizeHint(self) -> QSize:
        """Never narrower than the form plus the scroll bar: the form cannot scroll sideways,
        so a narrower panel cut its spin boxes off at the right edge. Asked again each time, as
        the form widens once personas and a profile's models are filled in."""
        hint = super().minimumSizeHint()
        body = self.scroll_area.widget()
        bar = self.scroll_area.verticalScrollBar().sizeHint().width()
        need = body.minimumSizeHint().width() + bar + style.SPACE["xs"] if body is not None else 0
        return QSize(max(MIN_WIDTH, need), hint.height())
