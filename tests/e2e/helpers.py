"""Helpers shared by the tests of tests/e2e (never a test module itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from app.core.demo import DemoServer
from app.core.demo.wire import FLAVOURS
from app.core.providers import Dialect, ProviderProfile, new_profile_from_preset


def seed_profile(server: DemoServer, preset_id: str, flavour: str) -> ProviderProfile:
    """The preset's profile with only its host replaced by the demo server's.

    The demo nests some flavours under a routing prefix (`/horay/v1`); the preset's own path
    must be that prefix's tail (`/v1`), so the path the preset documents is the one tested.
    """
    profile = new_profile_from_preset(preset_id)
    preset_path = urlsplit(profile.base_url).path
    prefix = FLAVOURS[flavour].prefix
    if profile.dialect == Dialect.GEMINI:
        # The gateway's Gemini endpoint is `/api/v1beta/...`; the preset's base is `.../api`.
        assert prefix == preset_path + "/v1beta"
        profile.base_url = server.origin + preset_path
    else:
        assert preset_path and prefix.endswith(preset_path)
        profile.base_url = server.base_url(flavour)
    return profile


ROOT = Path(__file__).resolve().parents[2]


TIMEOUT = 120


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.pop("SWITCHBOARD_QUIT_AFTER_PAINT", None)
    env.pop("SWITCHBOARD_REPORT_READY", None)
    return env


def start_app(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--no-detect",
         "--quit-after-paint", *extra],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        check=False,
        timeout=TIMEOUT,
    )


def failure_of(result: subprocess.CompletedProcess[str]) -> tuple[str, list[str]]:
    """(kind, actions) from the `startup-failure` line; fails if the window never showed."""
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("startup-failure ")]
    assert lines, f"no failure window (rc {result.returncode}):\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 3, result.stderr
    words = lines[-1].split()
    fields = dict(w.split("=", 1) for w in words[2:])
    assert fields["visible"] == "1"
    assert "Traceback" not in result.stderr, result.stderr
    return words[1], fields["actions"].split(",")


def kill_child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    # Never touch the user's real keychain from a test (the profile has no key anyway).
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.pop("SWITCHBOARD_QUIT_AFTER_PAINT", None)
    return env
