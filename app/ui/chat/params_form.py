"""The sampling-parameters form of the Thread settings panel: each parameter with an explicit
"set" box, so an unset parameter is `None` and never sent; stop sequences one per line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.protocol.types import GenerationParams
from app.ui.chat.thread_draft import MAX_STOP_SEQUENCES, format_stop, parse_stop

__all__ = ["ParamsForm"]


class _NumberParam:
    """A "set" checkbox and a spin box; unchecked means the parameter is not sent."""

    def __init__(
        self,
        parent: QWidget,
        name: str,
        label: str,
        spin: QSpinBox | QDoubleSpinBox,
        default: float,
        tip: str,
    ) -> None:
        self.name = name
        self.check = QCheckBox(label, parent)
        self.check.setObjectName(f"param_{name}_set")
        self.check.setAccessibleName(f"Set {label}")
        self.check.setToolTip(f"{tip}\nUnchecked: not sent, the server's default applies.")
        self.spin = spin
        self.spin.setObjectName(f"param_{name}")
        self.spin.setAccessibleName(label)
        self.spin.setToolTip(tip)
        self.set_value(default)
        self.check.setChecked(False)
        self.spin.setEnabled(False)
        self.spin.setKeyboardTracking(False)
        self.check.toggled.connect(self.spin.setEnabled)

    def value(self) -> float | int | None:
        if not self.check.isChecked():
            return None
        return self.spin.value()

    def set_value(self, value: float | None) -> None:
        self.check.setChecked(value is not None)
        if value is not None:
            spin = self.spin
            if isinstance(spin, QSpinBox):
                spin.setValue(int(value))
            else:
                spin.setValue(float(value))


def _double(parent: QWidget, lo: float, hi: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    return spin


def _int(parent: QWidget, lo: int, hi: int) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(lo, hi)
    spin.setGroupSeparatorShown(True)
    return spin


class ParamsForm(QWidget):
    """temperature, top_p, top_k, max_tokens, stop, presence/frequency penalty, seed, n."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsForm")
        self.setAccessibleName("Sampling parameters")
        self._loading = False
        self.rows: dict[str, _NumberParam] = {
            "temperature": _NumberParam(self, "temperature", "Temperature", _double(self, 0, 2, 0.1), 1.0,
                                        "Randomness: 0 is nearly deterministic, 2 is very random."),
            "top_p": _NumberParam(self, "top_p", "Top p", _double(self, 0, 1, 0.05), 1.0,
                                  "Nucleus sampling: only the most likely tokens adding up to this probability."),
            "top_k": _NumberParam(self, "top_k", "Top k", _int(self, 1, 1000), 40,
                                  "Only the k most likely tokens. Not every OpenAI-compatible server accepts it."),
            "max_tokens": _NumberParam(self, "max_tokens", "Max tokens", _int(self, 1, 2_000_000), 1024,
                                       "The longest reply, in tokens."),
            "presence_penalty": _NumberParam(self, "presence_penalty", "Presence penalty", _double(self, -2, 2, 0.1), 0.0,
                                             "Positive values push the model towards new topics."),
            "frequency_penalty": _NumberParam(self, "frequency_penalty", "Frequency penalty", _double(self, -2, 2, 0.1), 0.0,
                                              "Positive values discourage repeating the same words."),
            "seed": _NumberParam(self, "seed", "Seed", _int(self, 0, 2_147_483_647), 0,
                                 "Ask for repeatable sampling (servers that support it)."),
            "n": _NumberParam(self, "n", "Choices (n)", _int(self, 1, 16), 1,
                              "How many alternative replies to generate; the others become branches."),
        }
        self.stop_edit = QPlainTextEdit(self)
        self.stop_edit.setObjectName("param_stop")
        self.stop_edit.setAccessibleName("Stop sequences")
        self.stop_edit.setAccessibleDescription(
            f"Up to {MAX_STOP_SEQUENCES}, one per line or separated by commas. Empty: not sent. \\n is a newline."
        )
        self.stop_edit.setPlaceholderText("Stop sequences (one per line or comma-separated, up to 4; empty = not set)")
        self.stop_edit.setTabChangesFocus(True)
        self.stop_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)
        self.stop_error = QLabel(self)
        self.stop_error.setObjectName("stopError")
        self.stop_error.setProperty("role", "error")
        self.stop_error.setWordWrap(True)
        self.stop_error.hide()
        self.reset_button = QPushButton("Unset all", self)
        self.reset_button.setObjectName("resetParamsButton")
        self.reset_button.setAccessibleName("Unset all parameters")
        self.reset_button.setToolTip("Send no parameters: the server's defaults apply.")
        self.reset_button.setAutoDefault(False)

        grid = QFormLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for row in self.rows.values():
            grid.addRow(row.check, row.spin)
            row.check.toggled.connect(self._emit_changed)
            row.spin.valueChanged.connect(self._emit_changed)
        stop_label = QLabel("Stop", self)
        stop_label.setBuddy(self.stop_edit)
        grid.addRow(stop_label, self.stop_edit)
        grid.addRow(self.stop_error)
        grid.addRow(self.reset_button)
        self.stop_edit.textChanged.connect(self._emit_changed)
        self.reset_button.clicked.connect(lambda: self.set_params(GenerationParams(), notify=True))

    def set_params(self, params: GenerationParams, *, notify: bool = False) -> None:
        self._loading = True
        try:
            for name, row in self.rows.items():
                row.set_value(getattr(params, name))
            self.stop_edit.setPlainText(format_stop(params.stop))
        finally:
            self._loading = False
        self._check_stop()
        if notify:
            self.changed.emit()

    def params(self, base: GenerationParams | None = None) -> GenerationParams:
        """The parameters as set; fields this form does not show are kept from `base`."""
        values: dict[str, Any] = {name: row.value() for name, row in self.rows.items()}
        stops = parse_stop(self.stop_edit.toPlainText())[:MAX_STOP_SEQUENCES]
        values["stop"] = stops or None
        return dataclasses.replace(base or GenerationParams(), **values)

    def _check_stop(self) -> None:
        count = len(parse_stop(self.stop_edit.toPlainText()))
        if count > MAX_STOP_SEQUENCES:
            self.stop_error.setText(f"{count} stop sequences: only the first {MAX_STOP_SEQUENCES} are sent.")
        self.stop_error.setVisible(count > MAX_STOP_SEQUENCES)

    def _emit_changed(self, *_args: Any) -> None:
        self._check_stop()
        if not self._loading:
            self.changed.emit()
