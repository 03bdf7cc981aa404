"""SQLite storage: the database (one worker thread), its migrations, and one repository per
aggregate (threads/messages, personas, images, notes, videos, settings).

The names below are the public surface. They are imported on first use (PEP 562): the chat tab
needs only the database and the thread repository, and importing this package must not load
the images, notes and videos repositories before the composer accepts typing (issue 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from app.core.store.db import Database, transaction
    from app.core.store.images import ImageRepository
    from app.core.store.migrations import LATEST_VERSION, MIGRATIONS
    from app.core.store.notes import NoteRepository
    from app.core.store.personas import PersonaRepository
    from app.core.store.records import (
        HIGHLIGHT_END,
        HIGHLIGHT_START,
        ImageRecord,
        Message,
        Note,
        NoteChunk,
        Persona,
        SearchHit,
        Thread,
        VideoRecord,
    )
    from app.core.store.settings import SettingsRepository
    from app.core.store.threads import ThreadRepository
    from app.core.store.videos import VideoRepository

_WHERE = {
    "Database": "db",
    "transaction": "db",
    "ImageRepository": "images",
    "LATEST_VERSION": "migrations",
    "MIGRATIONS": "migrations",
    "NoteRepository": "notes",
    "PersonaRepository": "personas",
    "HIGHLIGHT_END": "records",
    "HIGHLIGHT_START": "records",
    "ImageRecord": "records",
    "Message": "records",
    "Note": "records",
    "NoteChunk": "records",
    "Persona": "records",
    "SearchHit": "records",
    "Thread": "records",
    "VideoRecord": "records",
    "SettingsRepository": "settings",
    "ThreadRepository": "threads",
    "VideoRepository": "videos",
}

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "LATEST_VERSION",
    "MIGRATIONS",
    "Database",
    "ImageRecord",
    "ImageRepository",
    "Message",
    "Note",
    "NoteChunk",
    "NoteRepository",
    "Persona",
    "PersonaRepository",
    "SearchHit",
    "SettingsRepository",
    "Thread",
    "ThreadRepository",
    "VideoRecord",
    "VideoRepository",
    "transaction",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
