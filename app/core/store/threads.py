"""Chat threads and their message trees: the repository the chat service and UI use.

A thread holds a tree of messages (`parent_id`); editing or regenerating makes a sibling, and
the thread remembers which leaf the user is looking at (`selected_leaf_id`). Every method is
async and runs its SQL on the database thread through `Database.run`.

Deleting a thread is soft (`deleted_at`, undoable with `restore`) until `purge_deleted`.
Nothing here recurses with the thread's length: `messages.parent_id` is `ON DELETE CASCADE`, and
SQLite runs each cascade level as a nested trigger (it stops at 1,000 levels with "too many
levels of trigger recursion"), so purges and branch deletes remove leaves or detached rows only.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple

from app.core.protocol.types import GenerationParams, Usage
from app.core.store.db import Database, transaction
from app.core.store.fts import fts_query
from app.core.store.records import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MESSAGE_STATUSES,
    Message,
    SearchHit,
    Thread,
    ThreadKind,
    params_to_json,
    usage_to_json,
)
from app.core.store.tree import PATH_UP_CTE, path_to

__all__ = [
    "PURGE_BATCH",
    "RANK_WINDOW",
    "UNSET",
    "PathEntry",
    "PathWindow",
    "SidebarKey",
    "SidebarPages",
    "ThreadRepository",
    "ThreadSummary",
    "TreeLink",
    "sidebar_key",
]

# Messages deleted per transaction by `purge_deleted`. Each batch holds the database thread
# (~10-30 ms for 500 messages with their FTS entries; 2,000 took up to ~250 ms on a loaded
# machine), and any read the user asks for meanwhile waits behind at most one batch.
PURGE_BATCH = 500

# Search ranks by relevance among at most this many of the newest matching messages.
RANK_WINDOW = 1000


class TreeLink(NamedTuple):
    """One edge of a thread's message tree."""

    id: int
    parent_id: int | None


class ThreadSummary(NamedTuple):
    """What a thread list shows of a thread; read without parsing any JSON column."""

    id: int
    title: str
    # 0 or 1 as SQLite gives them (they compare equal to False/True): no per-row conversion in
    # Python, which for a sidebar of 100,000 threads costs more than the query (issue 9).
    pinned: int
    archived: int
    updated_at: float


class OrderedSummaries(list[ThreadSummary]):
    """`list_thread_summaries`' rows, already in the sidebar's order (pinned first, then the
    most recent activity, then the newest id): a list model can take them without sorting."""


# Where a row stands in the sidebar's order: (pinned, updated_at, id), compared as a tuple;
# the listing is this key descending, so the next page is the rows whose key is smaller.
SidebarKey = tuple[int, float, int]


def sidebar_key(row: ThreadSummary) -> SidebarKey:
    """The keyset-pagination key of a sidebar row (its place in the listing's ORDER BY)."""
    return (int(row.pinned), float(row.updated_at), int(row.id))


class SidebarPages(NamedTuple):
    """The first page of the live threads and of the archived ones, and how many are archived
    (the "Archived (n)" label), read in one database call."""

    live: OrderedSummaries
    archived: OrderedSummaries
    archived_count: int


class PathEntry(NamedTuple):
    """One message of a path without its text: enough to place and size a row before reading it.

    `size` is the content's length in UTF-8 bytes and `breaks` its number of line breaks.
    """

    id: int
    parent_id: int | None
    role: str
    size: int
    breaks: int


class PathWindow(NamedTuple):
    """A contiguous part of a thread's visible path (root to `leaf_id`), oldest first.

    `has_older`: messages above the first one are not in the window; `has_newer`: messages
    between the last one and the leaf are not in it (a window opened around an old message).
    """

    messages: list[Message]
    leaf_id: int | None
    has_older: bool
    has_newer: bool


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

# update_message(**fields) name -> (column, converter to the stored value)
_MESSAGE_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "content": ("content", str),
    "parts": ("parts_json", lambda v: json.dumps(list(v or []))),
    "reasoning": ("reasoning", str),
    "profile_id": ("profile_id", lambda v: v),
    "provider_name": ("provider_name", lambda v: v),
    "model": ("model", lambda v: v),
    "params": ("params_json", params_to_json),
    "usage": ("usage_json", usage_to_json),
    "finish_reason": ("finish_reason", lambda v: v),
    "status": ("status", lambda v: v),
    "error": ("error", lambda v: v),
    "ttft_ms": ("ttft_ms", lambda v: v),
    "tokens_per_s": ("tokens_per_s", lambda v: v),
    "refusal": ("refusal", lambda v: v or ""),
    "tool_calls": ("tool_calls_json", lambda v: json.dumps(list(v or []))),
}


