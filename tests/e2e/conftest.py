"""Fixtures for end-to-end tests: a real demo provider server on 127.0.0.1 (random port).

`demo_server` requires `DEMO_API_KEY` (also the `demo_api_key` fixture), streams at 2,000 tokens
per second and finishes videos in 0.3 s; change `token_rate` / `video_seconds` / `faults` on it
freely — each test gets its own server. `demo_server_factory(**kwargs)` builds more, all stopped
at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.core.demo import DemoServer

DEMO_API_KEY = "sk-demo-e2e-key"


@pytest.fixture
def demo_api_key() -> str:
    return DEMO_API_KEY


@pytest.fixture
def demo_server_factory() -> Iterator[Callable[..., DemoServer]]:
    servers: list[DemoServer] = []

    def make(**kwargs: Any) -> DemoServer:
        kwargs.setdefault("api_key", DEMO_API_KEY)
        kwargs.setdefault("token_rate", 2000.0)
        kwargs.setdefault("video_seconds", 0.3)
        server = DemoServer("127.0.0.1", 0, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def demo_server(demo_server_factory: Callable[..., DemoServer]) -> DemoServer:
    return demo_server_factory()
