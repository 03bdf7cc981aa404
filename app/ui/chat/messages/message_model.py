"""The list model of a chat thread's *visible path*: the messages from the root to the chosen leaf.

A thread is a tree (edits and regenerations branch it); the view shows one path through it.
Each row is a `ChatRow`, a small UI-side copy of a stored `Message` plus a `version` that changes on
every change (unique in the process), so renderers can cache by `(id, version, width)`.

Rows for a reply that is still streaming are updated in place (`update_row`); only that row's
`dataChanged` is emitted, so nothing else is re-rendered. Rows also carry what the view paints
besides the stored message: the position among siblings (`‹ 2/3 ›`), the turns left out of the
request, and how many alternatives stream beside the reply.

A long thread is a *window* of its path: opening it reads the newest rows that fill the screen
(plus a margin), and older rows are inserted above them as the user scrolls up; a jump to an old
message (a search hit) opens the window around it, with the newer rows read as the user scrolls
down. `has_older` / `has_newer` say what lies beyond the window; the tab reads it by keyset from
SQLite (`ThreadRepository.path_above` / `path_below`).

Why newer rows use Qt's `canFetchMore`/`fetchMore` and older ones `can_fetch_older`/
`fetch_older`: Qt's views call `fetchMore` whenever the *last* row is visible (and on every
layout while it stays visible). A chat view always shows its last row, so "more" can only mean
the rows past the end; the rows above the first one are asked for by `MessageView` when it is
scrolled near its top.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.core.protocol.types import Usage

__all__ = [
    "ROW_ROLE",
    "ChatRow",
    "MessageModel",
    "image_parts",
    "new_temp_id",
    "row_from_message",
]

ROW_ROLE = Qt.ItemDataRole.UserRole + 1

ACCESSIBLE_CHARS = 4_000  # of a message's text given as its display/accessible text

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}

# Temporary ids for rows shown before the database has assigned one (negative, never reused).
_temp_ids = itertools.count(-1, -1)
# Row versions are unique for the whole process, not per row: a row reloaded from the database
# (another branch shown, a thread reopened) can never meet a stale cache entry of the same id.
_versions = itertools.count(1)


def new_temp_id() -> int:
    return next(_temp_ids)


@dataclass
class ChatRow:
    """What the message view needs of one message."""

    id: int
    role: str
    content: str = ""
    reasoning: str = ""
    refusal: str = ""
    model: str | None = None
    status: str = "complete"  # complete | streaming | interrupted | cancelled | error
    error: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    parent_id: int | None = None
    version: int = 0
    reasoning_expanded: bool = False
    # Branch navigation: this message's place among its siblings (0-based) and how many there are.
    sibling_index: int = 0
    sibling_count: int = 1
    # Streaming facts that are not stored: turns left out to fit the context window, and how many
    # other choices (n > 1) are streaming beside this one.
    dropped_turns: int = 0
    alternatives_streaming: int = 0
    # The message's image attachments as stored (`Message.parts` records of type "image":
    # {"mime", "data_b64"} or {"mime", "url"}); the view paints them as thumbnails.
    images: tuple[dict[str, Any], ...] = ()
    # Not stored either: what a pending reply waits for ("Retrying 2/3 in 1.5 s", a non-streamed
    # reply), shown instead of "Waiting for the first token"; and `unsaved`, a reply whose text
    # could not be written (disk full, too large): the text shown is the only copy.
    waiting: str = ""
    unsaved: bool = False

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role.title() or "Message")

    @property
    def is_streaming(self) -> bool:
        return self.status == "streaming"

    def carry_view_state(self, old: ChatRow) -> None:
        """Keep what the view knew of `old` that the database does not store (a reloaded row)."""
        self.reasoning_expanded = old.reasoning_expanded
        self.dropped_turns = old.dropped_turns
        self.sibling_index, self.sibling_count = old.sibling_index, old.sibling_count

    @property
    def has_siblings(self) -> bool:
        return self.sibling_count > 1

    @property
    def is_stored(self) -> bool:
        """True once the database has given the row its id (temporary ids are negative)."""
        return self.id > 0

    def accessible_text(self) -> str:
        parts = [self.role_label]
        if self.model and self.role == "assistant":
            parts[0] += f" ({self.model})"
        if self.content:
            # A screen reader gets the start of a big message, not megabytes per query.
            text = self.content
            parts.append(text if len(text) <= ACCESSIBLE_CHARS else text[:ACCESSIBLE_CHARS] + "…")
        if self.images:
            n = len(self.images)
            parts.append(f"{n} image{'s' if n != 1 else ''} attached")
        if self.status == "error":
            parts.append(f"Error: {self.error or 'the request failed'}")
        elif self.status in ("cancelled", "interrupted"):
            parts.append(f"Reply {self.status}")
        elif self.status == "streaming" and self.waiting:
            parts.append(self.waiting)
        if self.unsaved:
            parts.append("Not saved: copy the text or save it to a file")
        if self.has_siblings:
            parts.append(f"Version {self.sibling_index + 1} of {self.sibling_count}")
        return ": ".join(parts[:2]) + ("" if len(parts) < 3 else ". " + ". ".join(parts[2:]))


def image_parts(parts: Any) -> tuple[dict[str, Any], ...]:
    """The image records among a stored message's `parts` (other kinds are not shown)."""
    return tuple(p for p in parts or () if isinstance(p, dict) and p.get("type") == "image")


