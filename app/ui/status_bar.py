"""The main window's status bar: who we talk to, with which model, how much quota is left.

Shows the open thread's profile (with a "Demo (offline)" badge for the demo) and model, the
provider's rate-limit figures (hidden until a provider reports any) and, once a limit is hit, a
countdown to its reset ("rate limited — resets in 1:23"), a storage notice while replies cannot
be saved ("Disk full — replies can't be saved"), a short keychain warning when no keychain
backend works, offers for local servers found at start, and transient messages.

Transient messages get the room they need: while one shows, the keychain notice and the server
offers step aside (QStatusBar draws a message only in the space its permanent widgets leave).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStatusBar, QWidget

from app.ui.labels import DISK_FULL, keychain_sentence

if TYPE_CHECKING:  # the status bar is part of the first paint: keep its imports light
    from app.core.protocol.types import RateLimitInfo
    from app.core.providers import ProviderProfile

DEMO_LABEL = "Demo (offline)"
KEYCHAIN_NOTICE = "⚠ No keychain"
# A storage sentence longer than this shows as STORAGE_NOTICE (the sentence in the tooltip).
STORAGE_NOTICE_MAX = 60
STORAGE_NOTICE = "⚠ Replies can't be saved"


def countdown(secs: float) -> str:
    """Seconds as "m:ss" (or "h:mm:ss"), rounded up so "0:00" is only shown at the reset."""
    total = max(0, int(-(-secs // 1)))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def limited_until(info: RateLimitInfo | None) -> float | None:
    """When an exhausted window (0 requests or 0 tokens remaining) resets, or None."""
    if info is None:
        return None
    resets = []
    if info.remaining_requests == 0 and info.reset_requests_at is not None:
        resets.append(info.reset_requests_at)
    if info.remaining_tokens == 0 and info.reset_tokens_at is not None:
        resets.append(info.reset_tokens_at)
    return max(resets) if resets else None


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

    def __init__(
        self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self.clock = clock
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
        self.limited_label = QLabel("")
        self.limited_label.setProperty("role", "warning")
        self.limited_label.setAccessibleName("Rate limited")
        self.limited_label.hide()
        self.storage_label = QLabel("")
        self.storage_label.setProperty("role", "warning")
        self.storage_label.setAccessibleName("Storage problem")
        self.storage_label.hide()
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
        self.addPermanentWidget(self.storage_label)
        self.addPermanentWidget(self.limited_label)
        self.addPermanentWidget(self.rate_label)
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.demo_badge)
        self.addPermanentWidget(self.profile_label)

        # Room between the notices: the permanent widgets otherwise touch ("…saved rate…").
        for label in (
            self.keychain_label,
            self.storage_label,
            self.limited_label,
            self.rate_label,
            self.model_label,
            self.profile_label,
        ):
            label.setContentsMargins(6, 0, 6, 0)

        self._rate_info: RateLimitInfo | None = None
        self._rate_profile = ""
        self._active_profile_id = ""
        self._limited_until: float | None = None
        self._keychain_problem = False
        # Widgets that step aside while a transient message shows (see the module docstring).
        self._yielding: list[QWidget] = [self.keychain_label, self.offers]
        self._yielded: list[QWidget] = []
        self.messageChanged.connect(self._on_message_changed)
        # Counts "resets in N s" down once a second while figures are shown.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_rate)

    # -- profile and model --

    def set_profile(self, profile: ProviderProfile | None, model: str | None = None) -> None:
        """Show `profile` and `model` (the open thread's; None: the profile's default chat
        model)."""
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
        self.set_model(profile.model_for("chat") if model is None else model)

    @property
    def profile_id(self) -> str:
        """The id of the profile shown ("" when none)."""
        return self._active_profile_id

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
        self._limited_until = None
        self._refresh_rate()

    def set_rate_limited(self, reset_at: float | None) -> None:
        """Count down to `reset_at` (epoch seconds): "rate limited — resets in 1:23"; None
        clears it. The notice goes by itself at 0."""
        self._limited_until = reset_at
        self._refresh_rate()

    def on_rate_limited(self, profile_id: str, retry_after: float) -> None:
        """A request of `profile_id` was refused for `retry_after` seconds (a RateLimitError's
        `retry_after`)."""
        if profile_id and self._active_profile_id and profile_id != self._active_profile_id:
            return
        self.set_rate_limited(self.clock() + max(0.0, float(retry_after)))

    def limited_text(self) -> str:
        """The countdown shown ("" when not rate limited)."""
        return self.limited_label.text() if not self.limited_label.isHidden() else ""

    def rate_text(self) -> str:
        """The rate-limit figures shown ("" when hidden)."""
        return self.rate_label.text() if not self.rate_label.isHidden() else ""

    def _refresh_rate(self) -> None:
        now = self.clock()
        text = format_rate_limits(self._rate_info, now)
        self.rate_label.setText(text)
        self.rate_label.setVisible(bool(text))
        until = self._limited_until
        if until is None:
            until = limited_until(self._rate_info)
        if until is not None and until - now <= 0:
            # The window has reset: the notice and the stale "0 left" figures both go.
            until = self._limited_until = None
            if limited_until(self._rate_info) is not None:
                self._rate_info = None
                self.rate_label.clear()
                self.rate_label.hide()
        limited = "" if until is None else f"rate limited — resets in {countdown(until - now)}"
        self.limited_label.setText(limited)
        self.limited_label.setVisible(bool(limited))
        if limited or (text and "resets in" in text):
            if not self._tick.isActive():
                self._tick.start()
        elif self._tick.isActive():
            self._tick.stop()

    # -- keychain --

    def set_keychain_status(self, available: bool, reason: str = "") -> None:
        """The short notice (the whole sentence, the same as the first-run panel's, in its
        tooltip) when no keychain works here."""
        self._keychain_problem = not available
        if available:
            self.keychain_label.hide()
            return
        sentence = keychain_sentence(False)
        tip = f"{sentence}\n\n{reason}" if reason else sentence
        self.keychain_label.setText(KEYCHAIN_NOTICE)
        self.keychain_label.setToolTip(tip)
        self.keychain_label.setAccessibleDescription(tip)
        self.keychain_label.setVisible(not self.currentMessage())

    # -- storage --

    def set_storage_problem(self, text: str) -> None:
        """Say replies cannot be saved until called with "". `text` is the StorageError's
        sentence: a full disk shows as `DISK_FULL`, another long sentence as a short notice;
        the whole sentence (what to do) is the tooltip."""
        sentence = text.strip()
        lowered = sentence.lower()
        if "disk is full" in lowered or "disk full" in lowered or lowered == "full":
            shown = DISK_FULL
        elif len(sentence) > STORAGE_NOTICE_MAX:
            shown = STORAGE_NOTICE
        else:
            shown = sentence
        self.storage_label.setText(shown)
        self.storage_label.setToolTip(sentence)
        self.storage_label.setAccessibleDescription(sentence)
        self.storage_label.setVisible(bool(shown))

    def storage_text(self) -> str:
        return self.storage_label.text() if not self.storage_label.isHidden() else ""

    # -- transient messages --

    def _on_message_changed(self, text: str) -> None:
        if text:
            for w in self._yielding:
                if not w.isHidden():
                    w.hide()
                    self._yielded.append(w)
        else:
            for w in self._yielded:
                if w is self.keychain_label and not self._keychain_problem:
                    continue
                w.show()
            self._yielded = []

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
