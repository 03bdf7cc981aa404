"""The Notes use cases: sources, indexing as a durable job, and semantic + keyword search.

`NotesService` is what the Notes tab talks to (it never touches the store, files or vectors).
No Qt: listeners are plain callables called on the loop's thread; the UI adapts them.

Sources. `add_folder(path, excludes, max_file_size)` -> `NoteSource` (recursive; `.md`,
`.markdown`, `.txt`, `.rst`, `.org`, `.html`/`.htm` and `.pdf`; gitignore-style `excludes` on
top of `DEFAULT_EXCLUDES`; files above `max_file_size` bytes are skipped and counted).
`remove_folder(source_id)` forgets the folder, its files, chunks and their vectors (the files
on disk are never touched). `list_sources()`. Notes written in the app live in one built-in
source (`kind == "app"`, `APP_SOURCE_ID`) and are indexed like files.

Before the first indexing. `await estimate(source_id)` -> `IndexEstimate`: how many files and
roughly how many tokens would be sent, and to which provider/model (scans; sends nothing).

Indexing. `await index(source_id=None)` -> job id (kind `INDEX_KIND` of the job engine; None:
every source). The run scans, extracts, chunks (by headings, paragraphs, code blocks kept
whole) and stores chunks, then embeds the chunks whose text hash has no vector in the active
index, in batches with a bounded number of requests in flight. Progress reaches listeners as
`NotesEvent("progress", progress=IndexProgress)` (files, chunks, tokens, ETA) and the job row
as `NotesEvent("job", job=JobRecord)`. `pause(job_id)` / `resume(job_id)` / `cancel(job_id)`;
`retry_failed(job_id)` re-runs a job that failed (only chunks still without a vector are sent).
Crash or kill: chunks are in SQLite before any request; a vector is written the moment its
batch returns, so the next start (`recover()`) embeds only what is still pending. Nothing
already embedded is sent twice (vectors are keyed by (index, chunk text hash)).

Incremental. Each file has a content hash and each chunk a text hash: an unchanged file (size,
mtime, then hash) is skipped; a changed file re-chunks and re-embeds only chunks whose text
changed; deleted files are removed. `watch(source_id, True)` watches a folder (polling or
`watchfiles`, debounced) and indexes changes in the background; `stop_watching()` stops all.

Indexes. One per (profile, model, dimension): `index_spec()` is the active one, `indexes()`
lists them. `set_index_model(profile_id, model, dim)` -> `RebuildCost` makes that index
active (creating it); its cost says how many chunks/tokens lack a vector there. Nothing is
embedded until `index()` is called: changing the model never re-embeds by itself, and vectors
of different indexes are never compared (search uses the active index only).

Search. `await search(query, mode="both", limit=20)` -> `list[NoteHit]` best first. `semantic`
embeds the query with the index's model (query task type where the dialect has one) and
searches nearest neighbours over stored vectors; `keyword` uses FTS5 (bm25); `both` fuses the
two lists with weighted reciprocal-rank fusion (`NoteHit.score`). Snippets mark matches with
`HIGHLIGHT_START`/`HIGHLIGHT_END`. `await read_hit(hit)` -> `HitPreview`: the document's text
(as extracted) with the hit's line range / page, for a preview pane and "open at line".

App notes. `create_note(title, body)`, `update_note(note_id, title=..., body=...)`,
`delete_note(note_id)` (soft; `restore_note(note_id)` undoes), `get_note`, `list_notes()`,
`save_message_as_note(message_id)` (title from the message's thread). Each change is indexed
when `index()` next runs, or at once (debounced) when the app source is watched.

Events. `subscribe(fn)` -> unsubscribe; `fn(NotesEvent)` with kind
- `"progress"`: `progress` (IndexProgress) of a running indexing job;
- `"job"`: `job` (JobRecord) changed state (started, paused, failed, completed);
- `"sources"`: the list of sources or their counts changed;
- `"notes"`: an app note changed (`note`).

Start-up and shutdown. `await recover()` once at start (resumes an indexing run left by a
crash or quit). `await aclose()` stops watching and background work; indexing jobs run on the
shared `JobEngine`, whose `aclose()` leaves their rows for the next start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.jobs import JobEngine, JobRecord
from app.core.store.db import Database

__all__ = [
    "APP_SOURCE_ID",
    "DEFAULT_EXCLUDES",
    "DEFAULT_MAX_FILE_SIZE",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "INDEX_KIND",
    "AppNote",
    "HitPreview",
    "IndexEstimate",
    "IndexProgress",
    "IndexSpec",
    "NoteHit",
    "NoteSource",
    "NotesEvent",
    "NotesListener",
    "NotesService",
    "RebuildCost",
    "SearchMode",
]

INDEX_KIND = "notes.index"
APP_SOURCE_ID = 1  # the built-in source holding notes written in the app
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    ".obsidian/",
    ".trash/",
    "__pycache__/",
    ".venv/",
    ".DS_Store",
    "*.tmp",
    "*~",
)
# Markers around matched words in `NoteHit.snippet` (control characters never found in notes).
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"

SearchMode = Literal["semantic", "keyword", "both"]


@dataclass
class NoteSource:
    """A folder the user added, or the built-in source of app notes (`kind == "app"`)."""

    id: int
    kind: Literal["folder", "app"]
    path: str  # absolute folder path; "" for the app source
    excludes: list[str] = field(default_factory=list)  # the user's, on top of DEFAULT_EXCLUDES
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    watching: bool = False
    created_at: float = 0.0
    files: int = 0  # files indexed (extracted and chunked)
    skipped: int = 0  # too big, unreadable or failed extraction
    chunks: int = 0
    pending_chunks: int = 0  # chunks without a vector in the active index
    last_indexed_at: float | None = None

    @property
    def name(self) -> str:
        return "Notes written here" if self.kind == "app" else (Path(self.path).name or self.path)


@dataclass
class IndexSpec:
    """One vector index: every vector in it comes from this (profile, model, dimension)."""

    id: int
    profile_id: str
    model: str
    dim: int | None  # None: the model's own size (learned from the first vector)
    active: bool = False
    vectors: int = 0
    created_at: float = 0.0


@dataclass
class IndexEstimate:
    """What indexing a source (or all) would send, before anything is sent."""

    files: int
    tokens: int  # roughly: characters / 4 of the chunks still lacking a vector
    bytes: int
    provider: str  # the profile's display name (who receives the notes' text)
    profile_id: str
    model: str
    skipped: int = 0  # files above the size limit or excluded by type


@dataclass
class RebuildCost:
    """What making an index active would cost to fill: chunks (and tokens) it lacks."""

    index: IndexSpec
    chunks: int
    tokens: int
    provider: str


@dataclass
class IndexProgress:
    """A running indexing job's progress (sent often; the job row is written at most ~2/s)."""

    job_id: int
    phase: Literal["scanning", "embedding", "done"]
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0  # embedded in this run (or found already embedded)
    chunks_total: int = 0  # to embed in this run
    tokens: int = 0  # tokens sent in this run (roughly)
    failed_batches: int = 0
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.phase == "scanning":
            return None if not self.files_total else 0.1 * self.files_done / self.files_total
        if not self.chunks_total:
            return 1.0 if self.phase == "done" else None
        return 0.1 + 0.9 * self.chunks_done / self.chunks_total


