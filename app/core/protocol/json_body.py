"""A JSON request body encoded in pieces, so a multi-megabyte prompt never blocks the event loop.

httpx's `json=` encodes the whole body in one `json.dumps` call: for a 10 MB message that is
~120 ms during which the (GUI) event loop cannot run, and the C encoder escapes one big string
without ever letting another thread take the GIL. `encode_json_pieces` gives the same bytes as
httpx (`ensure_ascii=False`, compact separators, `allow_nan=False`, UTF-8) as a sequence of
pieces, cutting every string longer than `PIECE_CHARS` into slices encoded one by one; the caller
yields to the loop between pieces (`ProviderClient._send`). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["BIG_BODY_CHARS", "PIECE_CHARS", "encode_json_pieces", "has_big_string"]

PIECE_CHARS = 256 * 1024  # characters of a long string escaped per piece (~3 ms)
BIG_BODY_CHARS = 1024 * 1024  # a body holding a string this long is encoded in pieces

_DUMPS = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False}


def has_big_string(value: Any, limit: int = BIG_BODY_CHARS) -> bool:
    """True when `value` (JSON-like) holds a string longer than `limit` characters."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limit:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def _string_pieces(text: str) -> Iterator[str]:
    if len(text) <= PIECE_CHARS:
        yield json.dumps(text, ensure_ascii=False)
        return
    yield '"'
    for start in range(0, len(text), PIECE_CHARS):
        # Escaping is per character, so slices escape to the slices of the whole escape.
        yield json.dumps(text[start : start + PIECE_CHARS], ensure_ascii=False)[1:-1]
    yield '"'


def _pieces(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _string_pieces(value)
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            # A non-string key is written as json.dumps writes it ({1: x} -> {"1": x}).
            name = json.dumps(key, ensure_ascii=False) if isinstance(key, str) else json.dumps({key: None}, **_DUMPS)[1:-6]  # type: ignore[arg-type]
            yield ("," if i else "") + name + ":"
            yield from _pieces(item)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _pieces(item)
        yield "]"
    else:
        yield json.dumps(value, **_DUMPS)  # type: ignore[arg-type]


def encode_json_pieces(value: Any) -> Iterator[bytes]:
    """The UTF-8 JSON of `value`, byte-identical to httpx's `json=` encoding, in pieces."""
    for piece in _pieces(value):
        yield piece.encode("utf-8")
