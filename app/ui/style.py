"""Switchboard's visual language in one place (docs/VISUAL.md): spacing, type sizes, the reading
width of messages, icon buttons, primary/secondary buttons, badges, empty states and error cards.

Widgets opt in through small helpers that set a `role` property; the rules themselves are part of
the application style sheet (`sheet()`, added by `app.ui.theme.ThemeManager.apply`), so light and
dark follow the theme without any widget re-styling itself. Icons are the SVGs shipped in
`app/resources/icons/` (never emoji: the bundled fonts lack most of them). The Chat tab and the
Settings dialog use this module; the Images and Videos tabs can adopt it later.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.resources import resource_path

__all__ = [
    "ICON_SIZE",
    "READING_CHARS",
    "SPACE",
    "TYPE_PT",
    "ElidedLabel",
    "badge",
    "empty_state",
    "error_card",
    "icon",
    "icon_button",
    "primary",
    "secondary",
    "set_badge_tone",
    "sheet",
]

# Spacing scale (px): every margin and gap is one of these, so panels line up across tabs.
SPACE = {"xs": 2, "s": 4, "m": 8, "l": 12, "xl": 16, "xxl": 24}
# Type sizes (pt) relative to the 10 pt body the theme sets.
TYPE_PT = {"small": 8.8, "body": 10.0, "subheading": 12.0, "heading": 18.0}
# Messages are at most this many average characters wide, centred in a wider window: long lines
# are hard to read and a 1600 px line of prose loses the eye on the way back.
READING_CHARS = 80
ICON_SIZE = QSize(16, 16)

# The one colour the shipped SVGs are drawn in; icon() repaints it.
_SVG_INK = "#777777"
# Neutral icons keep the mid grey: it reads on both the light and the dark button colours
# (>= 3:1), so an icon made once needs no re-colouring when the theme switches.
NEUTRAL_INK = _SVG_INK
ON_ACCENT_INK = "#ffffff"

BADGE_TONES = ("info", "ok", "warn", "demo", "muted")


@cache
def icon(name: str, ink: str = NEUTRAL_INK) -> QIcon:
    """`app/resources/icons/<name>.svg` drawn in `ink` (another ink than the shipped one is
    rendered at 2x for sharp HiDPI screens).

    An empty icon if the file is missing (a broken install shows text buttons, not a crash).
    """
    path = resource_path("icons", f"{name}.svg")
    if not path.is_file():
        return QIcon()
    if ink == _SVG_INK:
        # Drawn as shipped: Qt's SVG icon engine renders it when first painted, at the size
        # and pixel ratio asked for (sharp everywhere), instead of at start-up.
        return QIcon(str(path))
    svg = path.read_text(encoding="utf-8").replace(_SVG_INK, ink)
    svg = svg.replace('width="16" height="16"', 'width="32" height="32"', 1)
    pixmap = QPixmap()
    if not pixmap.loadFromData(svg.encode("utf-8"), "SVG"):
        return QIcon(str(path))
    pixmap.setDevicePixelRatio(2.0)
    return QIcon(pixmap)


def is_selected(option: Any) -> bool:
    """Whether an item view's delegate is painting `option` (a QStyleOptionViewItem) selected.

    QStyle is imported here, on the first row painted, not at start-up: PySide6 builds the
    Python types of all of QStyle's ~20 enums (~600 members, ~45 M instructions) on its first
    touch, which the composer accepting typing does not need (issue 9).
    """
    from PySide6.QtWidgets import QStyle

    return bool(option.state & QStyle.StateFlag.State_Selected)


def icon_button(
    button: QAbstractButton, name: str, tooltip: str, accessible: str, *, ink: str = NEUTRAL_INK
) -> QAbstractButton:
    """Give `button` an icon, a tooltip and an accessible name (an icon alone says nothing to a
    screen reader, and the tooltip names the shortcut). Tool buttons become icon-only."""
    button.setIcon(icon(name, ink))
    button.setIconSize(ICON_SIZE)
    button.setToolTip(tooltip)
    button.setAccessibleName(accessible)
    if isinstance(button, QToolButton):
        button.setText("")
        button.setAutoRaise(True)
        button.setProperty("role", "iconButton")
    return button


class ElidedLabel(QLabel):
    """A one-line label (a header, a name) that ends in "…" when narrower than its text, with
    the whole text in its tooltip, and never asks for more width than it is given."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def text(self) -> str:  # the whole text for callers; the screen shows it elided
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        from PySide6.QtCore import Qt  # (not at import: the Qt namespace's enums cost ~20 ms)

        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 1))
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 2, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())


