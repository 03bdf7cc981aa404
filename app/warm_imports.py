"""Import the pure-Python modules the composer needs on a helper thread while the GUI thread
is busy inside Qt (issue 9: time until the composer accepts typing).

From the QApplication's construction to the composer taking the focus, the GUI thread spends
much of its time in Qt's C++ code (the platform plugin, fonts, building, polishing and painting
widgets), and PySide6 releases the GIL there (measured: a Python thread kept ~90 % of its speed
while the GUI thread built and showed 200 widgets). This thread uses those stretches to import
the services' modules (asyncio, SQLite, the protocol core, the store), which would otherwise be
imported one after the other on the GUI thread after the first paint.

Only modules that never touch Qt are listed: PySide6 builds its Python types and enums lazily
and not thread-safely, so everything under `app.ui` is imported on the GUI thread as before.
Importing is idempotent and guarded by the import system's per-module locks: when the GUI thread
asks for a module this thread is still importing, it waits for it and gets the same module. If an
import fails here, it is left alone (no log: logging is not set up yet); the GUI thread's own
import of that module then raises as it always did.
"""

from __future__ import annotations

import contextlib
import importlib
import threading

# The modules the chat tab's services need before the composer accepts typing, leaves first.
# `app.core.*` never imports Qt (an import-linter contract).
MODULES = (
    "asyncio",
    "sqlite3",
    "json",
    "uuid",
    "logging.handlers",
    "concurrent.futures.thread",
    "app.core.errors",
    "app.core.providers",
    "app.core.providers.profile",
    "app.core.providers.repository",
    "app.core.secrets",
    "app.core.store.db",
    "app.core.store.records",
    "app.core.store.threads",
    "app.core.store.personas",
    "app.core.store.settings",
    "app.core.protocol.types",
    "app.core.protocol.errors",
    "app.core.protocol.chat_accumulator",
    "app.core.protocol.gemini",
    "app.core.services.context_window",
    "app.core.services.chat",
    "app.core.services.clients",
    "app.core.services.tasks",
)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        with contextlib.suppress(Exception):  # the GUI thread's own import reports it
            importlib.import_module(name)


def start(names: tuple[str, ...] = MODULES) -> threading.Thread:
    """Start importing `names` on a daemon thread; returns the thread (joined by nobody: the
    GUI thread's own imports wait for whatever is still loading)."""
    thread = threading.Thread(target=_import_all, args=(names,), name="warm-imports", daemon=True)
    thread.start()
    return thread
