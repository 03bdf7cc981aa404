"""Walks over a thread's message tree, written once: the subtree under a message, the path from
the root down to a leaf.

`subtree_ids` works on any rows with `id` and `parent_id` (`TreeLink`s, `Message`s, the UI's
rows), in memory; `path_to` reads the path with one recursive query on the database thread
(`Database.run`). The chat service, the thread repository and the UI's delete question all use
these, so "what is under this message" and "what leads to it" mean the same everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Protocol

from app.core.store.records import Message

__all__ = ["PATH_UP_CTE", "TreeNode", "path_to", "subtree_ids"]

# Rows `up(id, parent_id, depth)` from the leaf bound to `?` up to its root (depth 0 = the leaf).
# Order by `up.depth DESC` for root-first.
PATH_UP_CTE = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM messages WHERE id = ?"
    " UNION ALL SELECT m.id, m.parent_id, up.depth + 1 FROM messages m"
    " JOIN up ON m.id = up.parent_id)"
)


class TreeNode(Protocol):
    """Anything placed in a message tree."""

    @property
    def id(self) -> Any: ...

    @property
    def parent_id(self) -> Any: ...


def subtree_ids(nodes: Iterable[TreeNode], root_id: int) -> set[int]:
    """`root_id` and every id below it; empty when `root_id` is not among `nodes`.

    An explicit stack, not recursion: a 100,000-message chain walks like a short one.
    """
    children: dict[int | None, list[int]] = {}
    known: set[int] = set()
    for node in nodes:
        node_id = int(node.id)
        children.setdefault(node.parent_id, []).append(node_id)
        known.add(node_id)
    if root_id not in known:
        return set()
    found: set[int] = set()
    todo = [root_id]
    while todo:
        current = todo.pop()
        if current in found:
            continue  # a damaged tree with a cycle must not loop for ever
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def path_to(conn: sqlite3.Connection, leaf_id: int) -> list[Message]:
    """The messages from the root down to `leaf_id` (inclusive); [] for an unknown id."""
    rows = conn.execute(
        PATH_UP_CTE + " SELECT m.* FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC",
        (leaf_id,),
    )
    return [Message.from_row(r) for r in rows]
