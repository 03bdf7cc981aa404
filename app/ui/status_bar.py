"""The main window's status bar: who we talk to, with which model, how much quota is left.

Shows the active profile (with a "Demo (offline)" badge for the demo), the chat model, the
provider's rate-limit figures (hidden until a provider reports any), a keychain warning when no
keychain backend works, offers for local servers found at start, and transient messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStatusBar, QWidget

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the status bar is part of the first paint: keep its imports light
    from app.core.protocol.types import RateLimitInfo
    from app.core.providers import ProviderProfile

DEMO_LABEL = "Demo (offline)"


def _reset_text(reset_at: float | None, now: float) -> str:
    if reset_at is None:
        return ""
    secs = max(0, round(reset_at - now))
    if secs >= 120:
        return f" · resets in {secs // 60} min"
    return f" · resets in {secs} s"


def format_rate_limits(info: RateLimitInfo | None, now: float | None = None) -> str:
    """E.g. "Requests 57/60 · resets in 41 s   Tokens 9,000/10,000"; "" when nothing is known."""
    if info is None or info.is_empty():
        return ""
    now = time.time() if now is None else now
    parts: list[str] = []
    if info.remaining_requests is not None or info.limit_requests is not None:
        rem = "?" if info.remaining_requests is None else f"{info.remaining_requests:,}"
        lim = "?" if info.limit_requests is None else f"{info.limit_requests:,}"
        parts.append(f"Requests {rem}/{lim}{_reset_text(info.reset_requests_at, now)}")
    if info.remaining_tokens is not None or info.limit_tokens is not None:
        rem = "?" if info.remaining_tokens is None else f"{info.remaining_tokens:,}"
        lim = "?" if info.limit_tokens is None else f"{info.limit_tokens:,}"
        parts.append(f"Tokens {rem}/{lim}{_reset_text(info.reset_tokens_at, now)}")
    return "   ".join(parts)


class ServerOffer(QWidget):
    """ "Found Ollama on 127.0.0.1:11434 — Add" with an Add and a Dismiss button."""

    def __init__(self, profile: ProviderProfile, on_add: Callable[[ProviderProfile], None]) -> None:
        super().__init__()
        self.profile = profile
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        host = profile.base_url.split("://", 1)[-1].split("/", 1)[0]
        self.label = QLabel(f"Found {profile.name} on {host} —")
        self.label.setAccessibleName(f"Found {profile.name} on {host}")
        self.add_button = QPushButton("Add")
        self.add_button.setAccessibleName(f"Add {profile.name} as a provider")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setAccessibleName(f"Dismiss the {profile.name} offer")
        self._on_add = on_add
        self.add_button.clicked.connect(self._add)
        self.dismiss_button.clicked.connect(self.deleteLater)
        layout.addWidget(self.label)
        layout.addWidget(self.add_button)
        layout.addWidget(self.dismiss_button)

    def _add(self) -> None:
        self._on_add(self.profile)
        self.deleteLater()


class StatusBar(QStatusBar):
    """Profile, model, rate limits, keychain warning and local-server offers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Status bar")
        self.profile_label = QLabel("No provider")
        self.profile_label.setAccessibleName("Active provider")
        self.demo_badge = QLabel(DEMO_LABEL)
        self.demo_badge.setProperty("role", "demoBadge")
        self.demo_badge.setAccessibleName("Demo mode: offline demo server")
        self.demo_badge.setToolTip(
            "Replies come from a built-in demo server on this computer; nothing leaves it."
        )
        self.demo_badge.hide()
        self.model_label = QLabel("")
        self.model_label.setAccessibleName("Chat model")
        self.rate_label = QLabel("")
        self.rate_label.setAccessibleName("Rate limits")
        self.rate_label.hide()
        self.keychain_label = QLabel("")
        self.keychain_label.setProperty("role", "warning")
        self.keychain_label.setAccessibleName("Keychain warning")
        self.keychain_label.hide()
        self.offers = QWidget()
        self.offers_layout = QHBoxLayout(self.offers)
        self.offers_layout.setContentsMargins(0, 0, 0, 0)
        self.offers.setAccessibleName("Local servers found")

        self.addPermanentWidget(self.offers)
        self.addPermanentWidget(self.keychain_label)
        self.addPermanentWidget(self.rate_label)
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.demo_badge)
        self.addPermanentWidget(self.profile_label)

        self._rate_info: RateLimitInfo | None = None
        self._rate_profile = ""
        self._active_profile_id = ""
        # Counts "resets in N s" down once a second while figures are shown.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_rate)

    # -- profile and model --

    def set_profile(self, profile: ProviderProfile | None) -> None:
        new_id = profile.id if profile else ""
        if new_id != self._active_profile_id:
            self._active_profile_id = new_id
            self.clear_rate_limits()
        if profile is None:
            self.profile_label.setText("No provider")
            self.profile_label.show()
            self.demo_badge.hide()
            self.set_model("")
            return
        self.profile_label.setText(profile.name)
        self.profile_label.setToolTip(profile.base_url)
        # The badge already says "Demo (offline)": do not repeat it.
        self.profile_label.setVisible(not profile.is_demo)
        self.demo_badge.setVisible(profile.is_demo)
        self.set_model(profile.model_for("chat"))

    def set_model(self, model: str) -> None:
        self.model_label.setText(f"Model: {model}" if model else "")
        self.model_label.setVisible(bool(model))

    # -- rate limits --

    def on_rate_limit(self, profile_id: str, info: object) -> None:
        if profile_id and self._active_profile_id and profile_id != self._active_profile_id:
            return
        from app.core.protocol.types import RateLimitInfo

        self._rate_info = info if isinstance(info, RateLimitInfo) else None
        self._rate_profile = profile_id
        self._refresh_rate()

    def clear_rate_limits(self) -> None:
        self._rate_info = None
        self._refresh_rate()

    def rate_text(self) -> str:
        """The rate-limit figures shown ("" when hidden)."""
        return self.rate_label.text() if not self.rate_label.isHidden() else ""

    def _refresh_rate(self) -> None:
        text = format_rate_limits(self._rate_info)
        self.rate_label.setText(text)
        self.rate_label.setVisible(bool(text))
        if text and "resets in" in text:
            if not self._tick.isActive():
                self._tick.start()
        elif self._tick.isActive():
            self._tick.stop()

    # -- keychain --

    def set_keychain_status(self, available: bool, reason: str = "") -> None:
        if available:
            self.keychain_label.hide()
            return
        self.keychain_label.setText("⚠ No keychain: keys are session-only or from env vars")
        self.keychain_label.setToolTip(reason)
        self.keychain_label.setAccessibleDescription(reason)
        self.keychain_label.show()

    # -- local servers --

    def offer_local_server(
        self, profile: ProviderProfile, on_add: Callable[[ProviderProfile], None]
    ) -> ServerOffer:
        offer = ServerOffer(profile, on_add)
        self.offers_layout.addWidget(offer)
        return offer

    def stop(self) -> None:
        """Stop the countdown timer (called on shutdown)."""
        self._tick.stop()