@dataclass
class NoteHit:
    """One search result: a chunk of a file (or app note) and where it is."""

    chunk_id: int
    source_id: int
    file_id: int
    path: str  # absolute file path; "" for an app note
    title: str  # file name or the app note's title
    heading_path: list[str]  # e.g. ["Networking", "VPN"]
    line_start: int  # 1-based, inclusive, in the extracted text
    line_end: int
    page: int | None  # 1-based page for PDFs
    snippet: str  # with HIGHLIGHT_START/HIGHLIGHT_END around matched words
    score: float  # higher is better (cosine for semantic, fused RRF for both, -bm25 keyword)
    note_id: int | None = None  # for app notes
    semantic_rank: int | None = None  # 1-based rank in each list (None: not in it)
    keyword_rank: int | None = None


@dataclass
class HitPreview:
    """The document around a hit, for the preview pane."""

    hit: NoteHit
    text: str  # the whole document's extracted text (Markdown for .md and app notes)
    format: Literal["markdown", "text", "html", "pdf", "rst", "org"]
    line_start: int
    line_end: int
    page: int | None


@dataclass
class AppNote:
    id: int
    title: str
    body: str
    created_at: float
    updated_at: float
    deleted_at: float | None = None


@dataclass
class NotesEvent:
    kind: Literal["progress", "job", "sources", "notes"]
    progress: IndexProgress | None = None
    job: JobRecord | None = None
    note: AppNote | None = None


NotesListener = Callable[[NotesEvent], None]


