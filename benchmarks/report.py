"""The row every benchmark produces, and the table/JSON printers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass
class Row:
    name: str
    measured: float
    unit: str
    target: str  # e.g. "<= 1.3"
    passed: bool
    note: str = ""


def print_table(rows: list[Row]) -> None:
    headers = ("figure", "measured", "unit", "target", "pass")
    cells = [
        (r.name, f"{r.measured:.3g}", r.unit, r.target, "yes" if r.passed else "NO") for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))
    for r in rows:
        if r.note:
            print(f"  * {r.name}: {r.note}")


def print_json(rows: list[Row]) -> None:
    print(json.dumps([asdict(r) for r in rows], indent=2))
