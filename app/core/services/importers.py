"""Importing chat history: Switchboard's own JSON exports and ChatGPT's `conversations.json`.

Both importers work in two steps. First the input is checked and converted, without touching
the database, into a plan (threads with their messages ordered parents-first); anything
malformed raises `ConfigError` with a sentence. Then the whole plan is written in ONE
transaction on the database thread: an import either adds everything or nothing. Imported
threads and messages get new ids; the tree (parent links), the selected branch and every field,
timestamps included, are kept.

The repository has no method for inserting a message with given timestamps, status and usage,
so `_insert_plan` writes the `threads` and `messages` tables directly (schema in
`app/core/store/migrations.py`).

Validation before anything is written (both importers):

- the whole document is walked once, iteratively: nesting deeper than `MAX_DEPTH` and text
  holding a lone UTF-16 surrogate (`"\\ud800"` is valid JSON but cannot be stored as UTF-8)
  are refused with a sentence naming the place; `json.loads`' RecursionError on a file nested
  200,000 levels deep becomes the same sentence;
- every field of an archive is checked against the schema the app writes (types of params,
  usage, tool calls, attachments; roles, statuses, kinds), and a wrong one refuses the import
  with a sentence naming the thread, the message and the field. Two repairs are made instead,
  each reported in `ImportReport.notes`: a message on a parent loop (or replying to itself) is
  kept as the start of a branch, and an image attachment whose base64 data is damaged is left
  out (it could never be shown or sent).;
- ChatGPT nodes on a parent loop (or their own parent) are kept as roots, with a note.

Importing the same content twice: each thread's source entry (archive entry or ChatGPT
conversation) is hashed (SHA-256 of its canonical JSON) and the hash is stored in the
`settings` table as `import.sha256:<hex>` -> the new thread's id. An entry whose hash names a
thread that still exists (not deleted) is skipped with a note; if every entry was skipped the
import raises ConfigError saying so. Deleting the imported thread makes it importable again.

ChatGPT conversion rules (`import_chatgpt`):

- each conversation becomes a thread (title, `create_time`/`update_time`, model from
  `default_model_slug`); the leaf shown is `current_node`;
- nodes without a message (the root), empty messages and messages hidden from the
  conversation (`metadata.is_visually_hidden_from_conversation`, e.g. the blank system message
  and the "custom instructions" context) are skipped; their children hang from the nearest
  kept ancestor, so branches (a node with several children) are preserved;
- a visible system message with text becomes the thread's `system_prompt`, not a message;
- text parts are joined with a blank line; non-text parts (images, files, audio) become
  "[image omitted]" / "[attachment omitted]"; "code" content becomes a fenced block;
- tool traffic is FOLDED, not dropped: an assistant message addressed to a tool (`recipient`
  other than "all") and a `tool` message (its output) become quoted blocks at the start of the
  next assistant reply on the same branch ("> **Tool call (python):**", "> **Tool output
  (python):**"); if no assistant reply follows, they become an assistant message of their own;
- reasoning content ("thoughts", "reasoning_recap") becomes the next reply's `reasoning`;
- the reply's model comes from `metadata.model_slug` (else the conversation's default model),
  its provider name is "ChatGPT", its finish reason from `metadata.finish_details.type`
  (`max_tokens` -> `length`, `interrupted` -> status "interrupted");
- timestamps come from each message's `create_time`/`update_time`, falling back to its
  parent's time and then to the conversation's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.errors import ConfigError, StorageError
from app.core.protocol.types import GenerationParams, Usage
from app.core.services.export import (
    ARCHIVE_FORMAT,
    FORMAT_VERSION,
    THREAD_FORMAT,
    parents_first,
)
from app.core.store.db import Database, transaction
from app.core.store.records import MESSAGE_STATUSES
from app.core.store.threads import ThreadRepository

__all__ = [
    "CHATGPT_PROVIDER_NAME",
    "MAX_DEPTH",
    "ImportReport",
    "check_document",
    "import_archive",
    "import_chatgpt",
    "parse_import_json",
]

CHATGPT_PROVIDER_NAME = "ChatGPT"

# Far deeper than any export (ours nest about 8 levels, ChatGPT's about 12), far shallower
# than what json/json.dumps recursion can take.
MAX_DEPTH = 100

_THREAD_KINDS = frozenset({"chat", "completion"})
_ROLES = frozenset({"system", "user", "assistant"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_HASH_KEY = "import.sha256:"


@dataclass(frozen=True)
class ImportReport:
    """How much an import added; `thread_ids` are the new threads' ids, in input order."""

    threads: int
    messages: int
    thread_ids: tuple[int, ...] = ()
    # Sentences about what was repaired, left out or skipped (already imported).
    notes: tuple[str, ...] = ()
    skipped: int = 0  # threads already imported earlier, not added again


