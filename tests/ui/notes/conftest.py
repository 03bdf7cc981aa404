"""Notes tab fixtures: a folder of real-looking notes, the in-memory service stand-in, and a
NotesTab around it (or around the real service), closed at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

NOTES = {
    "vpn.md": "# Networking\n\nHome setup notes.\n\n## VPN\n\nThe VPN drops every evening when the\n"
    "router renews its lease. Fix: pin the MTU to 1380 and restart wireguard.\n\n"
    "## Printer\n\nThe printer wants IPv4 only.\n",
    "sourdough.md": "# Sourdough\n\nFeed the starter at 1:1:1, bake when it doubles.\n\n"
    "```python\nhydration = water / flour\n```\n",
    "travel/packing.md": "# Packing list\n\n- passport\n- charger\n- the travel router for the VPN\n",
}


@pytest.fixture
def notes_folder(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    for name, text in NOTES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, "utf-8")
    return root


@pytest.fixture
def fake_service(arun: Callable[..., Any]) -> Iterator[Any]:
    from tests.ui.notes.helpers import FakeNotesService

    service = FakeNotesService()
    yield service
    arun(service.aclose())


class Recorder:
    """Stands in for QProcess.startDetached / QDesktopServices.openUrl."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.urls: list[str] = []

    def run(self, argv: Any) -> bool:
        self.runs.append(list(argv))
        return True

    def open_url(self, url: Any) -> bool:
        self.urls.append(url.toString())
        return True


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_tab(
    arun: Callable[..., Any], qtbot: Any, recorder: Recorder
) -> Iterator[Callable[..., Any]]:
    from app.core.services.tasks import TaskOwner
    from app.ui.notes import NotesTab
    from app.ui.notes.opener import Opener

    made: list[Any] = []

    def make(service: Any, *, environ: dict[str, str] | None = None, **kwargs: Any) -> Any:
        async def build() -> Any:
            kwargs.setdefault("profiles", list)
            tab = NotesTab(
                service,
                TaskOwner("notes-test"),
                opener=Opener(run=recorder.run, open_url=recorder.open_url, environ=environ or {}),
                **kwargs,
            )
            await tab.loaded
            return tab

        tab = arun(build())
        tab.resize(1300, 800)
        made.append(tab)
        return tab

    yield make
    for tab in made:
        arun(tab.aclose())
        tab.close()
        tab.deleteLater()
