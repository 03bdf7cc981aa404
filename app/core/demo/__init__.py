"""The built-in demo / test provider: a loopback HTTP server that speaks the OpenAI dialect,
Gemini's, and each documented seed flavour exactly, deterministically, with fault injection.

Used by the app's demo mode (no key, no network) and by the e2e tests. No Qt here.
`DemoServer` and `main` are loaded lazily so that `python -m app.core.demo.server` does not import
the server module twice (runpy warns when the package already imported it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.core.demo.faults import FaultPlan, FaultRule, RecordedRequest, RequestLog
from app.core.demo.wire import FLAVOURS, Flavour

if TYPE_CHECKING:
    from app.core.demo.server import DemoServer, main

__all__ = [
    "FLAVOURS",
    "DemoServer",
    "FaultPlan",
    "FaultRule",
    "Flavour",
    "RecordedRequest",
    "RequestLog",
    "main",
]


def __getattr__(name: str) -> Any:
    if name in ("DemoServer", "main"):
        from app.core.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
