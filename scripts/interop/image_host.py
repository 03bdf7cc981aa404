"""A tiny loopback file server for LiteLLM's image mock (which only ever returns a URL).

    python scripts/interop/image_host.py STATE_DIR

Writes a small valid PNG to STATE_DIR/litellm-images/mock.png, serves that directory on
127.0.0.1 on a free port, and writes the port to STATE_DIR/litellm-images.port once it listens
(litellm.sh waits for that file, then puts http://127.0.0.1:PORT/mock.png into LiteLLM's config).
Standard library only, so it runs with any Python 3.
"""

from __future__ import annotations

import functools
import http.server
import os
import struct
import sys
import zlib
from pathlib import Path


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    """A solid 4×4 RGB PNG, built by hand (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x20\x80\xc0" * width  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("image_host: " + (format % args) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    state = Path(argv[1])
    images = state / "litellm-images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "mock.png").write_bytes(tiny_png())
    handler = functools.partial(_QuietHandler, directory=str(images))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port_file = state / "litellm-images.port"
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, port_file)  # atomic: the reader never sees a half-written port
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
