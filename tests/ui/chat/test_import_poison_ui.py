"""Poisoned imports through the UI's import flow (`ThreadTransfer.import_from`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.errors import ConfigError
from app.ui.context import AppContext
from tests.core.helpers import archive, entry
from tests.ui.chat.helpers import make_tab


def test_deep_file_loops_and_duplicates_through_the_import_flow(
    qtbot: QtBot, tmp_path: Path, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    tab = arun(make_tab(app_ctx))
    qtbot.addWidget(tab)
    transfer = tab.sidebar.transfer
    shown: list[str] = []
    app_ctx.events.statusMessage.connect(shown.append)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    looped = archive(entry("Loops"))
    looped["threads"][0]["messages"][0]["parent_id"] = 3
    good = tmp_path / "loops.json"
    good.write_text(json.dumps(looped), encoding="utf-8")
    try:
        with pytest.raises(ConfigError, match="nested far too deeply"):
            arun(transfer.import_from(deep))
        report = arun(transfer.import_from(good))
        assert report.threads == 1
        assert "kept as the start of a branch" in shown[-1] and "Imported 1 thread" in shown[-1]
        with pytest.raises(ConfigError, match="already imported"):
            arun(transfer.import_from(good))
        assert tab.thread_list.thread_ids() == list(report.thread_ids)
    finally:
        arun(tab.aclose())
