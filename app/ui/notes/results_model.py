"""Search results as a Qt list model, and the pure text of a row (location, highlighted snippet).

The model holds `NoteHit` records (the service's dataclass) and exposes them under `HIT_ROLE`;
the delegate (results_view.py) paints them. Rows are replaced wholesale per search: a search
returns at most a few dozen hits, so there is nothing to page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.core.services.notes import HIGHLIGHT_END, HIGHLIGHT_START, NoteHit

__all__ = ["HIT_ROLE", "HitsModel", "hit_location", "hit_title", "snippet_html", "snippet_text"]

HIT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_Index = QModelIndex | QPersistentModelIndex


def hit_title(hit: NoteHit) -> str:
    """The file name (or the app note's title) a result is listed under."""
    if hit.path:
        return Path(hit.path).name
    return hit.title or "Untitled note"


def hit_location(hit: NoteHit) -> str:
    """Where a hit is, e.g. "Networking › VPN · lines 4–9" (or "page 3" for a PDF)."""
    parts: list[str] = []
    if hit.heading_path:
        parts.append(" › ".join(hit.heading_path))
    if hit.page is not None:
        parts.append(f"page {hit.page}")
    elif hit.line_end > hit.line_start:
        parts.append(f"lines {hit.line_start}–{hit.line_end}")
    else:
        parts.append(f"line {hit.line_start}")
    return " · ".join(parts)


def snippet_text(snippet: str) -> str:
    """The snippet without its highlight markers (for accessibility and copying)."""
    return " ".join(snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "").split())


def snippet_html(snippet: str, *, mark: str = "#fff1a8", text: str = "", max_chars: int = 0) -> str:
    """The snippet as escaped HTML with its marked words in a highlighted <b>; cut with "…"
    after `max_chars` visible characters (0: never).

    An unbalanced marker (a snippet cut inside a match) closes at the end of the snippet.
    """
    out: list[str] = []
    open_ = False
    left = max_chars if max_chars > 0 else -1
    style = f"background-color:{mark};" + (f"color:{text};" if text else "")
    for piece in _split_markers(" ".join(snippet.split())):
        if piece == HIGHLIGHT_START:
            if not open_:
                out.append(f'<b style="{style}">')
                open_ = True
        elif piece == HIGHLIGHT_END:
            if open_:
                out.append("</b>")
                open_ = False
        else:
            if left == 0:
                continue
            if 0 < left < len(piece):
                piece = piece[:left].rstrip() + "…"
                left = 0
            elif left > 0:
                left -= len(piece)
            out.append(html.escape(piece))
    if open_:
        out.append("</b>")
    return "".join(out)


def _split_markers(text: str) -> list[str]:
    pieces: list[str] = []
    buf: list[str] = []
    for ch in text:
        if ch in (HIGHLIGHT_START, HIGHLIGHT_END):
            if buf:
                pieces.append("".join(buf))
                buf = []
            pieces.append(ch)
        else:
            buf.append(ch)
    if buf:
        pieces.append("".join(buf))
    return pieces


class HitsModel(QAbstractListModel):
    """The current search's hits, best first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.hits: list[NoteHit] = []
        self.query = ""

    def set_hits(self, hits: Sequence[NoteHit], query: str = "") -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.query = query
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits([], "")

    def hit(self, row: int) -> NoteHit | None:
        return self.hits[row] if 0 <= row < len(self.hits) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt default)
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        hit = self.hit(index.row()) if index.isValid() else None
        if hit is None:
            return None
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.DisplayRole:
            return hit_title(hit)
        if role == Qt.ItemDataRole.ToolTipRole:
            return hit.path or hit_title(hit)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{hit_title(hit)}, {hit_location(hit)}: {snippet_text(hit.snippet)}"
        return None
