"""Records read from and written to the database, and their row conversions.

Columns holding JSON (`params_json`, `usage_json`, `parts_json`, `tool_calls_json`) surface as
typed fields: `GenerationParams`, `Usage`, lists of dicts. Timestamps are Unix epoch seconds.

Search snippets mark each matched term with `HIGHLIGHT_START` (U+E000) before it and
`HIGHLIGHT_END` (U+E001) after it. These private-use characters never occur in normal text, so
a view escapes the snippet as plain text first and then swaps the markers for `<mark>`/`</mark>`
(see `highlight_html`), and no user text can forge a highlight or inject markup.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from app.core.protocol.types import GenerationParams, Usage

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "ImageRecord",
    "Message",
    "MessageStatus",
    "Note",
    "NoteChunk",
    "Persona",
    "SearchHit",
    "Thread",
    "ThreadKind",
    "VideoRecord",
    "highlight_html",
    "params_from_json",
    "params_to_json",
    "usage_from_json",
    "usage_to_json",
]

HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"

MessageStatus = Literal["complete", "streaming", "interrupted", "error", "cancelled"]
ThreadKind = Literal["chat", "completion"]
MESSAGE_STATUSES: frozenset[str] = frozenset(
    {"complete", "streaming", "interrupted", "error", "cancelled"}
)


def highlight_html(snippet: str) -> str:
    """Escape a search snippet for HTML and turn its markers into `<mark>` elements."""
    import html  # here, not at the top: `html` builds its entity table (~2,000 names) on import

    return html.escape(snippet).replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_END, "</mark>")


# --- JSON columns -----------------------------------------------------------------------------


def params_to_json(params: GenerationParams | None) -> str | None:
    return None if params is None else json.dumps(params.to_json())


def params_from_json(text: str | None) -> GenerationParams | None:
    return None if text is None else GenerationParams.from_json(json.loads(text or "{}"))


def usage_to_json(usage: Usage | None) -> str | None:
    return None if usage is None else json.dumps(asdict(usage))


def usage_from_json(text: str | None) -> Usage | None:
    if not text:
        return None
    data = json.loads(text)
    names = {f.name for f in fields(Usage)}
    return Usage(**{k: v for k, v in data.items() if k in names})


def _row_get(row: sqlite3.Row, name: str, default: Any = None) -> Any:
    return row[name] if name in row.keys() else default  # noqa: SIM118 (Row "in" tests values)


# --- records ----------------------------------------------------------------------------------


@dataclass
class Thread:
    """A conversation thread row: title, settings, kind and timestamps."""

    id: int
    title: str
    kind: ThreadKind = "chat"
    profile_id: str | None = None
    model: str | None = None
    system_prompt: str = ""
    params: GenerationParams = field(default_factory=GenerationParams)
    pinned: bool = False
    archived: bool = False
    selected_leaf_id: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    deleted_at: float | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Thread:
        return cls(
            id=row["id"],
            title=row["title"],
            kind=row["kind"],
            profile_id=row["profile_id"],
            model=row["model"],
            system_prompt=row["system_prompt"],
            params=params_from_json(row["params_json"]) or GenerationParams(),
            pinned=bool(row["pinned"]),
            archived=bool(row["archived"]),
            selected_leaf_id=row["selected_leaf_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            deleted_at=row["deleted_at"],
        )


@dataclass
class Message:
    """One node of a thread's message tree (`parent_id` None for a root)."""

    id: int
    thread_id: int
    parent_id: int | None
    role: str  # "system" | "user" | "assistant"
    content: str = ""
    # Attachments, e.g. {"type": "image", "mime": "image/png", "data_b64": "..."} or
    # {"type": "image", "mime": ..., "url": "https://..."}.
    parts: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    profile_id: str | None = None
    provider_name: str | None = None
    model: str | None = None
    params: GenerationParams | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    status: MessageStatus = "complete"
    error: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    refusal: str = ""  # schema v2
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # schema v2

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            id=row["id"],
            thread_id=row["thread_id"],
            parent_id=row["parent_id"],
            role=row["role"],
            content=row["content"],
            parts=json.loads(row["parts_json"] or "[]"),
            reasoning=row["reasoning"],
            profile_id=row["profile_id"],
            provider_name=row["provider_name"],
            model=row["model"],
            params=params_from_json(row["params_json"]),
            usage=usage_from_json(row["usage_json"]),
            finish_reason=row["finish_reason"],
            status=row["status"],
            error=row["error"],
            ttft_ms=row["ttft_ms"],
            tokens_per_s=row["tokens_per_s"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            refusal=_row_get(row, "refusal", ""),
            tool_calls=json.loads(_row_get(row, "tool_calls_json", "[]") or "[]"),
        )


