"""Turning what a user types into a safe FTS5 query.

FTS5 has its own query language (`AND`, `OR`, `NOT`, `NEAR`, `"phrases"`, `prefix*`, `col:`,
`^`, parentheses, `-`); raw user text in a MATCH raises "fts5: syntax error" at the first stray
quote. Here every whitespace-separated word becomes a quoted string (inner `"` doubled), so
operators are matched as plain words, and the last word is a prefix query so results appear
while the user is still typing. Words with no letter or digit are dropped: they produce no
tokens under the unicode61 tokenizer.
"""

from __future__ import annotations

import re

__all__ = ["fts_query"]

_WORDISH = re.compile(r"\w", re.UNICODE)


def fts_query(text: str, *, prefix_last: bool = True) -> str | None:
    """An FTS5 MATCH expression for `text`, or None when it contains nothing searchable."""
    words = [w for w in text.split() if _WORDISH.search(w)]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
    return " ".join(quoted)