# --- the plan (pure data, checked before anything is written) ---------------------------------


@dataclass
class _MessagePlan:
    key: Any  # the id in the source; unique within its thread
    parent_key: Any | None
    role: str
    content: str = ""
    parts: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    refusal: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    profile_id: str | None = None
    provider_name: str | None = None
    model: str | None = None
    params_json: str | None = None
    usage_json: str | None = None
    finish_reason: str | None = None
    status: str = "complete"
    error: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass
class _ThreadPlan:
    title: str
    kind: str = "chat"
    profile_id: str | None = None
    model: str | None = None
    system_prompt: str = ""
    params_json: str = "{}"
    pinned: bool = False
    archived: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    deleted_at: float | None = None
    selected_key: Any | None = None
    messages: list[_MessagePlan] = field(default_factory=list)  # parents first
    source_sha256: str = ""  # of the entry it was planned from (see the module docstring)
    notes: list[str] = field(default_factory=list)


def _insert_message_row(conn: sqlite3.Connection, thread_id: int, parent_id: int | None,
                        m: _MessagePlan) -> int:
    cur = conn.execute(
        "INSERT INTO messages (thread_id, parent_id, role, content, parts_json, reasoning,"
        " profile_id, provider_name, model, params_json, usage_json, finish_reason, status,"
        " error, ttft_ms, tokens_per_s, created_at, updated_at, refusal, tool_calls_json)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            thread_id,
            parent_id,
            m.role,
            m.content,
            json.dumps(m.parts),
            m.reasoning,
            m.profile_id,
            m.provider_name,
            m.model,
            m.params_json,
            m.usage_json,
            m.finish_reason,
            m.status,
            m.error,
            m.ttft_ms,
            m.tokens_per_s,
            m.created_at,
            m.updated_at,
            m.refusal,
            json.dumps(m.tool_calls),
        ),
    )
    return int(cur.lastrowid or 0)


def _already_imported(conn: sqlite3.Connection, sha256: str) -> bool:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_HASH_KEY + sha256,)).fetchone()
    if row is None or row[0] is None:
        return False
    try:
        thread_id = json.loads(row[0])
    except ValueError:
        return False
    if not isinstance(thread_id, int):
        return False
    live = conn.execute(
        "SELECT 1 FROM threads WHERE id = ? AND deleted_at IS NULL", (thread_id,)
    ).fetchone()
    return live is not None


def _titles(titles: list[str]) -> str:
    shown = ", ".join(f"“{t}”" for t in titles[:3])
    return shown + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")


def _insert_plan(conn: sqlite3.Connection, plans: list[_ThreadPlan]) -> ImportReport:
    """Write every planned thread and message in one transaction (all or nothing), skipping
    threads imported before (their content hash names a live thread)."""
    count = 0
    thread_ids: list[int] = []
    skipped: list[str] = []
    notes: list[str] = []
    with transaction(conn):
        for plan in plans:
            if plan.source_sha256 and _already_imported(conn, plan.source_sha256):
                skipped.append(plan.title or "Untitled chat")
                continue
            notes.extend(plan.notes)
            cur = conn.execute(
                "INSERT INTO threads (title, kind, profile_id, model, system_prompt, params_json,"
                " pinned, archived, created_at, updated_at, deleted_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan.title,
                    plan.kind,
                    plan.profile_id,
                    plan.model,
                    plan.system_prompt,
                    plan.params_json,
                    int(plan.pinned),
                    int(plan.archived),
                    plan.created_at,
                    plan.updated_at,
                    plan.deleted_at,
                ),
            )
            thread_id = int(cur.lastrowid or 0)
            new_ids: dict[Any, int] = {}
            for m in plan.messages:
                parent = None if m.parent_key is None else new_ids[m.parent_key]
                new_ids[m.key] = _insert_message_row(conn, thread_id, parent, m)
                count += 1
            selected = new_ids.get(plan.selected_key) if plan.selected_key is not None else None
            if selected is not None:
                conn.execute(
                    "UPDATE threads SET selected_leaf_id = ? WHERE id = ?", (selected, thread_id)
                )
            if plan.source_sha256:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (_HASH_KEY + plan.source_sha256, json.dumps(thread_id)),
                )
            thread_ids.append(thread_id)
        if skipped and not thread_ids:
            what = "thread is" if len(skipped) == 1 else f"{len(skipped)} threads are"
            raise ConfigError(
                f"This was already imported: its {what} already in your history "
                f"({_titles(skipped)}), so nothing was added. To import it again, delete the "
                "imported copy first."
            )
    if skipped:
        notes.insert(
            0,
            f"{len(skipped)} thread{'s were' if len(skipped) != 1 else ' was'} already imported "
            f"and left as {'they were' if len(skipped) != 1 else 'it was'} ({_titles(skipped)}).",
        )
    return ImportReport(
        threads=len(thread_ids),
        messages=count,
        thread_ids=tuple(thread_ids),
        notes=tuple(notes),
        skipped=len(skipped),
    )