@dataclass
class SearchHit:
    """A message matching a search. `snippet` marks matches with HIGHLIGHT_START/END.

    `rank` is FTS5's bm25 score: lower (more negative) is a better match.
    """

    message_id: int
    thread_id: int
    thread_title: str
    snippet: str
    rank: float
    role: str = ""


@dataclass
class Persona:
    """A saved system prompt with a name."""

    id: int
    name: str
    system_prompt: str = ""
    created_at: float = 0.0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Persona:
        return cls(row["id"], row["name"], row["system_prompt"], row["created_at"])


@dataclass
class ImageRecord:
    """One saved image: the file (relative `path`, content `sha256`) and how it was made.

    `path` is relative to the images directory (`ab/abcdef....png`). `job_id` is the generation
    (the batch) it came from, `batch_index` its place there. `params` holds every parameter that
    was sent; `raw_response` the provider's reply with image bytes removed. `deleted_at` set =
    in the trash (restorable); `starred` a user mark.
    """

    id: int
    path: str
    sha256: str
    prompt: str = ""
    revised_prompt: str = ""
    model: str | None = None
    profile_id: str | None = None
    size: str | None = None
    created_at: float = 0.0
    # schema v4
    job_id: int | None = None
    batch_index: int = 0
    provider: str | None = None
    quality: str | None = None
    style: str | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    mime: str | None = None
    byte_size: int | None = None
    raw_response: dict[str, Any] = field(default_factory=dict)
    starred: bool = False
    deleted_at: float | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def new(cls, path: str, sha256: str, prompt: str = "", **fields: Any) -> ImageRecord:
        """An image not written yet (`ImageRepository.add_image` / `add_many` take it): no id
        (0), and `created_at` 0 means "when it is written"."""
        return cls(0, path, sha256, prompt, **fields)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ImageRecord:
        base = dict(
            id=row["id"],
            path=row["path"],
            sha256=row["sha256"],
            prompt=row["prompt"],
            revised_prompt=row["revised_prompt"],
            model=row["model"],
            profile_id=row["profile_id"],
            size=row["size"],
            created_at=row["created_at"],
        )
        # One keys() per row (a gallery page decodes hundreds): v4 columns are all or none.
        if "starred" not in row.keys():  # noqa: SIM118 (Row "in" tests values)
            return cls(**base)
        params = row["params_json"]
        raw = row["raw_response_json"]
        return cls(
            **base,
            job_id=row["job_id"],
            batch_index=row["batch_index"],
            provider=row["provider"],
            quality=row["quality"],
            style=row["style"],
            seed=row["seed"],
            negative_prompt=row["negative_prompt"],
            params=json.loads(params) if params and params != "{}" else {},
            width=row["width"],
            height=row["height"],
            mime=row["mime"],
            byte_size=row["byte_size"],
            raw_response=json.loads(raw) if raw and raw != "{}" else {},
            starred=bool(row["starred"]),
            deleted_at=row["deleted_at"],
        )


@dataclass
class Note:
    """A note written in the app (indexed like a file)."""

    id: int
    title: str
    body: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Note:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass
class NoteChunk:
    """One indexed chunk of a note or file: its text, place and hash."""

    id: int
    note_id: int
    ord: int
    text: str
    model: str | None = None
    dim: int | None = None
    vector: bytes | None = None  # little-endian float32 x dim

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> NoteChunk:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass
class VideoRecord:
    """A video job's row: request, provider task, state and saved file."""

    id: int
    profile_id: str | None = None
    model: str | None = None
    prompt: str = ""
    task_id: str | None = None
    dialect: str | None = None
    state: str = "queued"  # a VideoState value
    progress: float | None = None
    video_url: str | None = None
    local_path: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> VideoRecord:
        return cls(**{f.name: row[f.name] for f in fields(cls)})
