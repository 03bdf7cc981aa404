"""Screenshots of the Notes tab in the main window, light and dark, against the real NotesService
and the loopback demo server: folder set-up (the folder dialog and the first-indexing question),
progress mid-run, results with the preview, and a chat answer citing the notes. Saved to
artifacts/screenshots/notes-*.png (gitignored) for a person to look at."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from tests.ui.helpers import applied_theme, save_grab
from tests.ui.notes.helpers import click_box, find_box, find_dialog, until

OUT = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"

TOPICS = [
    (
        "networking/vpn.md",
        (
            "# Networking\n\n## VPN\n\nThe office VPN drops every evening when the "
            "router renews its DHCP lease. Fix: pin the MTU to 1380 and restart WireGuard.\n\n"
            "```bash\nsudo ip link set dev wg0 mtu 1380\nsudo systemctl restart wg-quick@wg0\n```\n\n"
            "## Printer\n\nThe printer only speaks IPv4; give it a reserved address.\n"
        ),
    ),
    (
        "kitchen/sourdough.md",
        (
            "# Sourdough\n\nFeed the starter 1:1:1 and bake when it doubles. "
            "Bake at 230 °C with steam for twenty minutes.\n"
        ),
    ),
    (
        "travel/packing.md",
        ("# Packing list\n\n- passport\n- charger\n- the travel router for the hotel VPN\n"),
    ),
    (
        "home/boiler.md",
        ("# Boiler\n\nPressure should sit at 1.5 bar when cold. Yearly service in October.\n"),
    ),
]


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    with applied_theme(qapp, request.param) as mode:
        yield mode


def save(widget: QWidget, name: str, *, in_loop: bool = False) -> Path:
    """Grab `widget` to OUT/name.png. Inside a coroutine (`in_loop`) no processEvents()."""
    return save_grab(widget, OUT, name, min_bytes=8_000, process_events=not in_loop)


def _vault(root: Path, extra: int) -> Path:
    for rel, text in TOPICS:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, "utf-8")
    for i in range(extra):  # enough text for several batches, so progress has a middle
        p = root / "journal" / f"2026-{i // 28 + 1:02d}-{i % 28 + 1:02d}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(
            f"# Journal {i}\n\n"
            + "\n\n".join(
                f"Paragraph {k} of day {i}: meetings, errands and a note on the garden beds."
                for k in range(6)
            ),
            "utf-8",
        )
    return root


def test_screenshots(
    theme: str, make_window: Any, app_ctx: Any, demo_server: Any, tmp_path: Path, arun: Any
) -> None:
    from app.core.services.notes import NotesService

    app_ctx.profile_list = [dataclasses.replace(p, max_retries=0) for p in demo_server.profiles()]
    app_ctx.active_profile_id = "demo-openai"

    class Profiles:  # what NotesService asks of `profiles`: the context's live list
        def get(self, profile_id: str) -> Any:
            return app_ctx.profile(profile_id)

    # Small batches, one in flight: the progress screenshot catches the run half-way. The
    # context's own service is put back (and shut down with the context) afterwards.
    own, engine = app_ctx.notes, app_ctx.jobs
    service = NotesService(
        app_ctx.db, engine, app_ctx.clients, profiles=Profiles(), batch_size=8, max_in_flight=1
    )
    app_ctx.notes = service
    vault = _vault(tmp_path / "vault", 40)
    window = make_window()
    window.resize(1500, 900)
    window.show()
    host = window.notes_tab

    async def setup() -> Any:
        built = signal_future(host.tabBuilt)
        window.tabs.setCurrentWidget(host)
        await built
        tab = host.tab
        await tab.loaded
        return tab

    try:
        tab = arun(setup())
        save(window, f"notes-empty-{theme}")

        async def folder_setup() -> None:
            i = tab.sources_panel.profile_combo.findData("demo-openai")
            tab.sources_panel.profile_combo.setCurrentIndex(i)
            tab.sources_panel.model_combo.setCurrentText("demo-embedding")
            await tab.sources.apply_model_flow("demo-openai", "demo-embedding", 0)
            flow = asyncio.ensure_future(tab.sources.add_folder_flow(str(vault)))
            dialog = await find_dialog("folderSettings")
            dialog.excludes_edit.setPlainText("drafts/\n*.log")
            save(dialog, f"notes-folder-dialog-{theme}", in_loop=True)
            dialog.ok_button.click()
            box = await find_box()
            save(box, f"notes-first-index-question-{theme}", in_loop=True)
            # Slow embeddings so the run has a middle to look at.
            demo_server.faults.add(FaultRule(path_contains="embeddings", delay_s=0.15))
            click_box(box, "Index now")
            await flow
            await until(
                tab.indexing.progressShown,
                lambda: (
                    tab.progress_panel.bar.value() > 250
                    and "Embedding" in tab.progress_panel.detail.text()
                ),
                timeout=30,
            )
            save(window, f"notes-progress-{theme}", in_loop=True)
            demo_server.faults.clear()
            await until(
                tab.indexing.finished,
                lambda: tab.progress_panel.job.state == "completed",
                timeout=30,
            )

        arun(folder_setup(), timeout=60)

        async def results() -> Any:
            tab.search_bar.query_edit.setText("vpn keeps dropping in the evening")
            shown = signal_future(tab.search.previewShown)
            tab.search_bar.query_edit.returnPressed.emit()
            await shown
            return tab.model.hits

        hits = arun(results(), timeout=20)
        assert hits
        save(window, f"notes-results-{theme}")

        async def answer() -> None:
            link = f"switchboard-note://{hits[0].chunk_id}"
            # The demo server plays a model that cites the notes it was given.
            demo_server.faults.add(
                FaultRule(
                    path_contains="chat/completions",
                    times=1,
                    status=200,
                    body={
                        "id": "chatcmpl-cite",
                        "object": "chat.completion",
                        "model": "demo-chat",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {
                                    "role": "assistant",
                                    "content": "Your VPN drops when the router renews its DHCP lease in the evening [[1]]("
                                    + link
                                    + "). "
                                    "The fix in your notes is to pin the MTU to 1380 and restart WireGuard [[1]]("
                                    + link
                                    + ").",
                                },
                            }
                        ],
                    },
                )
            )
            finished = signal_future(window.chat_tab.replyFinished)
            tab.search_bar.query_edit.setText("Why does my VPN drop in the evening?")
            tab.search_bar.ask_button.click()
            assert await finished > 0

        arun(answer(), timeout=20)
        save(window, f"notes-answer-with-citations-{theme}")
    finally:
        arun(window.aclose())
        arun(service.aclose())
        app_ctx.notes = own
