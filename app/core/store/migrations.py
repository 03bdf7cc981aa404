"""The database schema as a list of migrations; `PRAGMA user_version` says how many have run.

`MIGRATIONS[i]` takes a database from version i to i+1. `Database.open` runs each step inside
one transaction together with the `user_version` bump, after taking a backup copy of a
non-empty database. To change the schema, append a function here (never edit a released step)
and add its data case to `tests/core/store/test_migrations.py`.

Full-text search: `messages_fts`, `images_fts` and `notes_fts` are FTS5 *external content*
tables (they store only the index; text lives in the base table) kept in step by triggers.
Messages whose status is `streaming` are left out of the index: a reply being journalled is
rewritten every few hundred milliseconds, and re-indexing it each time would make a long reply
cost quadratic work. It enters the index when its status changes (complete, error, ...).

Timestamps are REAL Unix epoch seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration", "execute_script"]

Migration = Callable[[sqlite3.Connection], None]

TOKENIZE = "unicode61 remove_diacritics 2"


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated statements one at a time.

    `Connection.executescript` commits first, which would break the migration's transaction;
    `sqlite3.complete_statement` keeps trigger bodies (which contain `;`) in one piece.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and statement != ";":
                conn.execute(statement)
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def _fts_triggers(table: str, columns: list[str], *, when: str | None = None) -> str:
    """Triggers keeping `{table}_fts` in step with `table`.

    `when` is a condition on a row (written with `R.` for the row) that must hold for the row
    to be indexed; rows failing it are neither inserted into nor deleted from the index.
    """
    fts = f"{table}_fts"
    cols = ", ".join(columns)
    new_vals = ", ".join(f"new.{c}" for c in columns)
    old_vals = ", ".join(f"old.{c}" for c in columns)
    cond_new = when.replace("R.", "new.") if when else "1"
    cond_old = when.replace("R.", "old.") if when else "1"
    watched = ", ".join(columns + (["status"] if when and "status" in when else []))
    return f"""
CREATE TRIGGER {table}_fts_ai AFTER INSERT ON {table} WHEN {cond_new} BEGIN
  INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new_vals});
END;
CREATE TRIGGER {table}_fts_ad AFTER DELETE ON {table} WHEN {cond_old} BEGIN
  INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old_vals});
END;
CREATE TRIGGER {table}_fts_au AFTER UPDATE OF {watched} ON {table}
WHEN ({cond_old}) OR ({cond_new}) BEGIN
  INSERT INTO {fts}({fts}, rowid, {cols}) SELECT 'delete', old.id, {old_vals} WHERE {cond_old};
  INSERT INTO {fts}(rowid, {cols}) SELECT new.id, {new_vals} WHERE {cond_new};
END;
"""


def _v1_initial_schema(conn: sqlite3.Connection) -> None:
    execute_script(
        conn,
        f"""
CREATE TABLE threads (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'completion')),
  profile_id TEXT,
  model TEXT,
  system_prompt TEXT NOT NULL DEFAULT '',
  params_json TEXT NOT NULL DEFAULT '{{}}',
  pinned INTEGER NOT NULL DEFAULT 0,
  archived INTEGER NOT NULL DEFAULT 0,
  selected_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  deleted_at REAL
);
CREATE INDEX threads_updated ON threads(updated_at);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  parts_json TEXT NOT NULL DEFAULT '[]',
  reasoning TEXT NOT NULL DEFAULT '',
  profile_id TEXT,
  provider_name TEXT,
  model TEXT,
  params_json TEXT,
  usage_json TEXT,
  finish_reason TEXT,
  status TEXT NOT NULL DEFAULT 'complete'
    CHECK (status IN ('complete', 'streaming', 'interrupted', 'error', 'cancelled')),
  error TEXT,
  ttft_ms REAL,
  tokens_per_s REAL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE INDEX messages_thread_parent ON messages(thread_id, parent_id);
CREATE INDEX messages_parent ON messages(parent_id);

CREATE VIRTUAL TABLE messages_fts USING fts5(
  content, content='messages', content_rowid='id', tokenize='{TOKENIZE}'
);
{_fts_triggers("messages", ["content"], when="R.status != 'streaming'")}

