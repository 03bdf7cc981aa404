"""Two layout helpers for the centred cards of the first paint (the first-run panel, the
loading card): centring without an alignment flag, and wrapped labels given their full height."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

__all__ = ["centered", "fit_wrapped_labels"]


def centered(widget: QWidget) -> QHBoxLayout:
    """A row holding `widget` centred between two stretches.

    Used instead of `Qt.AlignmentFlag` in widgets of the first paint: the first use of any enum
    of PySide6's `Qt` namespace builds all of them, which costs ~100 ms at start-up.
    """
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addStretch(1)
    row.addWidget(widget)
    row.addStretch(1)
    return row


def fit_wrapped_labels(card: QWidget, width: int) -> None:
    """Give each word-wrapped label in `card` the height its text needs at `width`.

    A centred card's layout sizes wrapped labels from their size hint, which can be a line short;
    with a fixed card width the needed height is known up front.
    """
    layout = card.layout()
    margins = layout.contentsMargins() if layout is not None else None
    inner = width - (margins.left() + margins.right() if margins else 0)
    for label in card.findChildren(QLabel):
        needed = label.heightForWidth(inner) if label.wordWrap() else -1
        if needed > 0:
            label.setMinimumHeight(needed)
