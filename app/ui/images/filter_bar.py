"""The gallery's search and filter row: prompt search, profile, model, size, date range, starred.

It builds a `GalleryQuery` (a UI record; the controller maps it to the service's filter) and
emits `queryChanged` — typing is debounced (250 ms) so a fast typist runs one search, not ten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QToolButton, QWidget

from app.ui.images.icons import icon

__all__ = ["DATE_RANGES", "FilterBar", "GalleryQuery", "date_bounds"]

ALL = "__all__"
# (label, key): the date choices; bounds computed when the query is built.
DATE_RANGES = (
    ("Any date", ""),
    ("Today", "today"),
    ("Last 7 days", "7d"),
    ("Last 30 days", "30d"),
    ("This year", "year"),
    ("Older than 30 days", "older30"),
)


@dataclass(frozen=True)
class GalleryQuery:
    text: str = ""
    profile_id: str | None = None
    model: str | None = None
    size: str | None = None
    since: float | None = None
    until: float | None = None
    starred: bool | None = None

    @property
    def empty(self) -> bool:
        return self == GalleryQuery()


def date_bounds(key: str, now: float | None = None) -> tuple[float | None, float | None]:
    """(since, until) epoch seconds for a DATE_RANGES key, in local time."""
    now = time.time() if now is None else now
    lt = time.localtime(now)
    midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    if key == "today":
        return midnight, None
    if key == "7d":
        return midnight - 6 * 86400, None
    if key == "30d":
        return midnight - 29 * 86400, None
    if key == "year":
        return time.mktime((lt.tm_year, 1, 1, 0, 0, 0, 0, 0, -1)), None
    if key == "older30":
        return None, midnight - 29 * 86400
    return None, None


class FilterBar(QWidget):
    queryChanged = Signal(object)  # GalleryQuery

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Gallery filters")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts…")
        self.search.setAccessibleName("Search prompts")
        self.search.setClearButtonEnabled(True)
        row.addWidget(self.search, 2)
        self.profile_combo = self._combo("Profile", "All profiles")
        self.model_combo = self._combo("Model", "All models")
        self.size_combo = self._combo("Size", "All sizes")
        self.date_combo = QComboBox()
        self.date_combo.setAccessibleName("Date")
        for label, key in DATE_RANGES:
            self.date_combo.addItem(label, key)
        self.date_combo.currentIndexChanged.connect(self._emit)
        for combo in (self.profile_combo, self.model_combo, self.size_combo, self.date_combo):
            row.addWidget(combo, 1)
        self.starred_button = QToolButton()
        self.starred_button.setCheckable(True)
        self.starred_button.setIcon(icon("star"))
        self.starred_button.setText("Starred")
        self.starred_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.starred_button.setToolTip("Show only starred images")
        self.starred_button.setAccessibleName("Only starred")
        self.starred_button.toggled.connect(self._emit)
        row.addWidget(self.starred_button)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._emit)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self._last = GalleryQuery()

    def _combo(self, name: str, all_label: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.addItem(all_label, ALL)
        combo.currentIndexChanged.connect(self._emit)
        return combo

    def set_facets(
        self, profiles: list[tuple[str, str]], models: list[str], sizes: list[str]
    ) -> None:
        """Fill the menus (profiles as (id, name)); keep what is selected."""
        for combo, values in (
            (self.profile_combo, profiles),
            (self.model_combo, [(m, m) for m in models]),
            (self.size_combo, [(s, s) for s in sizes]),
        ):
            keep = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for value, label in values:
                combo.addItem(label, value)
            i = combo.findData(keep)
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)

    def query(self) -> GalleryQuery:
        def pick(combo: QComboBox) -> str | None:
            v = combo.currentData()
            return None if v in (None, ALL) else str(v)

        since, until = date_bounds(str(self.date_combo.currentData() or ""))
        return GalleryQuery(
            text=self.search.text().strip(),
            profile_id=pick(self.profile_combo),
            model=pick(self.model_combo),
            size=pick(self.size_combo),
            since=since,
            until=until,
            starred=True if self.starred_button.isChecked() else None,
        )

    def clear(self) -> None:
        for w in (
            self.profile_combo,
            self.model_combo,
            self.size_combo,
            self.date_combo,
            self.search,
            self.starred_button,
        ):
            w.blockSignals(True)
        self.search.clear()
        for combo in (self.profile_combo, self.model_combo, self.size_combo, self.date_combo):
            combo.setCurrentIndex(0)
        self.starred_button.setChecked(False)
        for w in (
            self.profile_combo,
            self.model_combo,
            self.size_combo,
            self.date_combo,
            self.search,
            self.starred_button,
        ):
            w.blockSignals(False)
        self._emit()

    def _emit(self, *_args: object) -> None:
        self._debounce.stop()
        q = self.query()
        if q != self._last:
            self._last = q
            self.queryChanged.emit(q)
