"""Screenshots of the main window (each tab, light and dark) and the settings dialog.

Saved to artifacts/screenshots/ (gitignored) so a person can look at them; each must not be blank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from app.core.providers import KeySource
from app.ui.async_bridge import signal_future
from tests.ui.helpers import applied_theme, pixel_stddev

OUT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def save(widget: QWidget, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    image = widget.grab().toImage()
    assert image.save(str(path), "PNG")
    assert pixel_stddev(image) > 8, f"{name} looks blank"
    return path


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    with applied_theme(qapp, request.param) as mode:
        yield mode


def test_main_window_tabs(theme: str, window: Any, app_ctx: Any, arun: Callable[..., Any]) -> None:
    window.resize(1100, 720)
    window.show()
    saved = [save(window, f"main-first-run-{theme}")]

    async def demo() -> None:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        window.first_run.demo_button.click()
        await changed

    arun(demo())
    for i, name in enumerate(("chat", "images", "notes", "videos")):
        window.tabs.setCurrentIndex(i)
        saved.append(save(window, f"main-{name}-{theme}"))
    assert all(p.stat().st_size > 5000 for p in saved)


def test_settings_dialog(
    theme: str, app_ctx: Any, arun: Callable[..., Any], demo_server: Any
) -> None:
    from app.ui.settings_dialog import SettingsDialog

    async def build() -> SettingsDialog:
        dlg = SettingsDialog(app_ctx)
        await dlg.refresh()
        return dlg

    dlg = arun(build())
    try:
        dlg.resize(1000, 760)
        dlg.show()
        dlg.add_from_preset("openai")
        dlg.add_from_preset("melancholy")
        local = dlg.add_from_preset("custom")
        form = dlg.form
        form.name_edit.setText("Demo server on loopback")
        form.base_url_edit.setText(demo_server.base_url("openai"))
        form.set_key_source(KeySource.NONE)
        dlg._on_form_changed()
        assert dlg.current_profile().id == local.id  # type: ignore[union-attr]
        report = arun(dlg.test_connection())
        assert report is not None and report.error is None
        save(dlg, f"settings-{theme}")
        dlg.select_profile(dlg.profiles()[1].id)
        save(dlg, f"settings-melancholy-{theme}")
        dlg.form_scroll.verticalScrollBar().setValue(dlg.form_scroll.verticalScrollBar().maximum())
        save(dlg, f"settings-melancholy-bottom-{theme}")
    finally:
        arun(dlg.aclose())
        dlg.close()
        dlg.deleteLater()


def test_settings_dialog_demo_without_keychain(
    theme: str, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    """The demo profile (read-only) and the no-keychain banner."""
    from keyring.backends import fail

    from app.core.secrets import SecretStore
    from app.ui.demo_session import DEMO_NAME, activate_demo
    from app.ui.settings_dialog import SettingsDialog

    app_ctx.secrets = SecretStore("switchboard-test", keyring_backend=fail.Keyring(), environ={})
    arun(activate_demo(app_ctx))

    async def build() -> SettingsDialog:
        dlg = SettingsDialog(app_ctx)
        await dlg.refresh()
        return dlg

    dlg = arun(build())
    try:
        dlg.resize(1000, 700)
        dlg.show()
        assert dlg.list.item(0).text().startswith(DEMO_NAME)
        assert not dlg.form.readonly_label.isHidden()
        assert not dlg.delete_button.isEnabled()
        assert not dlg.use_session_button.isEnabled()  # the demo's key source is fixed
        save(dlg, f"settings-demo-no-keychain-{theme}")
    finally:
        arun(dlg.aclose())
        dlg.close()
        dlg.deleteLater()