def _restyle(widget: QWidget) -> None:
    # A property change only applies once the style re-polishes the widget. One not polished
    # yet (not shown yet) gets it with its first polish; not asking for its style() then also
    # keeps PySide6 from building QStyle's enums at start-up (see is_selected).
    from PySide6.QtCore import Qt

    if not widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):
        return
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def primary(button: QPushButton) -> QPushButton:
    """The one main action of a place (Send, Save): filled with the accent colour."""
    button.setProperty("role", "primary")
    _restyle(button)
    return button


def secondary(button: QPushButton) -> QPushButton:
    """Every other action: outlined, quieter than the primary one."""
    button.setProperty("role", "secondary")
    _restyle(button)
    return button


def badge(text: str, tone: str = "info", parent: QWidget | None = None) -> QLabel:
    """A small rounded label for a state (Demo, Keychain, Default, a count)."""
    label = QLabel(text, parent)
    label.setProperty("role", "badge")
    set_badge_tone(label, tone)
    return label


def set_badge_tone(label: QLabel, tone: str) -> None:
    label.setProperty("tone", tone if tone in BADGE_TONES else "info")
    _restyle(label)


def empty_state(title: str, hint: str, parent: QWidget | None = None) -> QFrame:
    """A centred title and one sentence saying what to do next (never a blank area)."""
    frame = QFrame(parent)
    frame.setProperty("role", "emptyState")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(SPACE["xxl"], SPACE["xxl"], SPACE["xxl"], SPACE["xxl"])
    layout.setSpacing(SPACE["m"])
    head = QLabel(title, frame)
    head.setProperty("role", "subheading")
    head.setObjectName("emptyStateTitle")
    body = QLabel(hint, frame)
    body.setProperty("role", "muted")
    body.setObjectName("emptyStateHint")
    body.setWordWrap(True)
    layout.addStretch(1)
    layout.addWidget(head)
    layout.addWidget(body)
    layout.addStretch(1)
    return frame


def error_card(frame: QFrame) -> QFrame:
    """Style `frame` as an error card: a tinted box with a left rule, its labels in the error
    colour. Its text must be a sentence the user can act on (app.core.errors)."""
    frame.setProperty("role", "errorCard")
    _restyle(frame)
    return frame


def sheet(dark: bool, accents: dict[str, str], highlight: str) -> str:
    """The style-sheet rules of this visual language, for the theme's colours."""
    a = accents
    outline = "#4a4f59" if dark else "#b9bec8"
    hover = "#353942" if dark else "#dde1e7"
    return f"""
    QPushButton[role="primary"] {{
        background: {highlight}; color: #ffffff; border: 1px solid {highlight};
        border-radius: 5px; padding: 4px 14px; font-weight: 600;
    }}
    QPushButton[role="primary"]:hover {{ background: {highlight}; border-color: {a["info_fg"]}; }}
    QPushButton[role="primary"]:disabled {{ background: {outline}; border-color: {outline}; }}
    QPushButton[role="secondary"] {{
        background: transparent; border: 1px solid {outline};
        border-radius: 5px; padding: 4px 12px;
    }}
    QPushButton[role="secondary"]:hover {{ background: {hover}; }}
    QToolButton[role="iconButton"] {{ border: 1px solid transparent; border-radius: 5px; padding: 3px; }}
    QToolButton[role="iconButton"]:hover {{ background: {hover}; border-color: {outline}; }}
    QToolButton[role="iconButton"]:checked {{ background: {hover}; border-color: {highlight}; }}
    QLabel[role="badge"] {{ border-radius: 8px; padding: 1px 8px; font-size: {TYPE_PT["small"]}pt; font-weight: 600; }}
    QLabel[role="badge"][tone="info"] {{ background: {a["info_bg"]}; color: {a["info_fg"]}; }}
    QLabel[role="badge"][tone="ok"] {{ background: {a["ok_bg"]}; color: {a["ok"]}; }}
    QLabel[role="badge"][tone="warn"] {{ background: {a["warn_bg"]}; color: {a["warn_fg"]}; }}
    QLabel[role="badge"][tone="demo"] {{ background: {a["demo_bg"]}; color: {a["demo_fg"]}; }}
    QLabel[role="badge"][tone="muted"] {{ background: {hover}; color: {a["muted"]}; }}
    QFrame[role="errorCard"] {{
        background: {a["warn_bg"]}; border-left: 3px solid {a["error"]}; border-radius: 4px;
    }}
    QFrame[role="errorCard"] QLabel {{ color: {a["warn_fg"]}; }}
    """
