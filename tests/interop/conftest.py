"""Interop tests: the app against real third-party servers that scripts/interop/servers.sh starts.

Each server's connection details arrive as environment variables (scripts/test.sh exports the
lines of .interop/env). Without them the tests skip with a reason, except when
SWITCHBOARD_REQUIRE_INTEROP=1 (set by scripts/test.sh after starting the servers): then a missing
server is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os

import pytest


def require_env(*names: str) -> dict[str, str]:
    """The named environment variables, or skip/fail when a server was not started."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        message = (
            f"interop server not running ({', '.join(missing)} unset); start it with "
            "`bash scripts/interop/servers.sh start` and export .interop/env"
        )
        if os.environ.get("SWITCHBOARD_REQUIRE_INTEROP") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return {n: os.environ[n] for n in names}
