"""The Notes tab: folders and an index model, indexing progress, search by meaning and by words,
a preview at the hit, a Markdown editor for notes written here, and "Ask about these".

`NotesHost` is what the main window holds; `NotesTab` is the tab itself (see notes_tab.py).
"""

from app.ui.notes.citations import NOTE_SCHEME, linkify_citations, note_link, parse_note_link
from app.ui.notes.host import NotesHost
from app.ui.notes.notes_tab import NotesTab

__all__ = [
    "NOTE_SCHEME",
    "NotesHost",
    "NotesTab",
    "linkify_citations",
    "note_link",
    "parse_note_link",
]