class ThreadRepository:
    """Threads and messages. `clock` gives the epoch seconds written to timestamps."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    # --- threads ---------------------------------------------------------------------------

    async def create_thread(
        self,
        title: str = "New chat",
        *,
        kind: ThreadKind = "chat",
        profile_id: str | None = None,
        model: str | None = None,
        system_prompt: str = "",
        params: GenerationParams | None = None,
    ) -> Thread:
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> Thread:
            cur = conn.execute(
                "INSERT INTO threads (title, kind, profile_id, model, system_prompt, params_json,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title,
                    kind,
                    profile_id,
                    model,
                    system_prompt,
                    params_to_json(params or GenerationParams()),
                    now,
                    now,
                ),
            )
            return _get_thread(conn, int(cur.lastrowid or 0), include_deleted=True)  # type: ignore[return-value]

        return await self.db.run(insert)

    async def get_thread(self, thread_id: int, *, include_deleted: bool = True) -> Thread | None:
        return await self.db.run(_get_thread, thread_id, include_deleted)

    async def list_threads(
        self, include_archived: bool = False, limit: int | None = None
    ) -> list[Thread]:
        """Live threads, pinned first, then most recently updated first."""

        def select(conn: sqlite3.Connection) -> list[Thread]:
            sql = "SELECT * FROM threads WHERE deleted_at IS NULL"
            if not include_archived:
                sql += " AND archived = 0"
            sql += " ORDER BY pinned DESC, updated_at DESC, id DESC"
            args: tuple[Any, ...] = ()
            if limit is not None:
                sql += " LIMIT ?"
                args = (limit,)
            return [Thread.from_row(r) for r in conn.execute(sql, args)]

        return await self.db.run(select)

    async def list_thread_summaries(self, include_archived: bool = True) -> OrderedSummaries:
        """Live threads as `ThreadSummary` rows, ordered like `list_threads`, in one query.

        For long lists (a sidebar of 100,000 threads): the query walks the covering index
        `threads_sidebar` (v7) in order, with no sort and no table lookups, and the rows become
        `ThreadSummary` tuples in C (no Python code per row): about ten times cheaper than
        `list_threads`, whose full records parse each thread's params JSON.
        """

        def select(conn: sqlite3.Connection) -> OrderedSummaries:
            sql = (
                "SELECT id, title, pinned != 0, archived != 0,"
                " CAST(COALESCE(updated_at, 0) AS REAL) FROM threads"
                " WHERE deleted_at IS NULL"
            )
            if not include_archived:
                sql += " AND archived = 0"
            sql += " ORDER BY pinned DESC, updated_at DESC, id DESC"
            # Plain tuples straight into the NamedTuple (`tuple.__new__`, as its `_make` does
            # without the length check: the query gives five columns): no sqlite3.Row, no
            # per-row Python code.
            cursor = conn.cursor()
            cursor.row_factory = None
            rows = cursor.execute(sql)
            return OrderedSummaries(map(tuple.__new__, itertools.repeat(ThreadSummary), rows))

        return await self.db.run(select)

    async def sidebar_page(
        self,
        *,
        archived: bool = False,
        after: SidebarKey | None = None,
        through: SidebarKey | None = None,
        limit: int | None = None,
    ) -> OrderedSummaries:
        """One page of the sidebar: live (or `archived`) threads in the listing's order whose
        key comes after `after` (keyset pagination on the covering index `threads_sidebar`:
        a range seek, never OFFSET), at most `limit` of them, or every one down to and
        including the key `through` (to load up to a given thread)."""
        return await self.db.run(_sidebar_page, archived, after, through, limit)

    async def sidebar_first_pages(self, limit: int) -> SidebarPages:
        """The first `limit` live and archived threads and the archived count, in one call."""

        def select(conn: sqlite3.Connection) -> SidebarPages:
            (count,) = conn.execute(
                "SELECT count(*) FROM threads WHERE deleted_at IS NULL AND archived != 0"
            ).fetchone()
            return SidebarPages(
                _sidebar_page(conn, False, None, None, limit),
                _sidebar_page(conn, True, None, None, limit) if count else OrderedSummaries(),
                int(count),
            )

        return await self.db.run(select)

    async def thread_summary(self, thread_id: int) -> ThreadSummary | None:
        """One live thread's sidebar row (to place a thread not loaded yet), or None."""

        def select(conn: sqlite3.Connection) -> ThreadSummary | None:
            cursor = conn.cursor()
            cursor.row_factory = None
            row = cursor.execute(
                _SIDEBAR_COLUMNS + " WHERE deleted_at IS NULL AND id = ?", (thread_id,)
            ).fetchone()
            return ThreadSummary._make(row) if row is not None else None

        return await self.db.run(select)

    async def list_deleted_threads(self) -> list[Thread]:
        """Soft-deleted threads, most recently deleted first (for an undo or trash view)."""

        def select(conn: sqlite3.Connection) -> list[Thread]:
            rows = conn.execute(
                "SELECT * FROM threads WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC"
            )
            return [Thread.from_row(r) for r in rows]

        return await self.db.run(select)

    async def _set_thread(
        self, thread_id: int, assignments: Mapping[str, Any], *, touch: bool
    ) -> None:
        cols = dict(assignments)
        if touch:
            cols["updated_at"] = self._clock()
        sql = "UPDATE threads SET " + ", ".join(f"{c} = ?" for c in cols) + " WHERE id = ?"
        args = (*cols.values(), thread_id)
        await self.db.run(lambda conn: conn.execute(sql, args))

    async def rename(self, thread_id: int, title: str) -> None:
        await self._set_thread(thread_id, {"title": title}, touch=False)

    async def set_pinned(self, thread_id: int, pinned: bool) -> None:
        await self._set_thread(thread_id, {"pinned": int(pinned)}, touch=False)

    async def set_archived(self, thread_id: int, archived: bool) -> None:
        await self._set_thread(thread_id, {"archived": int(archived)}, touch=False)

    async def soft_delete(self, thread_id: int) -> None:
        await self._set_thread(thread_id, {"deleted_at": self._clock()}, touch=False)

    async def restore(self, thread_id: int) -> None:
        await self._set_thread(thread_id, {"deleted_at": None}, touch=False)

    async def purge_deleted(
        self,
        older_than: float | None = None,
        *,
        batch: int = PURGE_BATCH,
        between_batches: Callable[[], Awaitable[None]] | None = None,
    ) -> int:
        """Delete for good the soft-deleted threads (deleted before `older_than`, if given).

        Iterative and bounded (see `_purge_batch`): each thread goes `batch` messages per
        transaction, newest first, and `between_batches` (default: one turn of the event loop)
        is awaited after each, so other database work and the UI get their turn. Resumable: a
        kill between batches leaves a consistent database (the thread still soft-deleted, with
        fewer messages), and the next purge finishes it. Returns how many threads went.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        pause = between_batches or _one_turn

        def select(conn: sqlite3.Connection) -> list[int]:
            if older_than is None:
                rows = conn.execute("SELECT id FROM threads WHERE deleted_at IS NOT NULL")
            else:
                rows = conn.execute(
                    "SELECT id FROM threads WHERE deleted_at IS NOT NULL AND deleted_at < ?",
                    (older_than,),
                )
            return [r[0] for r in rows]

        purged = 0
        for thread_id in await self.db.run(select):
            while True:
                state = await self.db.run(_purge_batch, thread_id, batch, older_than)
                if state != "more":
                    purged += state == "gone"
                    break
                await pause()
        return purged

    async def update_thread_settings(
        self,
        thread_id: int,
        *,
        profile_id: str | None = UNSET,
        model: str | None = UNSET,
        system_prompt: str = UNSET,
        params: GenerationParams = UNSET,
    ) -> None:
        """Change the thread's defaults for new replies; arguments left out are kept."""
        cols: dict[str, Any] = {}
        if profile_id is not UNSET:
            cols["profile_id"] = profile_id
        if model is not UNSET:
            cols["model"] = model
        if system_prompt is not UNSET:
            cols["system_prompt"] = system_prompt or ""
        if params is not UNSET:
            cols["params_json"] = params_to_json(params or GenerationParams())
        if cols:
            await self._set_thread(thread_id, cols, touch=False)

    async def select_leaf(self, thread_id: int, message_id: int | None) -> None:
        """Remember which branch the user is looking at (`default_leaf` follows it)."""
        await self._set_thread(thread_id, {"selected_leaf_id": message_id}, touch=False)

    # --- messages --------------------------------------------------------------------------

    async def add_message(
        self,
        thread_id: int,
        parent_id: int | None,
        role: str,
        content: str,
        *,
        parts: Sequence[Mapping[str, Any]] | None = None,
        reasoning: str = "",
        profile_id: str | None = None,
        provider_name: str | None = None,
        model: str | None = None,
        params: GenerationParams | None = None,
        usage: Usage | None = None,
        finish_reason: str | None = None,
        status: str = "complete",
        error: str | None = None,
        select: bool = True,
    ) -> Message:
        """Add a message under `parent_id`; it becomes the thread's selected leaf if `select`."""
        if status not in MESSAGE_STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> Message:
            with transaction(conn):
                cur = conn.execute(
                    "INSERT INTO messages (thread_id, parent_id, role, content, parts_json,"
                    " reasoning, profile_id, provider_name, model, params_json, usage_json,"
                    " finish_reason, status, error, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        thread_id,
                        parent_id,
                        role,
                        content,
                        json.dumps([dict(p) for p in parts or []]),
                        reasoning,
                        profile_id,
                        provider_name,
                        model,
                        params_to_json(params),
                        usage_to_json(usage),
                        finish_reason,
                        status,
                        error,
                        now,
                        now,
                    ),
                )
                message_id = int(cur.lastrowid or 0)
                sets = "updated_at = ?" + (", selected_leaf_id = ?" if select else "")
                args: tuple[Any, ...] = (now, message_id) if select else (now,)
                conn.execute(f"UPDATE threads SET {sets} WHERE id = ?", (*args, thread_id))
            return _get_message(conn, message_id)  # type: ignore[return-value]

        return await self.db.run(insert)

    async def update_message(self, message_id: int, **fields: Any) -> Message:
        """Set the named fields (Message field names: content, status, usage, params, ...)."""
        unknown = set(fields) - set(_MESSAGE_FIELDS)
        if unknown:
            raise ValueError(f"unknown message fields: {sorted(unknown)}")
        if "status" in fields and fields["status"] not in MESSAGE_STATUSES:
            raise ValueError(f"unknown message status {fields['status']!r}")
        cols = {_MESSAGE_FIELDS[k][0]: _MESSAGE_FIELDS[k][1](v) for k, v in fields.items()}
        cols["updated_at"] = self._clock()
        sql = "UPDATE messages SET " + ", ".join(f"{c} = ?" for c in cols) + " WHERE id = ?"
        args = (*cols.values(), message_id)

        def update(conn: sqlite3.Connection) -> Message:
            conn.execute(sql, args)
            message = _get_message(conn, message_id)
            if message is None:
                raise KeyError(f"no message {message_id}")
            return message

        return await self.db.run(update)

    async def journal_stream(self, message_id: int, content: str, reasoning: str) -> None:
        """Save the text received so far of a streaming reply (one cheap UPDATE)."""
        now = self._clock()
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE messages SET content = ?, reasoning = ?, updated_at = ? WHERE id = ?",
                (content, reasoning, now, message_id),
            )
        )

    async def get_message(self, message_id: int) -> Message | None:
        return await self.db.run(_get_message, message_id)

    async def children(
        self, message_id: int | None, *, thread_id: int | None = None
    ) -> list[Message]:
        """Direct replies to `message_id`, oldest first; `None` with `thread_id`: the roots."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            if message_id is None:
                rows = conn.execute(
                    "SELECT * FROM messages WHERE thread_id = ? AND parent_id IS NULL ORDER BY id",
                    (thread_id,),
                )
            else:
                rows = conn.execute(
                    "SELECT * FROM messages WHERE parent_id = ? ORDER BY id", (message_id,)
                )
            return [Message.from_row(r) for r in rows]

        return await self.db.run(select)

    async def siblings(self, message_id: int) -> list[Message]:
        """The message and the others with the same parent (its alternatives), oldest first."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                "SELECT s.* FROM messages m JOIN messages s ON s.thread_id = m.thread_id"
                " AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
                (message_id,),
            )
            return [Message.from_row(r) for r in rows]

        return await self.db.run(select)

    async def path_to(self, leaf_id: int) -> list[Message]:
        """The messages from the root down to `leaf_id` (inclusive)."""
        return await self.db.run(path_to, leaf_id)

    async def thread_messages(self, thread_id: int) -> list[Message]:
        """Every message of a thread (all branches), oldest first."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                "SELECT * FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,)
            )
            return [Message.from_row(r) for r in rows]

        return await self.db.run(select)

    async def thread_tree(self, thread_id: int) -> list[TreeLink]:
        """Every message of a thread as (id, parent_id), oldest first: the tree's shape without
        reading any text (for version navigators and branch sizes)."""

        def select(conn: sqlite3.Connection) -> list[TreeLink]:
            rows = conn.execute(
                "SELECT id, parent_id FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,)
            )
            return [TreeLink(r[0], r[1]) for r in rows]

        return await self.db.run(select)

    async def default_leaf(self, thread_id: int) -> Message | None:
        """The leaf shown for a thread: from the selected leaf (else the latest root), follow the
        latest child down to a leaf. None for an empty thread."""
        return await self.db.run(_default_leaf, thread_id)

    async def current_path(self, thread_id: int) -> list[Message]:
        """`path_to(default_leaf(thread_id))`, in one trip to the database thread."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            leaf = _default_leaf(conn, thread_id)
            return [] if leaf is None else path_to(conn, leaf.id)

        return await self.db.run(select)

    async def open_path(self, thread_id: int, tail: int) -> tuple[list[PathEntry], list[Message]]:
        """What opening a thread needs first, in one trip: the visible path's outline (root to
        leaf, no text read into Python) and its last `tail` messages in full, oldest first.

        The rest of the path is read later with `messages_by_ids`, so opening a thread of
        thousands of messages costs what the screen shows.
        """

        def select(conn: sqlite3.Connection) -> tuple[list[PathEntry], list[Message]]:
            leaf = _default_leaf(conn, thread_id)
            if leaf is None:
                return [], []
            outline = _path_outline(conn, leaf.id)
            return outline, _messages_by_ids(conn, [e.id for e in outline[-tail:]] if tail > 0 else [])

        return await self.db.run(select)

    # Windows of the visible path, read by keyset: a path is a chain of `parent_id` links, so
    # "the N messages above X" is an N-step walk up from X (one primary-key lookup per step)
    # and "the N messages below X towards the leaf" a walk up from the leaf that stops at X.
    # No OFFSET, no count of the path: opening a 50,000-message thread reads its tail only.

    async def path_tail(self, thread_id: int, limit: int) -> PathWindow:
        """The last `limit` messages of the thread's visible path (ending at its default leaf)."""

        def select(conn: sqlite3.Connection) -> PathWindow:
            leaf = _default_leaf(conn, thread_id)
            if leaf is None:
                return PathWindow([], None, False, False)
            messages = _walk_up(conn, leaf.id, max(1, limit))
            return PathWindow(messages, leaf.id, messages[0].parent_id is not None, False)

        return await self.db.run(select)

    async def path_above(self, message_id: int, limit: int) -> list[Message]:
        """Up to `limit` messages above `message_id` on its path (its parent first up), oldest
        first; `message_id` itself is not included."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            row = conn.execute("SELECT parent_id FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None or row[0] is None or limit <= 0:
                return []
            return _walk_up(conn, row[0], limit)

        return await self.db.run(select)

    async def path_below(self, leaf_id: int, message_id: int, limit: int) -> list[Message]:
        """Up to `limit` messages after `message_id` on the path to `leaf_id`, oldest first
        ([] when `message_id` is the leaf or not on that path)."""

        def select(conn: sqlite3.Connection) -> list[Message]:
            ids = _ids_below(conn, leaf_id, message_id, limit)
            return [] if ids is None else _messages_by_ids(conn, ids)

        return await self.db.run(select)

    async def path_around(
        self, thread_id: int, message_id: int, above: int, below: int
    ) -> PathWindow | None:
        """A window of the visible path around `message_id`: up to `above` messages before it
        and `below` after it. None when the message is not on the visible path."""

        def select(conn: sqlite3.Connection) -> PathWindow | None:
            leaf = _default_leaf(conn, thread_id)
            if leaf is None:
                return None
            ids = _ids_below(conn, leaf.id, message_id, below)
            if ids is None:
                return None
            target = _get_message(conn, message_id)
            if target is None:
                return None
            older = [] if target.parent_id is None else _walk_up(conn, target.parent_id, above)
            messages = [*older, target, *_messages_by_ids(conn, ids)]
            last = messages[-1].id
            return PathWindow(messages, leaf.id, messages[0].parent_id is not None, last != leaf.id)

        return await self.db.run(select)

    async def messages_by_ids(self, ids: Sequence[int]) -> list[Message]:
        """The messages with these ids, in the order given (missing ones left out)."""
        return await self.db.run(_messages_by_ids, list(ids))

    async def delete_subtree(self, message_id: int) -> int:
        """Delete a message and all its descendants; returns how many were deleted.

        A thread whose selected leaf was inside the subtree selects the deleted message's parent.
        Bounded for any depth: the subtree is listed by a recursive CTE (SQLite walks it with a
        queue, not a call stack) and deleted leaves first, so the `parent_id` cascade never
        fires; nothing binds one SQL variable per message.
        """

        def delete(conn: sqlite3.Connection) -> int:
            with transaction(conn):
                row = conn.execute(
                    "SELECT thread_id, parent_id FROM messages WHERE id = ?", (message_id,)
                ).fetchone()
                if row is None:
                    return 0
                # Breadth-first: every message comes after its parent.
                ids = [
                    r[0]
                    for r in conn.execute(
                        "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL"
                        " SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id)"
                        " SELECT id FROM sub",
                        (message_id,),
                    )
                ]
                selected = conn.execute(
                    "SELECT selected_leaf_id FROM threads WHERE id = ?", (row["thread_id"],)
                ).fetchone()
                if selected is not None and selected[0] in set(ids):
                    conn.execute(
                        "UPDATE threads SET selected_leaf_id = ? WHERE id = ?",
                        (row["parent_id"], row["thread_id"]),
                    )
                # Children first, so each DELETE removes a leaf (the FK cascade has nothing to do).
                conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in reversed(ids)])
                return len(ids)

        return await self.db.run(delete)

    async def mark_streaming_interrupted(self) -> int:
        """At start-up: replies left `streaming` by a crash become `interrupted`. Returns count."""
        now = self._clock()
        return await self.db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE messages SET status = 'interrupted', updated_at = ?"
                    " WHERE status = 'streaming'",
                    (now,),
                ).rowcount
            )
        )

    # --- search ----------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Messages of live threads matching `query` (any text; quoted safely), best first."""
        match = fts_query(query)
        if match is None:
            return []

        def select(conn: sqlite3.Connection) -> list[SearchHit]:
            # bm25 costs one evaluation per matching row: a two-letter prefix can match most of
            # 200,000 messages and took ~0.5 s. So relevance is ranked among the newest
            # RANK_WINDOW matches (found by walking the index in rowid order, which stops
            # early); a term that common is one where recency is what people want anyway.
            newest = conn.execute(
                "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?"
                " ORDER BY rowid DESC LIMIT ?",
                (match, RANK_WINDOW),
            ).fetchall()
            floor = newest[-1][0] if len(newest) == RANK_WINDOW else 0
            # Ranked with snippets in one statement on the FTS table alone: FTS5 builds
            # snippets only for the rows it returns. (Joined to messages/threads, or filtered by
            # `rowid IN (...)`, SQLite evaluated the match again per row: ~0.6 s.)
            ranked = conn.execute(
                "SELECT rowid, snippet(messages_fts, 0, ?, ?, '…', 16), rank FROM messages_fts"
                " WHERE messages_fts MATCH ? AND rowid >= ? ORDER BY rank LIMIT ?",
                (HIGHLIGHT_START, HIGHLIGHT_END, match, floor, limit * 2),
            ).fetchall()
            hits = _hits_with_threads(conn, ranked)
            if len(hits) < limit and len(ranked) == limit * 2:
                # Most of the best matches were in deleted threads: rank over live ones only.
                live = conn.execute(
                    "SELECT f.rowid FROM messages_fts f"
                    " JOIN messages m ON m.id = f.rowid JOIN threads t ON t.id = m.thread_id"
                    " WHERE messages_fts MATCH ? AND f.rowid >= ? AND t.deleted_at IS NULL"
                    " ORDER BY f.rank LIMIT ?",
                    (match, floor, limit),
                ).fetchall()
                ranked = [
                    conn.execute(
                        "SELECT rowid, snippet(messages_fts, 0, ?, ?, '…', 16), rank"
                        " FROM messages_fts WHERE messages_fts MATCH ? AND rowid = ?",
                        (HIGHLIGHT_START, HIGHLIGHT_END, match, r[0]),
                    ).fetchone()
                    for r in live
                ]
                hits = _hits_with_threads(conn, [r for r in ranked if r is not None])
            return hits[:limit]

        return await self.db.run(select)