def _entry_sha256(entry: Any) -> str:
    """SHA-256 of an entry's canonical JSON (key order and whitespace do not matter)."""
    text = json.dumps(entry, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --- the whole document: depth and text ----------------------------------------------------


def _place(path: tuple[Any, ...]) -> str:
    """A readable place in a document, e.g. `thread 2 › message 5 › “content”`."""
    out: list[str] = []
    labels = {"threads": "thread", "messages": "message", "parts": "attachment",
              "tool_calls": "tool call", "mapping": "node"}
    pending: str | None = None
    for step in path:
        if pending is not None:
            out.append(f"{pending} {step + 1 if isinstance(step, int) else repr(step)}")
            pending = None
        elif isinstance(step, str) and step in labels:
            pending = labels[step]
        elif isinstance(step, int):
            out.append(f"item {step + 1}" if out else f"conversation {step + 1}")
        else:
            out.append(f"“{step}”")
    if pending is not None:
        out.append(f"“{next(k for k, v in labels.items() if v == pending)}”")
    return " › ".join(out) or "the top level"


def _walk(document: Any) -> Iterator[tuple[Any, int, tuple[Any, ...]]]:
    """Every value of a JSON document with its depth and path, iteratively (no recursion)."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(document, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        yield value, depth, path
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _SURROGATE.search(k):
                    yield k, depth + 1, (*path, "a key")
                stack.append((v, depth + 1, (*path, k)))
        elif isinstance(value, list):
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], depth + 1, (*path, i)))


def _document_ok(document: Any) -> bool:
    """True if no value is nested deeper than MAX_DEPTH and no text holds a lone surrogate.
    The fast pass (no paths kept): a 100,000-message archive is checked in well under 1 s."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    search = _SURROGATE.search
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, str):
            if search(value):
                return False
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and search(k):
                    return False
                if isinstance(v, (dict, list, str)):
                    stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list, str)))
    return True


def check_document(document: Any) -> None:
    """Refuse (ConfigError) a document nested deeper than MAX_DEPTH or holding text with a lone
    surrogate, naming the place. Iterative: safe on any input, however deep."""
    if _document_ok(document):
        return
    for value, depth, path in _walk(document):  # only to find and name the place
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"This file is nested more than {MAX_DEPTH} levels deep (at {_place(path[:6])} "
                "…), which no Switchboard or ChatGPT export is; nothing was imported."
            )
        if isinstance(value, str) and _SURROGATE.search(value):
            raise ConfigError(
                f"This file holds broken text at {_place(path)}: a lone UTF-16 surrogate "
                "(an escape like \\ud800 without its pair), which cannot be stored. Nothing "
                "was imported; export the file again or remove that character."
            )


