"""Images tab fixtures: a real ImageService over the shared AppContext (real SQLite, the real
loopback DemoServer's profiles) and an ImagesTab around it, closed (staged) at teardown."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def app_ctx(app_ctx: Any, demo_server: Any) -> Any:
    """The shared AppContext with every demo profile (each image dialect), no retries."""
    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"
    return app_ctx


@pytest.fixture
def image_service(app_ctx: Any) -> Iterator[Any]:
    """The context's ImageService (built by app.main.build_context; shut down with it)."""
    yield app_ctx.images


@pytest.fixture
def make_tab(
    app_ctx: Any, image_service: Any, arun: Callable[..., Any], qtbot: Any
) -> Iterator[Callable[..., Any]]:
    from app.core.services.tasks import TaskOwner
    from app.ui.images import ImagesTab

    made: list[Any] = []
    opened: list[Any] = []

    def make(**kwargs: Any) -> Any:
        async def build() -> Any:
            return ImagesTab(
                image_service,
                TaskOwner("images-test"),
                profiles=lambda: list(app_ctx.profile_list),
                client_for=app_ctx.clients.get,
                open_url=opened.append,
                **kwargs,
            )

        tab = arun(build())
        tab.opened_urls = opened
        tab.resize(1200, 800)
        made.append(tab)
        return tab

    yield make
    for tab in made:
        arun(tab.aclose())
        tab.close()
        tab.deleteLater()


@pytest.fixture
def tab(make_tab: Callable[..., Any]) -> Any:
    return make_tab()