def row_from_message(message: Any) -> ChatRow:
    """A ChatRow from a stored `app.core.store.records.Message` (read by attribute name)."""
    return ChatRow(
        id=int(message.id),
        role=str(message.role),
        content=message.content or "",
        reasoning=getattr(message, "reasoning", "") or "",
        refusal=getattr(message, "refusal", "") or "",
        model=getattr(message, "model", None),
        status=getattr(message, "status", "complete") or "complete",
        error=getattr(message, "error", None),
        usage=getattr(message, "usage", None),
        finish_reason=getattr(message, "finish_reason", None),
        ttft_ms=getattr(message, "ttft_ms", None),
        tokens_per_s=getattr(message, "tokens_per_s", None),
        parent_id=getattr(message, "parent_id", None),
        images=image_parts(getattr(message, "parts", None)),
    )


class MessageModel(QAbstractListModel):
    """Rows of (a window of) the visible path; `ROW_ROLE` returns the `ChatRow`.

    `olderRequested` / `newerRequested` ask the owner (the tab) to read the rows beyond the
    window; it inserts them with `prepend_rows` / `extend_rows`.
    """

    olderRequested = Signal()
    newerRequested = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ChatRow] = []
        self.has_older = False
        self.has_newer = False
        self.fetching = False  # a read of older or newer rows is under way
        # Given by the view: a row's actions in words (AccessibleDescriptionRole), for screen
        # readers, since the strip's buttons are painted icons.
        self.describe_actions: Callable[[ChatRow], str] | None = None

    # --- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row.accessible_text()
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and self.describe_actions is not None:
            return self.describe_actions(row)
        if role == Qt.ItemDataRole.ToolTipRole and row.status == "error":
            return row.error
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        """Rows past the end: only a window opened around an old message has them."""
        return not parent.isValid() and self.has_newer and not self.fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self.fetching = True
            self.newerRequested.emit()

    def can_fetch_older(self) -> bool:
        """Rows above the first one (the first one is stored, so the read has a key)."""
        return self.has_older and not self.fetching and bool(self._rows) and self._rows[0].is_stored

    def fetch_older(self) -> None:
        if self.can_fetch_older():
            self.fetching = True
            self.olderRequested.emit()

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # --- editing ---------------------------------------------------------------------------

    @property
    def rows(self) -> list[ChatRow]:
        """The rows (read-only use; change them through the methods below)."""
        return self._rows

    def row(self, i: int) -> ChatRow:
        return self._rows[i]

    @staticmethod
    def _stamped(rows: Iterable[ChatRow]) -> list[ChatRow]:
        out = list(rows)
        for row in out:
            row.version = next(_versions)
        return out

    def set_rows(self, rows: Iterable[ChatRow], *, has_older: bool = False, has_newer: bool = False) -> None:
        self.beginResetModel()
        self._rows = self._stamped(rows)
        self.has_older, self.has_newer = has_older, has_newer
        self.fetching = False
        self.endResetModel()

    def prepend_rows(self, rows: Iterable[ChatRow], *, has_older: bool) -> None:
        """Insert older rows above the first one (the view keeps what is on screen in place)."""
        new = self._stamped(rows)
        self.has_older = has_older
        if new:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._rows[:0] = new
            self.endInsertRows()

    def extend_rows(self, rows: Iterable[ChatRow], *, has_newer: bool) -> None:
        """Append newer rows below the last one (a window opened around an old message)."""
        new = self._stamped(rows)
        self.has_newer = has_newer
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()

    def clear(self) -> None:
        self.set_rows([])

    def append_row(self, row: ChatRow) -> int:
        i = len(self._rows)
        row.version = next(_versions)
        self.beginInsertRows(QModelIndex(), i, i)
        self._rows.append(row)
        self.endInsertRows()
        return i

    def remove_rows_from(self, start: int) -> None:
        """Drop rows `start..end` (e.g. the tail of a path being replaced by a retry).

        What follows is a new branch of the path, so nothing lies below the window any more.
        """
        self.has_newer = False
        if start >= len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), start, len(self._rows) - 1)
        del self._rows[start:]
        self.endRemoveRows()

    def replace_rows_from(self, start: int, rows: Iterable[ChatRow]) -> None:
        """Replace the tail `start..end` with `rows` (another branch below row `start - 1`).

        Rows above `start` keep their cached layouts and the scroll position is not reset.
        """
        self.remove_rows_from(start)
        new = self._stamped(rows)
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()

    def find_row(self, message_id: int) -> int:
        for i in range(len(self._rows) - 1, -1, -1):
            if self._rows[i].id == message_id:
                return i
        return -1

    def update_row(self, i: int, **changes: Any) -> ChatRow:
        """Replace fields of row `i`, bump its version and emit dataChanged for it alone."""
        old = self._rows[i]
        new = replace(old, **changes, version=next(_versions))
        self._rows[i] = new
        index = self.index(i, 0)
        self.dataChanged.emit(index, index, [ROW_ROLE])
        return new
