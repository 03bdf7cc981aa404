"""The banner a thread shows when the provider profile it was made with no longer exists.

A demo thread opened after a restart without `--demo`, or a thread whose profile was deleted in
Settings: the tab must not quietly send it to another provider. The banner says which profile is
missing and offers a picker of the profiles there are; choosing one emits `profileChosen(id)`
(the tab makes it the thread's profile). Send stays disabled, with the reason, until then.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QWidget

__all__ = ["MissingProfileBanner", "missing_profile_reason"]

PICK_PROMPT = "Choose a provider…"


def missing_profile_reason(profile_id: str) -> str:
    """Why Send is disabled while the thread's profile is missing (also the banner's text)."""
    return (
        f"This thread's provider profile “{profile_id}” no longer exists. "
        "Choose which provider to use for it above, then send."
    )


class MissingProfileBanner(QFrame):
    """"Profile missing" with a picker; hidden while the open thread's profile exists."""

    profileChosen = Signal(str)  # the profile id picked for the thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missingProfileBanner")
        self.setAccessibleName("Provider profile missing")
        self.setProperty("role", "warningCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setObjectName("missingProfileText")
        self.label.setWordWrap(True)
        self.picker = QComboBox(self)
        self.picker.setObjectName("missingProfilePicker")
        self.picker.setAccessibleName("Provider for this thread")
        self.picker.setToolTip("The provider profile this thread uses from now on.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.picker)
        self.picker.activated.connect(self._on_activated)
        self.missing_id = ""
        self.hide()

    def show_missing(self, profile_id: str, profiles: Sequence[tuple[str, str]]) -> None:
        """Say `profile_id` is gone and offer `profiles` ((id, name) pairs); "" hides the banner."""
        self.missing_id = profile_id
        if not profile_id:
            self.hide()
            return
        self.label.setText(
            f"This thread was made with the provider profile “{profile_id}”, which no longer exists. "
            "Which provider should it use?"
        )
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItem(PICK_PROMPT, "")
        for pid, name in profiles:
            self.picker.addItem(name, pid)
        self.picker.setCurrentIndex(0)
        self.picker.setEnabled(bool(profiles))
        self.picker.blockSignals(False)
        self.show()

    def choose(self, profile_id: str) -> bool:
        """Pick `profile_id` as a user would; False when it is not offered."""
        index = self.picker.findData(profile_id)
        if index <= 0:
            return False
        self.picker.setCurrentIndex(index)
        self._on_activated(index)
        return True

    def _on_activated(self, index: int) -> None:
        profile_id = self.picker.itemData(index)
        if isinstance(profile_id, str) and profile_id:
            self.profileChosen.emit(profile_id)