class NotesService:
    """Notes sources, indexing and search over one database (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        jobs: JobEngine,
        clients: Any,  # ClientPool (anything with `async get(profile_id) -> ProviderClient`)
        *,
        profiles: Any = None,  # anything with `get(profile_id) -> ProviderProfile | None`
        batch_size: int = 64,  # inputs per embeddings request (lowered to the provider's limit)
        max_in_flight: int = 2,
        chunk_tokens: int = 400,
        chunk_overlap: int = 40,
        poll_interval: float = 2.0,  # watching: seconds between scans when polling
        debounce: float = 1.0,
        pdf_timeout: float = 30.0,  # seconds per PDF in the worker process
        on_error: Callable[[BaseException], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        raise NotImplementedError

    @property
    def engine(self) -> JobEngine:
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def subscribe(self, listener: NotesListener) -> Callable[[], None]:
        raise NotImplementedError

    # --- sources ------------------------------------------------------------------------------

    async def add_folder(
        self,
        path: str | Path,
        excludes: Sequence[str] = (),
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> NoteSource:
        """Add a folder (ConfigError if it is not a readable directory or already added)."""
        raise NotImplementedError

    async def update_folder(
        self,
        source_id: int,
        *,
        excludes: Sequence[str] | None = None,
        max_file_size: int | None = None,
    ) -> NoteSource:
        raise NotImplementedError

    async def remove_folder(self, source_id: int) -> None:
        raise NotImplementedError

    async def list_sources(self) -> list[NoteSource]:
        """Every source with its counts (the app source first)."""
        raise NotImplementedError

    async def estimate(self, source_id: int | None = None) -> IndexEstimate:
        """Files and rough tokens indexing would send, and to whom (ConfigError: no index set)."""
        raise NotImplementedError

    # --- indexes ------------------------------------------------------------------------------

    async def index_spec(self) -> IndexSpec | None:
        """The active index, or None before `set_index_model` was ever called."""
        raise NotImplementedError

    async def indexes(self) -> list[IndexSpec]:
        raise NotImplementedError

    async def set_index_model(
        self, profile_id: str, model: str, dim: int | None = None
    ) -> RebuildCost:
        """Make (profile, model, dim) the active index; its cost to fill. Sends nothing."""
        raise NotImplementedError

    async def drop_index(self, index_id: int) -> None:
        """Delete an inactive index's vectors (ConfigError for the active one)."""
        raise NotImplementedError

    # --- indexing -----------------------------------------------------------------------------

    async def index(self, source_id: int | None = None) -> int:
        """Start an indexing job (one source, or all); its job id. An active job for the same
        scope is returned instead of starting a second one."""
        raise NotImplementedError

    async def pause(self, job_id: int) -> None:
        raise NotImplementedError

    async def resume(self, job_id: int) -> None:
        raise NotImplementedError

    async def cancel(self, job_id: int) -> None:
        raise NotImplementedError

    async def retry_failed(self, job_id: int) -> None:
        """Run a failed (or interrupted) job again; only chunks still without a vector go."""
        raise NotImplementedError

    async def jobs(self, *, active_only: bool = False, limit: int = 50) -> list[JobRecord]:
        raise NotImplementedError

    async def wait(self, job_id: int) -> JobRecord | None:
        """Until the job's current run ends (tests, scripts)."""
        raise NotImplementedError

    def progress(self, job_id: int) -> IndexProgress | None:
        """The last progress of a running job (None if not running here)."""
        raise NotImplementedError

    # --- watching -----------------------------------------------------------------------------

    async def watch(self, source_id: int, on: bool = True) -> None:
        """Watch a folder (saved: watching resumes at next start) and index its changes."""
        raise NotImplementedError

    async def stop_watching(self) -> None:
        """Stop every watcher for now (the saved setting stays)."""
        raise NotImplementedError

    # --- search -------------------------------------------------------------------------------

    async def search(
        self, query: str, mode: SearchMode = "both", limit: int = 20
    ) -> list[NoteHit]:
        """Best hits first. `semantic`/`both` need an active index with vectors (otherwise
        `both` falls back to keyword and `semantic` raises ConfigError)."""
        raise NotImplementedError

    async def read_hit(self, hit: NoteHit) -> HitPreview:
        raise NotImplementedError

    # --- app notes ----------------------------------------------------------------------------

    async def create_note(self, title: str, body: str = "") -> AppNote:
        raise NotImplementedError

    async def update_note(
        self, note_id: int, *, title: str | None = None, body: str | None = None
    ) -> AppNote:
        raise NotImplementedError

    async def delete_note(self, note_id: int) -> AppNote:
        """Soft delete (leaves search at once); `restore_note` undoes it."""
        raise NotImplementedError

    async def restore_note(self, note_id: int) -> AppNote:
        raise NotImplementedError

    async def get_note(self, note_id: int) -> AppNote | None:
        raise NotImplementedError

    async def list_notes(self) -> list[AppNote]:
        """Live app notes, most recently updated first."""
        raise NotImplementedError

    async def save_message_as_note(self, message_id: int, title: str | None = None) -> AppNote:
        """A chat message's text as a new app note (title: given, else the thread's)."""
        raise NotImplementedError