def parse_import_json(text: str, name: str, what: str) -> Any:
    """`json.loads(text)` with the failures an import can meet as ConfigError sentences."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name} is not valid JSON, so it cannot be a {what}. Pick the file the export "
            "produced.",
            detail=f"line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from exc
    except RecursionError:
        raise ConfigError(
            f"{name} is nested far too deeply to be a {what} (more than {MAX_DEPTH} levels); "
            "nothing was imported."
        ) from None


def _database(target: Database | ThreadRepository) -> Database:
    return target.db if isinstance(target, ThreadRepository) else target


async def _load_json(source: Path, what: str) -> Any:
    def read() -> Any:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{Path(source).name} is not a text file, so it cannot be a {what}.",
                detail=str(exc),
            ) from exc
        except OSError as exc:
            raise StorageError(
                f"{source} could not be read. Check that the file exists and that you may open "
                "it.",
                detail=exc.strerror,
            ) from exc
        return parse_import_json(text, Path(source).name, what)

    return await asyncio.to_thread(read)


# --- Switchboard archives ---------------------------------------------------------------------


class _Invalid(Exception):
    """A problem in one place of the input; becomes a ConfigError naming the place."""


def _opt_str(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise _Invalid(f"“{name}” must be text")
    return value


def _str(obj: Mapping[str, Any], name: str, default: str = "") -> str:
    value = _opt_str(obj, name)
    return default if value is None else value


def _opt_num(obj: Mapping[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"“{name}” must be a number")
    return value


def _num(obj: Mapping[str, Any], name: str, default: float = 0.0) -> float:
    value = _opt_num(obj, name)
    return default if value is None else value


def _dict_list(obj: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _Invalid(f"“{name}” must be a list of objects")
    return [dict(v) for v in value]


def _key(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, (int, str)) and not isinstance(value, bool)):
        return value
    raise _Invalid(f"“{name}” must be a number or text")


def _is_num(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


# GenerationParams field -> (check, what it must be); None is always allowed ("not set").
_PARAM_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_is_num, "a number"),
    "top_p": (_is_num, "a number"),
    "presence_penalty": (_is_num, "a number"),
    "frequency_penalty": (_is_num, "a number"),
    "top_k": (_is_int, "a whole number"),
    "max_tokens": (_is_int, "a whole number"),
    "n": (_is_int, "a whole number"),
    "seed": (_is_int, "a whole number"),
    "user": (lambda v: isinstance(v, str), "text"),
    "stop": (
        lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
        "text or a list of texts",
    ),
    "logit_bias": (
        lambda v: isinstance(v, dict) and all(_is_num(x) for x in v.values()),
        "an object of numbers",
    ),
}


def _params_json(obj: Mapping[str, Any], name: str, *, nullable: bool) -> str | None:
    value = obj.get(name)
    if value is None:
        return None if nullable else "{}"
    if not isinstance(value, dict):
        raise _Invalid(f"“{name}” must be an object")
    known = {f.name for f in fields(GenerationParams)}
    for key, item in value.items():
        if key not in known or item is None:
            continue  # unknown parameters are not the app's: left out, as the app would
        check, must_be = _PARAM_TYPES[key]
        if not check(item):
            raise _Invalid(f"“{name}.{key}” must be {must_be}, not {_shown(item)}")
    return json.dumps(GenerationParams.from_json(value).to_json())


def _usage_json(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("usage")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Invalid("“usage” must be an object")
    names = {f.name for f in fields(Usage)}
    for key, item in value.items():
        if key in names and item is not None and not (_is_int(item) and item >= 0):
            raise _Invalid(f"“usage.{key}” must be a whole number of tokens, not {_shown(item)}")
    return json.dumps(asdict(Usage(**{k: v for k, v in value.items() if k in names})))


# ToolCall field -> (check, what it must be), as the chat service writes them.
_TOOL_CALL_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "index": (_is_int, "a whole number"),
    "id": (lambda v: v is None or isinstance(v, str), "text"),
    "type": (lambda v: isinstance(v, str), "text"),
    "name": (lambda v: isinstance(v, str), "text"),
    "arguments": (lambda v: isinstance(v, str), "text"),
}


def _tool_calls(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    calls = _dict_list(obj, "tool_calls")
    for number, call in enumerate(calls, start=1):
        for key, item in call.items():
            rule = _TOOL_CALL_TYPES.get(key)
            if rule is not None and not rule[0](item):
                raise _Invalid(f"tool call {number}: “{key}” must be {rule[1]}, not {_shown(item)}")
    return calls


def _valid_base64(data: str) -> bool:
    try:
        base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _parts(obj: Mapping[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    """Attachments, as the chat service writes them ({"type": "image", "mime", "data_b64" |
    "url"}). An image whose data is damaged is left out with a note: it could never be shown or
    sent, and keeping it made every send of the thread fail."""
    kept: list[dict[str, Any]] = []
    for number, part in enumerate(_dict_list(obj, "parts"), start=1):
        kind = part.get("type")
        if not isinstance(kind, str):
            raise _Invalid(f"attachment {number} has no “type”")
        if kind == "image":
            mime, data, url = part.get("mime"), part.get("data_b64"), part.get("url")
            if not isinstance(mime, str):
                raise _Invalid(f"attachment {number}: “mime” must be text")
            if url is not None and not isinstance(url, str):
                raise _Invalid(f"attachment {number}: “url” must be text")
            if data is not None and (not isinstance(data, str) or not _valid_base64(data)):
                notes.append(f"attachment {number} (an image whose data is damaged) was left out")
                continue
            if data is None and not url:
                notes.append(f"attachment {number} (an image with neither data nor a link) was left out")
                continue
        kept.append(part)
    return kept


def _archive_message(obj: Any, notes: list[str]) -> _MessagePlan:
    if not isinstance(obj, dict):
        raise _Invalid("it is not an object")
    role = _str(obj, "role")
    if not role:
        raise _Invalid("it has no “role”")
    if role not in _ROLES:
        raise _Invalid(f"“role” must be system, user or assistant, not {_shown(role)}")
    status = _str(obj, "status", "complete")
    if status not in MESSAGE_STATUSES:
        raise _Invalid(f"unknown message status “{status}”")
    created = _num(obj, "created_at")
    return _MessagePlan(
        key=_key(obj.get("id"), "id"),
        parent_key=_key(obj.get("parent_id"), "parent_id"),
        role=role,
        content=_str(obj, "content"),
        parts=_parts(obj, notes),
        reasoning=_str(obj, "reasoning"),
        refusal=_str(obj, "refusal"),
        tool_calls=_tool_calls(obj),
        profile_id=_opt_str(obj, "profile_id"),
        provider_name=_opt_str(obj, "provider_name"),
        model=_opt_str(obj, "model"),
        params_json=_params_json(obj, "params", nullable=True),
        usage_json=_usage_json(obj),
        finish_reason=_opt_str(obj, "finish_reason"),
        status=status,
        error=_opt_str(obj, "error"),
        ttft_ms=_opt_num(obj, "ttft_ms"),
        tokens_per_s=_opt_num(obj, "tokens_per_s"),
        created_at=created,
        updated_at=_num(obj, "updated_at", created),
    )


def _break_loops(messages: list[_MessagePlan], placed: set[Any]) -> list[str]:
    """Make one message of each parent loop among the unplaced ones a root; returns notes."""
    by_key = {m.key: m for m in messages}
    state: dict[Any, int] = {}  # 1: on the current walk, 2: done
    notes: list[str] = []
    for start in messages:
        if start.key in placed or start.key in state:
            continue
        walk: list[Any] = []
        key: Any = start.key
        while key not in state:  # every unplaced message's parent is unplaced too
            state[key] = 1
            walk.append(key)
            key = by_key[key].parent_key
        if state[key] == 1:  # came round to this walk: `key` is on a new loop
            m = by_key[key]
            if m.parent_key == m.key:
                notes.append(f"message {key!r} replied to itself; it was kept as the start of a branch")
            else:
                notes.append(
                    f"message {key!r} was part of a loop of replies; it was kept as the start "
                    "of a branch"
                )
            m.parent_key = None
        for k in walk:
            state[k] = 2
    return notes


def _parents_first(messages: list[_MessagePlan], notes: list[str]) -> list[_MessagePlan]:
    """Order messages so parents precede children, otherwise keeping the input order; reject
    duplicate ids and dangling parents; repair loops and self-replies (noted in `notes`)."""
    keys: dict[Any, _MessagePlan] = {}
    for m in messages:
        if m.key is None:
            raise _Invalid("a message has no id")
        if m.key in keys:
            raise _Invalid(f"two messages have the id {m.key!r}")
        keys[m.key] = m
    for m in messages:
        if m.parent_key is not None and m.parent_key not in keys:
            raise _Invalid(f"message {m.key!r} replies to {m.parent_key!r}, which is not there")
    out = parents_first(messages, lambda m: m.key, lambda m: m.parent_key)
    if len(out) != len(messages):
        notes.extend(_break_loops(messages, {m.key for m in out}))
        out = parents_first(messages, lambda m: m.key, lambda m: m.parent_key)
    return out


def _archive_thread(entry: Any) -> _ThreadPlan:
    if not isinstance(entry, dict) or not isinstance(entry.get("thread"), dict):
        raise _Invalid("a thread entry has no “thread” object")
    t = entry["thread"]
    raw_messages = entry.get("messages", [])
    if not isinstance(raw_messages, list):
        raise _Invalid("“messages” must be a list")
    kind = _str(t, "kind", "chat")
    if kind not in _THREAD_KINDS:
        raise _Invalid(f"unknown thread kind “{kind}”")
    for flag in ("pinned", "archived"):
        if not isinstance(t.get(flag, False), bool):
            raise _Invalid(f"“{flag}” must be true or false")
    created = _num(t, "created_at")
    title = _str(t, "title")
    notes: list[str] = []
    planned: list[_MessagePlan] = []
    for number, raw in enumerate(raw_messages, start=1):
        found: list[str] = []
        label = f"message {number}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), (int, str)):
            label += f" (id {raw['id']!r})"
        try:
            planned.append(_archive_message(raw, found))
        except _Invalid as exc:
            raise _Invalid(f"{label}: {exc}") from None
        notes.extend(f"{label}: {n}" for n in found)
    messages = _parents_first(planned, notes)
    where = f"In “{title}”" if title else "In an untitled thread"
    return _ThreadPlan(
        title=title,
        kind=kind,
        profile_id=_opt_str(t, "profile_id"),
        model=_opt_str(t, "model"),
        system_prompt=_str(t, "system_prompt"),
        params_json=_params_json(t, "params", nullable=False) or "{}",
        pinned=bool(t.get("pinned", False)),
        archived=bool(t.get("archived", False)),
        created_at=created,
        updated_at=_num(t, "updated_at", created),
        deleted_at=_opt_num(t, "deleted_at"),
        selected_key=_key(t.get("selected_leaf_id"), "selected_leaf_id"),
        messages=messages,
        source_sha256=_entry_sha256(entry),
        notes=[f"{where}, {n}." for n in notes],
    )


def plan_archive(data: Any) -> list[_ThreadPlan]:
    """Check a `switchboard-archive` or `switchboard-thread` document and plan its import."""
    check_document(data)
    if not isinstance(data, dict):
        raise ConfigError(
            "This file is not a Switchboard export: it should hold a JSON object with "
            f"“format”: “{ARCHIVE_FORMAT}”."
        )
    fmt = data.get("format")
    if fmt not in (ARCHIVE_FORMAT, THREAD_FORMAT):
        raise ConfigError(
            f"This file is not a Switchboard export (its format is {fmt!r}, expected "
            f"“{ARCHIVE_FORMAT}” or “{THREAD_FORMAT}”). For a ChatGPT export, use "
            "Import ChatGPT history."
        )
    version = data.get("version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise ConfigError(
            f"This export has version {version!r}, which this Switchboard cannot read (it reads "
            f"version {FORMAT_VERSION}). Update Switchboard and try again."
        )
    entries: list[Any]
    if fmt == THREAD_FORMAT:
        entries = [data]
    else:
        if not isinstance(data.get("threads"), list):
            raise ConfigError("This archive has no list of threads; nothing was imported.")
        entries = data["threads"]
    plans: list[_ThreadPlan] = []
    for number, entry in enumerate(entries, start=1):
        try:
            plans.append(_archive_thread(entry))
        except _Invalid as exc:
            title = ""
            if isinstance(entry, dict) and isinstance(entry.get("thread"), dict):
                title = str(entry["thread"].get("title") or "")
            where = f"thread {number}" + (f" (“{title}”)" if title else "")
            raise ConfigError(
                f"The export is damaged: in {where}, {exc}. Nothing was imported."
            ) from None
    return plans


async def import_archive(
    db: Database | ThreadRepository, data: dict[str, Any] | Path
) -> ImportReport:
    """Import a Switchboard JSON export (an archive or a single thread) with new ids.

    All or nothing: a malformed document raises ConfigError before anything is written, and a
    failure while writing rolls the whole import back.
    """
    document = await _load_json(data, "Switchboard export") if isinstance(data, Path) else data
    plans = await asyncio.to_thread(plan_archive, document)  # large files: off the UI thread
    return await _database(db).run(_insert_plan, plans)


# --- ChatGPT ----------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _fenced(text: str, language: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text}\n{fence}"


def _chatgpt_text(content: Any) -> tuple[str, str]:
    """(text, reasoning) of a ChatGPT message's `content`; non-text parts become notes."""
    if not isinstance(content, dict):
        return "", ""
    ctype = content.get("content_type")
    if ctype == "code":
        language = content.get("language")
        lang = language if isinstance(language, str) and language != "unknown" else ""
        return _fenced(str(content.get("text") or ""), lang), ""
    if ctype == "thoughts":
        thoughts = content.get("thoughts")
        chunks: list[str] = []
        if isinstance(thoughts, list):
            for t in thoughts:
                if isinstance(t, dict):
                    chunks += [str(t[k]) for k in ("summary", "content") if t.get(k)]
        return "", "\n\n".join(chunks)
    if ctype == "execution_output":
        return _fenced(str(content.get("text") or "")), ""
    if ctype == "reasoning_recap":
        return "", str(content.get("content") or "")
    parts = content.get("parts")
    if isinstance(parts, list):
        texts: list[str] = []
        for part in parts:
            if isinstance(part, str):
                if part:
                    texts.append(part)
            elif isinstance(part, dict):
                ptype = str(part.get("content_type") or "")
                if ptype == "audio_transcription" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif "image" in ptype:
                    texts.append("[image omitted]")
                else:
                    texts.append("[attachment omitted]")
        return "\n\n".join(texts), ""
    for key in ("text", "result"):
        if isinstance(content.get(key), str):
            return content[key], ""
    return "", ""


