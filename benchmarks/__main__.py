"""`python -m benchmarks [--json] [--only NAME]`: every figure, measured, against its target."""

from __future__ import annotations

import argparse
import os
import sys

from benchmarks import (
    big_content,
    bundle,
    chat,
    images,
    images_ui,
    notes,
    protocol,
    reliability,
    startup,
    videos,
    videos_ui,
)
from benchmarks.report import Row, print_json, print_table

SUITES = {
    "startup": startup.run,
    "chat-stream": chat.stream_rows,
    "chat-open": chat.open_rows,
    "chat-sidebar": chat.sidebar_rows,
    "chat-search": chat.search_rows,
    "chat-kill": chat.kill_rows,
    "protocol": protocol.rows,
    # Core rows (benchmarks/images.py) and the Images tab rows (benchmarks/images_ui.py).
    "images": lambda: [*images.run(), *images_ui.run()],
    # Purge at start-up and in the background, kill -9 x20, and the big-content rows.
    "reliability": reliability.run,
    "reliability-big": big_content.rows,  # the big-content rows alone
    # Core rows (benchmarks/videos.py) and the Videos tab rows (benchmarks/videos_ui.py).
    "videos": lambda: [*videos.run(), *videos_ui.run()],
    "notes": notes.run,
    "bundle": bundle.run,
}


def main(argv: list[str] | None = None) -> int:
    # An installed app runs from bytecode; measure the same. With PYTHONDONTWRITEBYTECODE (the
    # test command sets it) every app process would compile its modules from source at start-up
    # (first paint 1.33x instead of 1.19x, composer ready 4.9x instead of 3.7x, measured).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only these")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for name, suite in SUITES.items():
        if args.only and name not in args.only:
            continue
        rows.extend(suite())
    if args.json:
        print_json(rows)
    else:
        print_table(rows)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
