"""Chat tab fixtures on top of tests/ui/conftest.py's `qloop`, `arun` and `app_ctx`.

`app_ctx` is narrowed here: the shared one starts with no provider profiles; the Chat tab tests
need the DemoServer's OpenAI-dialect profile (key source NONE, real loopback HTTP) active.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def app_ctx(app_ctx: Any, demo_server: Any) -> Any:
    """The shared real AppContext with the demo server's `demo-openai` profile active."""
    profile = next(p for p in demo_server.profiles() if p.id == "demo-openai")
    app_ctx.profile_list = [profile]
    app_ctx.active_profile_id = profile.id
    return app_ctx
