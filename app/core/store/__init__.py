"""SQLite storage: the database (one worker thread), its migrations, and one repository per
aggregate (threads/messages, personas, images, notes, videos, settings)."""

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
