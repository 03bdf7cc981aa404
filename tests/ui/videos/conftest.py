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


@pytest.fixture
def real_ctx(app_ctx: Any, demo_server: Any) -> Any:
    """The shared AppContext with every demo profile (each video dialect), no retries; the
    demo's videos finish in 0.3 s."""
    import dataclasses

    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    demo_server.video_seconds = 0.3
    return app_ctx


@pytest.fixture
def video_service(real_ctx: Any, arun: Callable[..., Any]) -> Iterator[Any]:
    from app.core.jobs import JobEngine, JobStore
    from app.core.services.videos import VideoService

    engine = JobEngine(JobStore(real_ctx.db))
    service = VideoService(
        real_ctx.db,
        engine,
        real_ctx.clients,
        real_ctx.data_dir / "videos",
        poll_initial=0.02,
        poll_max=0.1,
        poll_budget=60_000.0,
    )
    try:
        yield service
    finally:
        arun(service.aclose())
        arun(engine.aclose())


@pytest.fixture
def real_tab(make_tab: Callable[..., Any], real_ctx: Any, video_service: Any) -> Any:
    from app.ui.videos.port import ServicePort

    return make_tab(ServicePort(video_service), profiles=lambda: list(real_ctx.profile_list))