# --- SQL run on the database thread -----------------------------------------------------------


def _hits_with_threads(
    conn: sqlite3.Connection, ranked: Sequence[Sequence[Any]]
) -> list[SearchHit]:
    """SearchHits for ranked FTS rows (rowid, snippet, rank), in that order, with each message's
    thread and role, leaving out deleted threads."""
    if not ranked:
        return []
    ids = [r[0] for r in ranked]
    marks = ",".join("?" * len(ids))
    meta = {
        r[0]: r
        for r in conn.execute(
            "SELECT m.id, m.thread_id, m.role, t.title FROM messages m"
            " JOIN threads t ON t.id = m.thread_id"
            f" WHERE m.id IN ({marks}) AND t.deleted_at IS NULL",
            ids,
        )
    }
    return [
        SearchHit(
            message_id=rowid,
            thread_id=meta[rowid][1],
            thread_title=meta[rowid][3],
            snippet=snippet,
            rank=rank,
            role=meta[rowid][2],
        )
        for rowid, snippet, rank in ranked
        if rowid in meta
    ]



async def _one_turn() -> None:
    await asyncio.sleep(0)


def _purge_batch(
    conn: sqlite3.Connection, thread_id: int, batch: int, older_than: float | None
) -> str:
    """One bounded step of purging a soft-deleted thread, in one transaction.

    The `batch` newest messages are detached from their children (`parent_id` set to NULL on
    any message replying to one of them) and deleted, so the `parent_id` cascade finds nothing
    to do and the work per step is bounded whatever the tree's shape; the FTS delete triggers
    run per row as usual. When no message is left the thread row goes too. Returns "gone",
    "more" (call again), or "kept" (the thread was restored or is no longer due).
    """
    with transaction(conn):
        row = conn.execute("SELECT deleted_at FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            return "kept"
        if row[0] is None or (older_than is not None and row[0] >= older_than):
            return "kept"
        conn.execute("UPDATE threads SET selected_leaf_id = NULL WHERE id = ?", (thread_id,))
        chosen = (
            "SELECT id FROM messages WHERE thread_id = ? ORDER BY id DESC LIMIT ?"
        )
        conn.execute(
            f"UPDATE messages SET parent_id = NULL WHERE parent_id IN ({chosen})",
            (thread_id, batch),
        )
        deleted = conn.execute(
            f"DELETE FROM messages WHERE id IN ({chosen})", (thread_id, batch)
        ).rowcount
        if deleted < batch:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
            return "gone"
        return "more"


def _get_thread(
    conn: sqlite3.Connection, thread_id: int, include_deleted: bool = True
) -> Thread | None:
    row = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
    if row is None or (not include_deleted and row["deleted_at"] is not None):
        return None
    return Thread.from_row(row)


def _get_message(conn: sqlite3.Connection, message_id: int) -> Message | None:
    row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else Message.from_row(row)


def _path_outline(conn: sqlite3.Connection, leaf_id: int) -> list[PathEntry]:
    # Sizes in bytes (a BLOB's length is read from the record header; counting characters
    # would decode every text); line breaks are counted in C by SQLite.
    rows = conn.execute(
        PATH_UP_CTE + " SELECT m.id, m.parent_id, m.role, length(CAST(m.content AS BLOB)),"
        " length(CAST(m.content AS BLOB)) - length(CAST(replace(m.content, char(10), '') AS BLOB))"
        " FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC",
        (leaf_id,),
    )
    return [PathEntry(*r) for r in rows]


def _walk_up(conn: sqlite3.Connection, message_id: int, limit: int) -> list[Message]:
    """`message_id` and up to `limit - 1` of its ancestors, root-most first."""
    rows = conn.execute(
        "WITH RECURSIVE up(id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM messages WHERE id = ?"
        " UNION ALL SELECT m.id, m.parent_id, up.depth + 1 FROM messages m"
        " JOIN up ON m.id = up.parent_id WHERE up.depth + 1 < ?)"
        " SELECT m.* FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC",
        (message_id, limit),
    )
    return [Message.from_row(r) for r in rows]


def _ids_below(conn: sqlite3.Connection, leaf_id: int, message_id: int, limit: int) -> list[int] | None:
    """The ids of up to `limit` messages after `message_id` on the path to `leaf_id`, oldest
    first; None when `message_id` is not on that path. Walks up from the leaf reading only ids
    and stops at `message_id` (the walk is as long as the distance, never the whole thread)."""
    rows = conn.execute(
        "WITH RECURSIVE up(id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM messages WHERE id = ?"
        " UNION ALL SELECT m.id, m.parent_id, up.depth + 1 FROM messages m"
        " JOIN up ON m.id = up.parent_id WHERE up.id != ?)"
        " SELECT id FROM up ORDER BY depth DESC LIMIT ?",
        (leaf_id, message_id, max(0, limit) + 1),
    ).fetchall()
    if not rows or rows[0][0] != message_id:
        return None
    return [r[0] for r in rows[1:]]


def _messages_by_ids(conn: sqlite3.Connection, ids: list[int]) -> list[Message]:
    found: dict[int, Message] = {}
    for start in range(0, len(ids), 500):  # well under SQLite's bound-parameter limit
        batch = ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        for r in conn.execute(f"SELECT * FROM messages WHERE id IN ({marks})", batch):
            found[r["id"]] = Message.from_row(r)
    return [found[i] for i in ids if i in found]


def _default_leaf(conn: sqlite3.Connection, thread_id: int) -> Message | None:
    row = conn.execute(
        "SELECT m.* FROM threads t JOIN messages m ON m.id = t.selected_leaf_id"
        " AND m.thread_id = t.id WHERE t.id = ?",
        (thread_id,),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT * FROM messages WHERE thread_id = ? AND parent_id IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (thread_id,),
        ).fetchone()
    if row is None:
        return None
    # Down to a leaf one index lookup per level, reading only ids (a loop, not recursion: a
    # 100,000-message chain is 100,000 cheap steps); the leaf's row is read once at the end.
    leaf_id = row["id"]
    step = "SELECT id FROM messages WHERE parent_id = ? ORDER BY id DESC LIMIT 1"
    while (child := conn.execute(step, (leaf_id,)).fetchone()) is not None:
        leaf_id = child[0]
    return _get_message(conn, leaf_id)


_SIDEBAR_COLUMNS = (
    "SELECT id, title, pinned != 0, archived != 0, CAST(COALESCE(updated_at, 0) AS REAL) FROM threads"
)


def _sidebar_page(
    conn: sqlite3.Connection,
    archived: bool,
    after: SidebarKey | None,
    through: SidebarKey | None,
    limit: int | None,
) -> OrderedSummaries:
    # Row-value comparisons on (pinned, updated_at, id): SQLite seeks the covering index
    # `threads_sidebar` to the cursor and walks it in order (no sort, no OFFSET scan).
    sql = _SIDEBAR_COLUMNS + " WHERE deleted_at IS NULL AND archived " + ("!= 0" if archived else "= 0")
    args: list[Any] = []
    if after is not None:
        sql += " AND (pinned, updated_at, id) < (?, ?, ?)"
        args.extend(after)
    if through is not None:
        sql += " AND (pinned, updated_at, id) >= (?, ?, ?)"
        args.extend(through)
    sql += " ORDER BY pinned DESC, updated_at DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(sql, args)
    return OrderedSummaries(map(tuple.__new__, itertools.repeat(ThreadSummary), rows))
