"""An honest empty state for tabs whose features arrive in a coming version (Images, Notes, Videos).

It says what the tab will do and that it is not there yet; it offers no controls that pretend to
work.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


class ComingTab(NamedTuple):
    title: str
    summary: str
    points: tuple[str, ...]


IMAGES = ComingTab(
    "Images",
    "Generate images from a prompt with any provider that offers image models, and keep them in "
    "a searchable gallery on this computer.",
    (
        "Prompt, size, count and quality per provider",
        "A local gallery searchable by prompt",
        "Works with OpenAI-compatible image endpoints",
    ),
)
NOTES = ComingTab(
    "Notes",
    "Write notes beside your chats, and ask questions about them with embeddings computed by your "
    "provider — the notes themselves stay in the local database.",
    (
        "Markdown notes with full-text search",
        "Semantic search using your provider's embedding models",
        "Send a note into a chat as context",
    ),
)
VIDEOS = ComingTab(
    "Videos",
    "Queue text-to-video jobs with providers that offer video models, follow their progress and "
    "keep the finished clips locally.",
    (
        "Both task-based and OpenAI-style video APIs",
        "Progress for long-running jobs, safe to close the app meanwhile",
        "Finished clips saved beside the database",
    ),
)


CARD_WIDTH = 600


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


class EmptyTab(QWidget):
    """A centred card: what the tab will do, and that it arrives in a coming version."""

    def __init__(self, info: ComingTab, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setAccessibleName(f"{info.title} tab")
        self._built = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        self.build()
        super().showEvent(event)

    def build(self) -> None:
        """Lay out the card (on first show, or when the window is attached to its services):
        tabs nobody looks at cost nothing at start-up."""
        if self._built:
            return
        self._built = True
        info = self.info
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 48, 48, 48)
        outer.addStretch(1)

        card = QFrame()
        # A fixed width lets the word-wrapped labels get their height for that width (with only
        # a maximum width and centring, Qt lays them out one line short and clips them).
        card.setFixedWidth(CARD_WIDTH)
        card.setObjectName("comingCard")
        layout = QVBoxLayout(card)
        layout.setSpacing(12)

        heading = QLabel(info.title)
        heading.setProperty("role", "heading")
        heading.setAccessibleName(f"{info.title} heading")
        layout.addWidget(heading)

        badge = QLabel("Coming in a future version")
        badge.setProperty("role", "subheading")
        badge.setAccessibleName("Status: coming in a future version")
        layout.addWidget(badge)

        summary = QLabel(info.summary)
        summary.setWordWrap(True)
        summary.setAccessibleName(f"What the {info.title} tab will do")
        layout.addWidget(summary)

        points = QLabel("\n".join(f"•  {p}" for p in info.points))
        points.setWordWrap(True)
        points.setAccessibleName(f"Planned {info.title} features")
        layout.addWidget(points)

        note = QLabel(
            "This version of Switchboard does not include it yet; nothing on this tab is active."
        )
        note.setWordWrap(True)
        note.setProperty("role", "muted")
        note.setAccessibleName("Not available in this version")
        layout.addWidget(note)

        fit_wrapped_labels(card, CARD_WIDTH)
        outer.addLayout(centered(card))
        outer.addStretch(2)
