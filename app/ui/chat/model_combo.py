"""The editable model picker shared by the chat tab's header and the thread-settings panel: one
place for how it is built (pick from the list or type a name) and for what "a model was chosen"
means (picked from the list, or a typed name confirmed with Enter or by leaving the field)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QWidget

__all__ = ["connect_model_chosen", "model_combo"]


def model_combo(
    parent: QWidget, *, object_name: str, accessible: str, edit_accessible: str, min_chars: int
) -> QComboBox:
    """An editable combo box for a model name; typed names are not added to the list."""
    combo = QComboBox(parent)
    combo.setObjectName(object_name)
    combo.setAccessibleName(accessible)
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.setMinimumContentsLength(min_chars)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    line_edit = combo.lineEdit()
    if line_edit is not None:
        line_edit.setPlaceholderText("model name")
        line_edit.setAccessibleName(edit_accessible)
    return combo


def connect_model_chosen(combo: QComboBox, slot: Callable[[], None]) -> None:
    """Call `slot` when a model is picked from the list or a typed one is confirmed."""
    combo.activated.connect(lambda _index: slot())
    line_edit = combo.lineEdit()
    if line_edit is not None:
        line_edit.editingFinished.connect(slot)
