"""The Notes tab: folders and an index model, indexing progress, search by meaning and by words,
a preview at the hit, a Markdown editor for notes written here, and "Ask about these".

`NotesHost` (host.py) is what the main window holds; `NotesTab` (notes_tab.py) is the tab itself.
Names are resolved on first use: the window's shell imports `app.ui.notes.host` before the first
paint, and this package must not pull in asyncio, SQLite or the tab's widgets with it. The
citation links live in `app.core.notes.citations`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NotesHost", "NotesTab"]

_WHERE = {
    "NotesHost": "app.ui.notes.host",
    "NotesTab": "app.ui.notes.notes_tab",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'app.ui.notes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
