"""What a message offers, as pure rules: no Qt, no state, easy to test.

The view uses these to decide what to paint and offer (the action strip, the context menu, the
keys); `message_actions.MessageActions` uses them to refuse what a row does not offer.

- `actions_for(row)`, `can_continue(row)`: the actions of one row, in display order;
- `ACTION_LABELS`, `ACTION_SHORTCUTS`, `BUSY_MESSAGE`: their words and keys;
- `sibling_positions`, `subtree_size`, `delete_question`: the version navigator and the delete
  question, from the thread's tree (`app.core.store.tree` walks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.store.tree import subtree_ids
from app.ui.chat.messages.message_model import ChatRow

__all__ = [
    "ACTION_LABELS",
    "ACTION_SHORTCUTS",
    "BUSY_MESSAGE",
    "actions_for",
    "can_continue",
    "delete_question",
    "sibling_positions",
    "subtree_size",
]

# Painted strip / context menu labels (the strip shows them in this order).
ACTION_LABELS: dict[str, str] = {
    "copy": "Copy",
    "save_note": "Save as note",
    "edit": "Edit",
    "regenerate": "Regenerate",
    "continue": "Continue",
    "delete": "Delete",
}
# Keys on the selected message (the view handles them; the menu shows them).
ACTION_SHORTCUTS: dict[str, str] = {
    "copy": "Ctrl+C",
    "edit": "F2",
    "regenerate": "Ctrl+Shift+R",
    "continue": "Ctrl+Shift+Return",
    "delete": "Del",
    "prev": "Alt+Left",
    "next": "Alt+Right",
    "reasoning": "Space",
}
BUSY_MESSAGE = "A reply is still streaming. Stop it first (Esc), then try again."


def can_continue(row: ChatRow) -> bool:
    """True for a stored reply with text that was cut short: by the length limit, or stopped
    (interrupted, cancelled, failed) part-way — `ChatService.continue_reply` accepts these."""
    if row.role != "assistant" or not row.is_stored or not row.content:
        return False
    if row.unsaved:
        return False  # the stored text is shorter than the one shown: continuing would lose it
    if row.status == "complete":
        return row.finish_reason == "length"
    return row.status in ("interrupted", "cancelled", "error")


def actions_for(row: ChatRow) -> list[str]:
    """The strip's actions for `row`, in display order (none while it streams: Stop is in the
    composer)."""
    if row.is_streaming:
        return []
    actions: list[str] = []
    if row.content:
        actions.append("copy")
    if row.content and row.is_stored:
        actions.append("save_note")  # into the Notes tab, indexed like any note
    if row.role == "user" and row.is_stored:
        actions.append("edit")
    if row.role == "assistant" and row.is_stored and row.parent_id is not None:
        actions.append("regenerate")
    if can_continue(row):
        actions.append("continue")
    if row.is_stored:
        actions.append("delete")
    return actions


def sibling_positions(messages: Iterable[Any]) -> dict[int, tuple[int, int]]:
    """`{message id: (index, count)}` among siblings (same parent, oldest first), for every message
    of a thread — one pass instead of one `sibling_position` query per row."""
    groups: dict[int | None, list[int]] = {}
    for message in messages:
        groups.setdefault(message.parent_id, []).append(int(message.id))
    positions: dict[int, tuple[int, int]] = {}
    for ids in groups.values():
        ids.sort()
        for index, message_id in enumerate(ids):
            positions[message_id] = (index, len(ids))
    return positions


def subtree_size(messages: Iterable[Any], root_id: int) -> int:
    """How many messages `delete_branch(root_id)` removes: the message and all below it."""
    return len(subtree_ids(messages, root_id))


def delete_question(row: ChatRow, count: int) -> tuple[str, str]:
    """The confirmation's (question, details) for deleting `row` and what hangs below it."""
    what = "your message" if row.role == "user" else "this reply"
    below = count - 1
    if below <= 0:
        question = f"Delete {what}?"
    else:
        question = f"Delete {what} and the {below} message{'s' if below != 1 else ''} below it?"
    details = f"{count} message{'s' if count != 1 else ''} will be deleted for good."
    if row.has_siblings:
        details += " The other versions (‹ ›) stay."
    return question, details
