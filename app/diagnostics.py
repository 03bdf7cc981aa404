"""Process figures the app reports about itself (for `--quit-after-paint` and benchmarks).

Standard library only, so the baseline benchmark can import it without loading the app.
"""

from __future__ import annotations

import resource
import sys


def current_rss() -> int:
    """Current RSS in bytes (Linux: /proc; elsewhere the peak, which is what the OS offers)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