CREATE TABLE personas (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  system_prompt TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL
);

CREATE TABLE images (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  prompt TEXT NOT NULL DEFAULT '',
  revised_prompt TEXT NOT NULL DEFAULT '',
  model TEXT,
  profile_id TEXT,
  size TEXT,
  created_at REAL NOT NULL
);
CREATE INDEX images_sha256 ON images(sha256);
CREATE INDEX images_created ON images(created_at);
CREATE VIRTUAL TABLE images_fts USING fts5(
  prompt, revised_prompt, content='images', content_rowid='id', tokenize='{TOKENIZE}'
);
{_fts_triggers("images", ["prompt", "revised_prompt"])}

CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE VIRTUAL TABLE notes_fts USING fts5(
  title, body, content='notes', content_rowid='id', tokenize='{TOKENIZE}'
);
{_fts_triggers("notes", ["title", "body"])}

CREATE TABLE note_chunks (
  id INTEGER PRIMARY KEY,
  note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  text TEXT NOT NULL,
  model TEXT,
  dim INTEGER,
  vector BLOB
);
CREATE INDEX note_chunks_note ON note_chunks(note_id, ord);

CREATE TABLE videos (
  id INTEGER PRIMARY KEY,
  profile_id TEXT,
  model TEXT,
  prompt TEXT NOT NULL DEFAULT '',
  task_id TEXT,
  dialect TEXT,
  state TEXT NOT NULL DEFAULT 'queued',
  progress REAL,
  video_url TEXT,
  local_path TEXT,
  error TEXT,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT
);
""",
    )


def _v2_refusals_tool_calls_and_recovery_index(conn: sqlite3.Connection) -> None:
    """v2: keep what v1 dropped from a reply, and make start-up recovery an index lookup.

    - `messages.refusal`: a provider's refusal text (OpenAI `refusal` deltas), shown apart from
      the reply instead of being lost.
    - `messages.tool_calls_json`: tool calls the model made (a JSON list), so a reply that only
      called a tool is not an empty bubble.
    - a partial index on the few rows with status `streaming`, so `mark_streaming_interrupted`
      at start-up does not scan every message of a large history.
    """
    execute_script(
        conn,
        """
ALTER TABLE messages ADD COLUMN refusal TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN tool_calls_json TEXT NOT NULL DEFAULT '[]';
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';
""",
    )


def _v3_fts_prefix_indexes(conn: sqlite3.Connection) -> None:
    """v3: prefix indexes for search-as-you-type.

    The last word typed is searched as a prefix (`qu*`); without a prefix index FTS5 expands it
    over the whole vocabulary on every keystroke, which took ~300-500 ms for two- and
    three-letter prefixes over 200,000 messages. `prefix='2 3'` keeps those prefixes indexed.
    An FTS5 table's options cannot be altered, so `messages_fts` is recreated and refilled from
    `messages` — without rows still `streaming`, exactly as the triggers index them (a row
    indexed while streaming would later be "deleted" with the wrong values and corrupt the
    index). The triggers refer to the table by name and stay as they are.
    """
    execute_script(
        conn,
        f"""
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  content, content='messages', content_rowid='id', tokenize='{TOKENIZE}', prefix='2 3'
);
INSERT INTO messages_fts(rowid, content)
  SELECT id, content FROM messages WHERE status != 'streaming';
""",
    )


def _v4_jobs_and_image_library(conn: sqlite3.Connection) -> None:
    """v4: durable jobs (`app.core.jobs`) and what the image library needs (issue 10).

    - `jobs`: one row per long-running piece of work, written before its request is sent.
      A partial index on the few active rows keeps start-up recovery an index lookup.
    - `images`: the generation's job (its batch), index in the batch, provider, quality, style,
      seed, negative prompt, every parameter (JSON), width/height, MIME type, byte size, the raw
      response minus image bytes (JSON), a star and a soft delete (undo).
    - Gallery indexes: one per filter, each ending in (created_at, id) so every filtered page is
      an index range scan in keyset order; partial on live (not deleted) rows.
    - one row per (job, place in the batch): a download resumed after a crash that came after
      the row was written finds it instead of saving the image twice.
    - `images_fts` recreated with prefix indexes for search-as-you-type (see v3) and refilled.
    """
    execute_script(
        conn,
        f"""
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'submitting' CHECK (state IN
    ('submitting', 'running', 'downloading', 'completed', 'failed', 'cancelled', 'interrupted')),
  owner_key TEXT NOT NULL DEFAULT '',
  params_json TEXT NOT NULL DEFAULT '{{}}',
  provider_task_id TEXT,
  progress REAL,
  progress_text TEXT NOT NULL DEFAULT '',
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  may_have_reached_provider INTEGER NOT NULL DEFAULT 0,
  result_json TEXT NOT NULL DEFAULT '{{}}',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE INDEX jobs_kind ON jobs(kind, id);
