"""The baseline: a bare PySide6 window with four empty tabs, started like the app.

Prints `painted 0 rss <bytes> at <epoch>` after its first paint, then quits, exactly as
`python -m app --quit-after-paint` does, so both are measured the same way. The window is
benchmarks/bare_frozen.py's (which stays free of `app` imports for its frozen bundle); only the
RSS reading is the app's own.
"""

from __future__ import annotations

from app.diagnostics import current_rss
from benchmarks.bare_frozen import main as run_bare_window


def main() -> int:
    return run_bare_window(rss=current_rss)


if __name__ == "__main__":
    raise SystemExit(main())
