"""`python -m benchmarks [--json] [--only NAME]`: every figure, measured, against its target."""

from __future__ import annotations

import argparse
import sys

from benchmarks import chat, images, notes, protocol, startup
from benchmarks.report import Row, print_json, print_table

SUITES = {
    "startup": startup.run,
    "chat-stream": chat.stream_rows,
    "chat-open": chat.open_rows,
    "chat-sidebar": chat.sidebar_rows,
    "chat-search": chat.search_rows,
    "chat-kill": chat.kill_rows,
    "protocol": protocol.rows,
    "images": images.run,
    "notes": notes.run,
}


def main(argv: list[str] | None = None) -> int:
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