CREATE INDEX jobs_active ON jobs(kind, state)
  WHERE state IN ('submitting', 'running', 'downloading');

ALTER TABLE images ADD COLUMN job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL;
ALTER TABLE images ADD COLUMN batch_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN provider TEXT;
ALTER TABLE images ADD COLUMN quality TEXT;
ALTER TABLE images ADD COLUMN style TEXT;
ALTER TABLE images ADD COLUMN seed INTEGER;
ALTER TABLE images ADD COLUMN negative_prompt TEXT;
ALTER TABLE images ADD COLUMN params_json TEXT NOT NULL DEFAULT '{{}}';
ALTER TABLE images ADD COLUMN width INTEGER;
ALTER TABLE images ADD COLUMN height INTEGER;
ALTER TABLE images ADD COLUMN mime TEXT;
ALTER TABLE images ADD COLUMN byte_size INTEGER;
ALTER TABLE images ADD COLUMN raw_response_json TEXT NOT NULL DEFAULT '{{}}';
ALTER TABLE images ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN deleted_at REAL;

CREATE INDEX images_live ON images(created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX images_by_profile ON images(profile_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX images_by_model ON images(model, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX images_by_size ON images(size, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX images_starred ON images(created_at, id) WHERE starred = 1 AND deleted_at IS NULL;
CREATE UNIQUE INDEX images_by_job ON images(job_id, batch_index) WHERE job_id IS NOT NULL;

DROP TABLE images_fts;
CREATE VIRTUAL TABLE images_fts USING fts5(
  prompt, revised_prompt, content='images', content_rowid='id', tokenize='{TOKENIZE}',
  prefix='2 3'
);
INSERT INTO images_fts(rowid, prompt, revised_prompt) SELECT id, prompt, revised_prompt FROM images;
""",
    )


def _v5_selected_leaf_index(conn: sqlite3.Connection) -> None:
    """v5: an index on `threads.selected_leaf_id`.

    `selected_leaf_id` is `REFERENCES messages(id) ON DELETE SET NULL`, so deleting a message
    makes SQLite look for threads pointing at it. Without an index that is a scan of every
    thread per deleted message: purging a 20,000-message thread beside 10,000 other threads
    took 29 s instead of 0.3 s.
    """
    execute_script(conn, "CREATE INDEX threads_selected_leaf ON threads(selected_leaf_id);")


def _v6_notes_index(conn: sqlite3.Connection) -> None:
    """v6: notes search (issue 12): sources, files, structured chunks, per-model vector indexes.

    - `note_sources`: folders the user added, plus row 1, the built-in source of app notes.
    - `note_files`: one row per file (or app note, `rel_path` 'note:<id>') with size, mtime and
      content hash, so a rescan skips unchanged files without reading them.
    - `note_chunks` is recreated: v1's (text + one float32 vector per chunk, no file or lines)
      held only a rebuildable copy of app notes, and nothing wrote it. Chunks now keep their
      heading path (joined by U+001F, which the tokenizer treats as a separator), lines, page,
      and the SHA-256 of their embedded text; `note_chunks_fts` indexes heading and text.
    - `note_indexes`: one per (profile, model, dim; 0 = the model's own size), one active.
    - `note_vectors`: float16 vectors keyed by (index, chunk text hash): an unchanged chunk in
      an edited file, or the same text in two files, is never embedded twice.
    - `notes.deleted_at`: app notes are deleted softly (undo).
    """
    execute_script(
        conn,
        f"""
CREATE TABLE note_sources (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('folder', 'app')),
  path TEXT NOT NULL DEFAULT '',
  excludes_json TEXT NOT NULL DEFAULT '[]',
  max_file_size INTEGER NOT NULL DEFAULT 5242880,
  watching INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  last_indexed_at REAL
);
CREATE UNIQUE INDEX note_sources_path ON note_sources(path) WHERE kind = 'folder';
INSERT INTO note_sources (id, kind, path, created_at) VALUES (1, 'app', '', 0);

ALTER TABLE notes ADD COLUMN deleted_at REAL;

CREATE TABLE note_files (
  id INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES note_sources(id) ON DELETE CASCADE,
  rel_path TEXT NOT NULL,
  note_id INTEGER REFERENCES notes(id) ON DELETE CASCADE,
  format TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  mtime_ns INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'skipped', 'error')),
  error TEXT,
  indexed_at REAL NOT NULL,
  UNIQUE (source_id, rel_path)
);
CREATE INDEX note_files_note ON note_files(note_id) WHERE note_id IS NOT NULL;

DROP TABLE note_chunks;
CREATE TABLE note_chunks (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL REFERENCES note_files(id) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  heading TEXT NOT NULL DEFAULT '',
  line_start INTEGER NOT NULL,
  line_end INTEGER NOT NULL,
  page INTEGER,
  tokens INTEGER NOT NULL DEFAULT 0,
  text TEXT NOT NULL
);
CREATE INDEX note_chunks_file ON note_chunks(file_id, ord);
CREATE INDEX note_chunks_sha ON note_chunks(sha256);
CREATE VIRTUAL TABLE note_chunks_fts USING fts5(
  heading, text, content='note_chunks', content_rowid='id', tokenize='{TOKENIZE}', prefix='2 3'
);
{_fts_triggers("note_chunks", ["heading", "text"])}

CREATE TABLE note_indexes (
  id INTEGER PRIMARY KEY,
  profile_id TEXT NOT NULL,
  model TEXT NOT NULL,
  dim INTEGER NOT NULL DEFAULT 0,
  actual_dim INTEGER,
  active INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  UNIQUE (profile_id, model, dim)
);
CREATE TABLE note_vectors (
  index_id INTEGER NOT NULL REFERENCES note_indexes(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (index_id, sha256)
) WITHOUT ROWID;
""",
    )


def _v7_sidebar_index(conn: sqlite3.Connection) -> None:
    """v7: a covering index for the sidebar's thread list (issue 9).

    `list_thread_summaries` reads id, title, pinned, archived and updated_at of every live
    thread, pinned first, then the most recent activity, then the newest id. Without an index
    that is a scan of the table (each row with its system prompt and params) and a sort in a
    temporary b-tree; with this partial index (live threads only) SQLite walks the index
    backwards in that order and never reads the table. `deleted_at` is a column of it too
    (always NULL there): without it SQLite reads the table to test the WHERE term. For 100,000
    threads the query's own work went from 123 ms to 21 ms of CPU (EXPLAIN QUERY PLAN: "SCAN
    threads USING COVERING INDEX threads_sidebar", no temporary b-tree).
    """
    execute_script(
        conn,
        "CREATE INDEX threads_sidebar ON threads"
        "(pinned, updated_at, id, archived, title, deleted_at) WHERE deleted_at IS NULL;",
    )


def _v8_note_index_generation(conn: sqlite3.Connection) -> None:
    """v8: `note_indexes.generation`, bumped by every change to an index's vectors, so the saved
    copy of its nearest-neighbour graph (a file beside the database) is known to match SQLite
    without reading every vector (a mismatch rebuilds it)."""
    execute_script(
        conn, "ALTER TABLE note_indexes ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
    )


MIGRATIONS: list[Migration] = [
    _v1_initial_schema,
    _v2_refusals_tool_calls_and_recovery_index,
    _v3_fts_prefix_indexes,
    _v4_jobs_and_image_library,
    _v5_selected_leaf_index,
    _v6_notes_index,
    _v7_sidebar_index,
    _v8_note_index_generation,
]

LATEST_VERSION = len(MIGRATIONS)
