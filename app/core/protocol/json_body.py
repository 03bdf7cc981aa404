"""JSON bodies in pieces: a multi-megabyte prompt or reply never blocks the event loop.

httpx's `json=` encodes the whole body in one `json.dumps` call: for a 10 MB message that is
~120 ms during which the (GUI) event loop cannot run, and the C encoder escapes one big string
without ever letting another thread take the GIL. `encode_json_pieces` gives the same bytes as
httpx (`ensure_ascii=False`, compact separators, `allow_nan=False`, UTF-8) as a sequence of
pieces, cutting every string longer than `PIECE_CHARS` into slices encoded one by one; the caller
yields to the loop between pieces (`ProviderClient._send`). Pure: no I/O.

The other direction: a reply body of `OFF_LOOP_BODY_BYTES` or more (a batch of embeddings is
~2 MB of JSON numbers for 64 × 1,536) is decoded by `aloads_in_pieces`, in slices of about
`SLICE_SECONDS` with the loop running between them (`stream_reader.adecode_json_body`, used by
`ProviderClient._request`), instead of one `json.loads` of ~20-35 ms. Not on a worker thread:
the C decoder never releases the GIL inside one call, so the loop's thread waits for the whole
call anyway (measured on 1.9 MB: a 5 ms ticker 40-130 ms late with `asyncio.to_thread(json.loads)`,
15-25 ms with the sliced decoder on a thread, which then also competes for the GIL every switch
interval; in slices on the loop each callback costs at most one slice). The decoder walks the
outer containers (down to `PIECE_DEPTH`) in Python and hands each inner value to the C scanner
(`raw_decode`) on its own: one embedding of 1,536 floats is ~0.5 ms. An array of scalars is
decoded whole (a vector is one piece, not 1,536). Same value and same failures as `json.loads`
(`ValueError` where it raises one; tested by feeding both every prefix and mutation of random
documents). Smaller bodies use `json.loads` directly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Generator, Iterator
from typing import Any

__all__ = [
    "BIG_BODY_CHARS",
    "OFF_LOOP_BODY_BYTES",
    "PIECE_CHARS",
    "aloads_in_pieces",
    "encode_json_pieces",
    "has_big_string",
    "loads_in_pieces",
]

PIECE_CHARS = 256 * 1024  # characters of a long string escaped per piece (~3 ms)
BIG_BODY_CHARS = 1024 * 1024  # a body holding a string this long is encoded in pieces
OFF_LOOP_BODY_BYTES = 64 * 1024  # a reply body this large is decoded in slices (json.loads: ~1 ms+)

SLICE_SECONDS = 0.002  # decoding a big reply on the loop lets it run this often
PIECE_DEPTH = 3  # containers nested less deep than this are walked in Python, deeper decoded whole

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


_DECODER = json.JSONDecoder()
_WS = " \t\n\r"

# A generator that yields (None) after each value handed to the C scanner and returns the
# decoded value: the caller decides when to let other work run (`aloads_in_pieces`).
_Steps = Generator[None, None, Any]


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def _fail(message: str, text: str, i: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, text, i)


def _value(text: str, i: int, depth: int, out: list[Any]) -> Generator[None, None, int]:
    """Decode the value starting at `i` (no whitespace before it) into `out`; the index after it."""
    ch = text[i : i + 1]
    if depth < PIECE_DEPTH and ch == "{":
        return (yield from _object(text, i + 1, depth, out))
    if depth < PIECE_DEPTH and ch == "[":
        j = _skip(text, i + 1)
        if text[j : j + 1] in ("{", "["):  # an array of containers is walked; of scalars, decoded whole
            return (yield from _array(text, j, depth, out))
    value, end = _DECODER.raw_decode(text, i)
    out.append(value)
    yield
    return end


def _object(text: str, i: int, depth: int, out: list[Any]) -> Generator[None, None, int]:
    obj: dict[str, Any] = {}
    out.append(obj)
    i = _skip(text, i)
    if text[i : i + 1] == "}":
        return i + 1
    holder: list[Any] = []
    while True:
        if text[i : i + 1] != '"':
            raise _fail("Expecting property name enclosed in double quotes", text, i)
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text[i : i + 1] != ":":
            raise _fail("Expecting ':' delimiter", text, i)
        i = _skip(text, i + 1)
        i = yield from _value(text, i, depth + 1, holder)
        obj[key] = holder.pop()
        i = _skip(text, i)
        ch = text[i : i + 1]
        if ch == "}":
            return i + 1
        if ch != ",":
            raise _fail("Expecting ',' delimiter", text, i)
        i = _skip(text, i + 1)


def _array(text: str, i: int, depth: int, out: list[Any]) -> Generator[None, None, int]:
    """The array whose first element starts at `i`."""
    items: list[Any] = []
    out.append(items)
    while True:
        i = yield from _value(text, i, depth + 1, items)
        i = _skip(text, i)
        ch = text[i : i + 1]
        if ch == "]":
            return i + 1
        if ch != ",":
            raise _fail("Expecting ',' delimiter", text, i)
        i = _skip(text, i + 1)


def _steps(text: str) -> _Steps:
    out: list[Any] = []
    end = yield from _value(text, _skip(text, 0), 0, out)
    if _skip(text, end) != len(text):
        raise _fail("Extra data", text, end)
    return out[0]


def loads_in_pieces(text: str) -> Any:
    """`json.loads(text)` for a `str`, never more than one inner value per C call (see above).

    Raises `ValueError` (`json.JSONDecodeError`) wherever `json.loads` does."""
    steps = _steps(text)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


async def aloads_in_pieces(text: str, budget: float = SLICE_SECONDS) -> Any:
    """`loads_in_pieces` on the running loop, letting it run every `budget` seconds of work."""
    steps = _steps(text)
    clock = time.perf_counter
    until = clock() + budget
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        if clock() >= until:
            await asyncio.sleep(0)
            until = clock() + budget