def _time(value: Any, fallback: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return fallback


_FINISH = {"stop": "stop", "max_tokens": "length", "interrupted": "interrupted"}


@dataclass
class _Carry:
    """What a skipped or folded node hands down to its children."""

    parent_key: Any | None
    time: float
    blocks: tuple[str, ...] = ()  # quoted tool traffic waiting for the next reply
    reasoning: tuple[str, ...] = ()
    model: str | None = None


def _later(carry: _Carry, at: float) -> _Carry:
    """`carry` with a later time (a skipped node passes its time on to its children)."""
    return _Carry(carry.parent_key, at, carry.blocks, carry.reasoning, carry.model)


def _plan_conversation(conv: Any, number: int) -> _ThreadPlan:
    if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
        raise ConfigError(
            f"Conversation {number} of this file has no “mapping”, so it is not a ChatGPT "
            "export (conversations.json). Nothing was imported."
        )
    mapping: dict[str, Any] = conv["mapping"]
    for node_id, node in mapping.items():
        if not isinstance(node, dict):
            raise ConfigError(
                f"Conversation {number} is damaged (node {node_id!r} is not an object). Nothing "
                "was imported."
            )
    title = conv.get("title") if isinstance(conv.get("title"), str) else ""
    created = _time(conv.get("create_time"), 0.0)
    updated = _time(conv.get("update_time"), created)
    default_model = conv.get("default_model_slug")
    default_model = default_model if isinstance(default_model, str) and default_model else None

    def parent_of(node_id: str) -> str | None:
        parent = mapping[node_id].get("parent")
        return parent if isinstance(parent, str) and parent in mapping else None

    children: dict[str | None, list[str]] = {}
    for node_id, node in mapping.items():
        listed = node.get("children")
        listed = listed if isinstance(listed, list) else []
        ordered = [
            c for c in listed if isinstance(c, str) and c in mapping and parent_of(c) == node_id
        ]
        children[node_id] = list(dict.fromkeys(ordered))
    for node_id in mapping:
        parent = parent_of(node_id)
        if node_id not in children.setdefault(parent, []):
            children[parent].append(node_id)

    plan = _ThreadPlan(title=title or "Imported chat", model=default_model,
                       created_at=created, updated_at=updated)
    system_prompts: list[str] = []
    represented: dict[str, Any] = {}  # ChatGPT node id -> key of the message standing for it
    seen: set[str] = set()
    counter = 0

    def emit(carry: _Carry, role: str, text: str, *, model: str | None, at: float,
             updated_at: float, finish: str | None = None, status: str = "complete") -> str:
        nonlocal counter
        counter += 1
        key = f"m{counter}"
        content = "\n\n".join([*carry.blocks, text] if text else list(carry.blocks))
        plan.messages.append(
            _MessagePlan(
                key=key, parent_key=carry.parent_key, role=role, content=content,
                reasoning="\n\n".join(carry.reasoning) if role == "assistant" else "",
                provider_name=CHATGPT_PROVIDER_NAME if role == "assistant" else None,
                model=model if role == "assistant" else None,
                finish_reason=finish, status=status, created_at=at, updated_at=updated_at,
            )
        )
        return key

    stack: list[tuple[str, _Carry]] = [
        (root, _Carry(None, created)) for root in reversed(children.get(None, []))
    ]
    loop_notes: list[str] = []

    def next_unreached() -> str | None:
        """A node no root leads to (its parents loop, or it is its own parent), made a root."""
        for node_id in mapping:
            if node_id in seen:
                continue
            walk: set[str] = set()
            current = node_id
            while current not in walk:  # the parents of an unreached node never reach a root
                walk.add(current)
                current = parent_of(current) or current
            if parent_of(current) == current:
                loop_notes.append(f"node {current!r} was its own parent")
            else:
                loop_notes.append(f"node {current!r} was part of a loop of replies")
            return current
        return None

    while True:
        if not stack:
            root = next_unreached()
            if root is None:
                break
            stack.append((root, _Carry(None, created)))
        node_id, carry = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        message = mapping[node_id].get("message")
        kids = children.get(node_id, [])
        nxt = carry
        if isinstance(message, dict):
            author = message.get("author")
            role = author.get("role") if isinstance(author, dict) else None
            name = author.get("name") if isinstance(author, dict) else None
            raw_meta = message.get("metadata")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            hidden = bool(meta.get("is_visually_hidden_from_conversation"))
            at = _time(message.get("create_time"), carry.time)
            at_updated = _time(message.get("update_time"), at)
            text, reasoning = _chatgpt_text(message.get("content"))
            model = meta.get("model_slug") if isinstance(meta.get("model_slug"), str) else None
            recipient = message.get("recipient")
            finish_details = meta.get("finish_details")
            finish_type = finish_details.get("type") if isinstance(finish_details, dict) else None
            finish = _FINISH.get(finish_type) if isinstance(finish_type, str) else None
            status = "complete"
            if finish == "interrupted":
                finish, status = None, "interrupted"
            if hidden or (not text.strip() and not reasoning):
                nxt = _later(carry, at)
            elif reasoning and not text.strip():
                nxt = _Carry(carry.parent_key, at, carry.blocks,
                             (*carry.reasoning, reasoning), carry.model or model)
            elif role == "system":
                if text.strip() not in system_prompts:
                    system_prompts.append(text.strip())
                nxt = _later(carry, at)
            elif role == "tool" or (role == "assistant" and recipient not in (None, "all")):
                label = "Tool output" if role == "tool" else "Tool call"
                target = name if role == "tool" else recipient
                header = f"**{label}" + (f" ({target})" if isinstance(target, str) else "") + ":**"
                block = _quote(header + "\n" + text)
                nxt = _Carry(carry.parent_key, at, (*carry.blocks, block), carry.reasoning,
                             carry.model or model)
                if not kids:  # nothing follows on this branch: the traffic stands alone
                    key = emit(nxt, "assistant", "", model=nxt.model or default_model, at=at,
                               updated_at=at_updated)
                    nxt = _Carry(key, at)
            elif role in ("user", "assistant"):
                if role == "user" and (carry.blocks or carry.reasoning):
                    # Tool traffic that no reply followed before the user spoke again.
                    key = emit(_Carry(carry.parent_key, carry.time, carry.blocks, carry.reasoning),
                               "assistant", "", model=carry.model or default_model,
                               at=carry.time, updated_at=carry.time)
                    carry = _Carry(key, carry.time)
                if role == "assistant":
                    model = model or carry.model or default_model
                key = emit(carry, role, text, model=model, at=at, updated_at=at_updated,
                           finish=finish if role == "assistant" else None, status=status)
                nxt = _Carry(key, at)
            else:  # an unknown role: keep the text rather than lose it
                key = emit(carry, "assistant", text, model=model or default_model, at=at,
                           updated_at=at_updated)
                nxt = _Carry(key, at)
        represented[node_id] = nxt.parent_key
        for child in reversed(kids):
            stack.append((child, nxt))

    where = f"In conversation {number}" + (f" (“{title}”)" if title else "")
    plan.notes = [f"{where}, {n}; it was kept as the start of a branch." for n in loop_notes]
    plan.source_sha256 = _entry_sha256(conv)
    plan.system_prompt = "\n\n".join(system_prompts)
    if plan.model is None:  # no default model: the latest reply's
        plan.model = next((m.model for m in reversed(plan.messages) if m.model), None)
    current = conv.get("current_node")
    if isinstance(current, str) and current in represented:
        plan.selected_key = represented[current]
    elif plan.messages:
        plan.selected_key = plan.messages[-1].key
    return plan


def plan_chatgpt(data: Any) -> list[_ThreadPlan]:
    """Check a ChatGPT `conversations.json` document and plan its import (one thread per
    conversation that has at least one message)."""
    check_document(data)
    if isinstance(data, dict) and "mapping" in data:
        data = [data]
    if not isinstance(data, list):
        raise ConfigError(
            "This file is not a ChatGPT export: conversations.json holds a list of "
            "conversations. Nothing was imported."
        )
    plans = [_plan_conversation(conv, n) for n, conv in enumerate(data, start=1)]
    return [p for p in plans if p.messages]


async def import_chatgpt(db: Database | ThreadRepository, data: list[Any] | Path) -> ImportReport:
    """Import ChatGPT's `conversations.json` (see the module docstring for the rules).

    All or nothing, like `import_archive`.
    """
    document = await _load_json(data, "ChatGPT export") if isinstance(data, Path) else data
    plans = await asyncio.to_thread(plan_chatgpt, document)  # large files: off the UI thread
    return await _database(db).run(_insert_plan, plans)

