"""Fixtures for the Videos tab tests: a tab over a `FakePort` with its own TaskOwner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.ui.videos.helpers import PROFILES, FakePort


@pytest.fixture
def fake_port() -> FakePort:
    return FakePort()


@pytest.fixture
def make_tab(arun: Callable[..., Any], qtbot: Any, tmp_path: Any) -> Iterator[Callable[..., Any]]:
    from app.core.services.tasks import TaskOwner
    from app.ui.videos.videos_tab import VideosTab

    made: list[Any] = []

    def make(port: FakePort, **kw: Any) -> Any:
        async def build() -> Any:
            kw.setdefault("profiles", lambda: list(PROFILES))
            kw.setdefault("cache_dir", tmp_path / "posters")
            return VideosTab(port, TaskOwner("videos-test"), **kw)

        tab = arun(build())
        tab.resize(1100, 700)
        made.append(tab)
        return tab

    yield make
    for tab in made:
        arun(tab.aclose())
        tab.close()
        tab.deleteLater()
