"""Media the demo server generates: PNG images coloured after the prompt, placeholder videos.

PNGs are written with zlib + struct (no imaging library needed on the server side): a vertical
gradient between two prompt colours with a centred square in a third, which is cheap to build
row by row even at 1792x1024 and still looks different for different prompts.

Videos are placeholders: a well-formed `ftyp` box followed by a `free` box naming the prompt. They
are served as `video/mp4` so download and storage paths can be exercised, but they do not play.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict

from app.core.demo.text import stable_hash

RGB = tuple[int, int, int]

# Colour words a prompt may mention; the first ones found colour the image.
COLOUR_WORDS: dict[str, RGB] = {
    "red": (214, 40, 40),
    "orange": (247, 127, 0),
    "sunset": (250, 110, 60),
    "yellow": (252, 211, 77),
    "gold": (212, 175, 55),
    "green": (56, 176, 0),
    "forest": (34, 100, 34),
    "teal": (0, 128, 128),
    "cyan": (0, 220, 230),
    "blue": (30, 90, 220),
    "ocean": (0, 105, 148),
    "sky": (135, 206, 235),
    "navy": (20, 30, 90),
    "purple": (128, 60, 200),
    "violet": (143, 0, 255),
    "magenta": (220, 0, 170),
    "pink": (255, 140, 190),
    "neon": (57, 255, 20),
    "brown": (120, 72, 40),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
}


def prompt_colours(prompt: str, variant: int = 0) -> tuple[RGB, RGB, RGB]:
    """Three colours: named colours from the prompt first, then colours hashed from it."""
    found: list[RGB] = []
    for word in prompt.lower().replace(",", " ").split():
        colour = COLOUR_WORDS.get(word.strip(".!?;:'\""))
        if colour is not None and colour not in found:
            found.append(colour)
    seed = stable_hash(f"{prompt}#{variant}")
    while len(found) < 3:
        found.append(((seed >> 0) & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF))
        seed = stable_hash(str(seed))
    if variant:
        # Later images of an n>1 request rotate the palette so they are visibly different.
        shift = variant % 3
        found = found[shift:] + found[:shift]
    return found[0], found[1], found[2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from raw rows (each `3 * width` bytes, without filter bytes)."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def render_prompt_image(prompt: str, width: int, height: int, variant: int = 0) -> bytes:
    """A PNG of `width` x `height` whose colours come from `prompt` (deterministic)."""
    top, bottom, accent = prompt_colours(prompt, variant)
    x0, x1 = width // 3, width - width // 3
    y0, y1 = height // 3, height - height // 3
    accent_bytes = bytes(accent) * (x1 - x0)
    rows: list[bytes] = []
    cache: dict[tuple[RGB, bool], bytes] = {}
    for y in range(height):
        t = y / (height - 1) if height > 1 else 0.0
        colour: RGB = (
            round(top[0] + (bottom[0] - top[0]) * t),
            round(top[1] + (bottom[1] - top[1]) * t),
            round(top[2] + (bottom[2] - top[2]) * t),
        )
        in_square = y0 <= y < y1
        # Neighbouring rows often share a colour: reuse the built row instead of rebuilding it.
        row = cache.get((colour, in_square))
        if row is None:
            pixel = bytes(colour)
            if in_square:
                row = pixel * x0 + accent_bytes + pixel * (width - x1)
            else:
                row = pixel * width
            cache[(colour, in_square)] = row
        rows.append(row)
    return encode_png(width, height, rows)


def placeholder_mp4(label: str) -> bytes:
    """A placeholder "video": an ISO-BMFF `ftyp` box plus a `free` box carrying `label`.

    It is not playable (there is no `moov`); it only lets clients exercise downloading and
    storing a video/mp4 response.
    """
    ftyp_payload = b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    ftyp = struct.pack(">I", 8 + len(ftyp_payload)) + b"ftyp" + ftyp_payload
    note = f"Switchboard demo placeholder video: {label}".encode()[:4000]
    free = struct.pack(">I", 8 + len(note)) + b"free" + note
    return ftyp + free


class MediaStore:
    """Files the server hands out under `/files/<name>`: a bounded, thread-safe LRU in memory."""

    def __init__(self, capacity: int = 256) -> None:
        self._files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self._files[name] = (data, content_type)
            self._files.move_to_end(name)
            while len(self._files) > self._capacity:
                self._files.popitem(last=False)

    def get(self, name: str) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._files.get(name)
            if item is not None:
                self._files.move_to_end(name)
            return item
