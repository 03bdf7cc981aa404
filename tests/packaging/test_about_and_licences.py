"""Help -> About and the licence list behind it; the icon files the build makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import bundle_info
from app.bundle_info import bundled_licences, runtime_distributions

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "io.github.switchboard.Switchboard"


def test_runtime_closure_is_the_apps_dependencies_not_the_tools() -> None:
    names = {n.lower() for n in runtime_distributions()}
    assert {"httpx", "qasync", "pyside6_essentials"} <= {n.replace("-", "_") for n in names}
    assert not {"pytest", "pyinstaller", "pip-licenses"} & names


def test_dev_install_reads_licences_from_metadata() -> None:
    licences, source = bundled_licences()
    assert source == "installed package metadata"
    httpx = next(lic for lic in licences if lic.name == "httpx")
    assert "BSD" in httpx.licence


def test_bundle_list_is_used_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "licenses.json"
    listing.write_text(
        json.dumps([{"Name": "Qux", "Version": "1.2", "License": "MIT", "URL": "u"}]),
        encoding="utf-8",
    )
    monkeypatch.setattr(bundle_info, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    licences, source = bundled_licences()
    assert [(lic.name, lic.licence) for lic in licences] == [("Qux", "MIT")]
    assert "build time" in source


def test_about_dialog_says_versions_folder_and_licences(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import qVersion

    from app.ui import about_dialog
    from app.ui.about_dialog import AboutDialog

    opened: list[str] = []
    monkeypatch.setattr(
        about_dialog.QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True)
    )
    dialog = AboutDialog(tmp_path, tmp_path / "logs" / "switchboard.log")
    qtbot.addWidget(dialog)
    text = dialog.summary_text()
    assert f"Qt {qVersion()}" in text
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in text
    assert str(tmp_path) in text and "switchboard.log" in text
    names = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert {"httpx", "qasync"} <= names
    dialog.open_folder.click()
    assert opened == [str(tmp_path)]


def test_icons_are_generated_in_every_size(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "make_icons.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    from PIL import Image

    for size in (16, 32, 48, 128, 256, 512):
        png = tmp_path / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        with Image.open(png) as im:
            assert im.size == (size, size)
            assert im.getpixel((size // 2, size // 2))[3] == 255  # drawn, not transparent
            assert im.getpixel((0, 0))[3] == 0  # the rounded corner is transparent
    with Image.open(tmp_path / f"{APP_ID}.ico") as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(tmp_path / f"{APP_ID}.icns") as icns:
        assert icns.format == "ICNS"
