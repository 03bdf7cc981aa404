"""The per-platform files: the Linux desktop entry and metainfo validate (with Debian's
desktop-file-validate and appstreamcli when installed), install.sh/uninstall.sh round-trip
into a private prefix, the version is the same everywhere, and the Windows and macOS files
carry the keys the issue asks for (they cannot be run here)."""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from app import __version__

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.switchboard.Switchboard"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_version_is_single_sourced() -> None:
    assert __version__ == VERSION, "app/__init__.py and pyproject.toml disagree"
    releases = re.findall(r'<release version="([^"]+)"', METAINFO.read_text(encoding="utf-8"))
    assert releases and releases[0] == VERSION, "the metainfo's newest release is not this version"
    spec = (ROOT / "pyinstaller.spec").read_text(encoding="utf-8")
    assert 'tomllib.loads((ROOT / "pyproject.toml")' in spec and '["version"]' in spec


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_validates() -> None:
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stdout, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates() -> None:
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_desktop_entry_names_the_icon_and_takes_no_arguments() -> None:
    entry = dict(
        line.split("=", 1) for line in DESKTOP.read_text(encoding="utf-8").splitlines() if "=" in line
    )
    assert entry["Icon"] == APP_ID
    assert (ROOT / "resources" / "icons" / f"{APP_ID}.svg").is_file()
    assert entry["Exec"] == "switchboard"  # argparse would refuse a %U/%F file argument


def _fake_tarball(where: Path) -> Path:
    """The tarball's layout (as scripts/bundle.sh stages it) with a stand-in program."""
    stage = where / "switchboard-x"
    program = stage / "switchboard" / "switchboard"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\necho switchboard-stand-in\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    for name in ("install.sh", "uninstall.sh", DESKTOP.name, METAINFO.name):
        shutil.copy2(LINUX / name, stage / name)
    for size in (48, 256):
        icon = stage / "icons" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        icon.parent.mkdir(parents=True)
        icon.write_bytes(b"png")
    return stage


def test_install_and_uninstall_into_a_private_prefix(tmp_path: Path) -> None:
    stage = _fake_tarball(tmp_path)
    prefix = tmp_path / "prefix"
    env = dict(os.environ, PREFIX=str(prefix), HOME=str(tmp_path / "home"))
    done = subprocess.run(["bash", str(stage / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    link = prefix / "bin" / "switchboard"
    assert link.is_symlink()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout.strip() == "switchboard-stand-in"
    desktop = (prefix / "share" / "applications" / DESKTOP.name).read_text(encoding="utf-8")
    assert f"Exec={prefix}/lib/switchboard/switchboard" in desktop
    assert (prefix / "share" / "metainfo" / METAINFO.name).is_file()
    assert (prefix / "share" / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    keep = prefix / "share" / "applications" / "other.desktop"  # someone else's file
    keep.write_text("[Desktop Entry]\n", encoding="utf-8")

    again = subprocess.run(["bash", str(stage / "install.sh")], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # an upgrade over the same prefix

    gone = subprocess.run(
        [str(prefix / "lib" / "switchboard" / "uninstall.sh")], env=env, capture_output=True, text=True
    )
    assert gone.returncode == 0, gone.stderr
    assert not link.exists() and not link.is_symlink()
    assert not (prefix / "lib" / "switchboard").exists()
    assert not (prefix / "share" / "applications" / DESKTOP.name).exists()
    assert not list((prefix / "share" / "icons").rglob("*.png"))
    assert keep.is_file()


def test_install_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    stage = _fake_tarball(tmp_path)
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "switchboard").mkdir(parents=True)
    env = dict(os.environ, PREFIX=str(prefix))
    done = subprocess.run(["bash", str(stage / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "not made by this script" in done.stderr


def test_inno_setup_script_is_per_user_with_start_menu_and_uninstaller() -> None:
    iss = (ROOT / "packaging" / "windows" / "switchboard.iss").read_text(encoding="utf-8")
    assert re.search(r"^PrivilegesRequired=lowest$", iss, re.M)
    assert re.search(r"^DefaultDirName=\{autopf\}", iss, re.M)
    assert re.search(r'^Name: "\{autoprograms\}\\\{#AppName\}"', iss, re.M)  # Start menu
    assert "{uninstallexe}" in iss
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", iss, re.M)
    assert re.search(r"^VersionInfoVersion=\{#AppVersion\}$", iss, re.M)
    assert "#error" in iss  # no default version that could go stale
    assert "dist\\switchboard\\*" in iss


def test_macos_info_plist_keys() -> None:
    info = plistlib.loads((ROOT / "packaging" / "macos" / "Info.plist").read_bytes())
    assert info["CFBundleIdentifier"] == APP_ID
    assert info["NSHighResolutionCapable"] is True
    assert tuple(int(p) for p in info["LSMinimumSystemVersion"].split(".")) >= (12, 0)
    assert info["CFBundleExecutable"] == "switchboard"
    assert not [k for k in info if "Microphone" in k or "Camera" in k]
    dmg = (ROOT / "packaging" / "macos" / "make_dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil create" in dmg and "-format UDZO" in dmg


@pytest.mark.parametrize(
    "script",
    ["scripts/bundle.sh", "packaging/linux/install.sh", "packaging/linux/uninstall.sh",
     "packaging/macos/make_dmg.sh"],
)
def test_shell_scripts_parse(script: str) -> None:
    done = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
