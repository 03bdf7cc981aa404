"""API keys: the OS keychain (through `keyring`), environment variables, or session memory.

A profile says where its key lives (`ProviderProfile.key_source`); `SecretStore` fetches and
stores it there and nowhere else. There is no plaintext fallback: when no keychain backend works,
`set_key` raises KeychainError and the user chooses a session-only key or an environment variable.

Keychain calls can block (Secret Service talks D-Bus and may show an unlock prompt), so the UI
uses the `a*` variants, which run them in a worker thread. Every key that passes through here is
registered with `app.core.errors.register_secret`, so it is scrubbed from any error or log text.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # keyring (and its backends' D-Bus stack) loads with the first keychain use, off the start-up
    # path of the composer (issue 9).
    from keyring.backend import KeyringBackend

from app.core.errors import ConfigError, KeychainError, register_secret
from app.core.providers import KeySource, ProviderProfile

__all__ = ["KeychainStatus", "SecretStore", "unavailable_reason"]


@dataclass(frozen=True)
class KeychainStatus:
    """Whether keys can be kept in the OS keychain, which backend does it, and if not, why."""

    available: bool
    name: str
    reason: str


def unavailable_reason(platform: str = sys.platform) -> str:
    """A sentence saying what to install or unlock so a keychain becomes available."""
    if platform == "darwin":
        return (
            "The macOS Keychain could not be used. Unlock your login keychain, or use a "
            "session-only key or an environment variable."
        )
    if platform.startswith("win"):
        return (
            "Windows Credential Manager could not be used. Sign in to a normal user session, or "
            "use a session-only key or an environment variable."
        )
    return (
        "Install and unlock GNOME Keyring or KWallet (Secret Service), or use a session-only key "
        "or an environment variable."
    )


def _backend_usable(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_backend_usable(b) for b in backend.backends)
    try:
        return float(backend.priority) > 0
    except Exception:  # noqa: BLE001 - a backend whose priority check fails is not viable
        return False


def _backend_name(backend: KeyringBackend) -> str:
    try:
        return str(backend.name)
    except Exception:  # noqa: BLE001 - only a display name
        return type(backend).__name__


class SecretStore:
    """Looks up and stores API keys according to each profile's key source."""

    def __init__(
        self,
        service: str = "switchboard",
        *,
        keyring_backend: KeyringBackend | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.service = service
        self._backend = keyring_backend
        self._environ = environ
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- keychain backend --

    @property
    def backend(self) -> KeyringBackend:
        """The keyring backend in use (the injected one, else keyring's default)."""
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def backend_status(self) -> KeychainStatus:
        """Whether a working keychain backend is present (may block briefly on D-Bus)."""
        backend = self.backend
        name = _backend_name(backend)
        if _backend_usable(backend):
            return KeychainStatus(True, name, "")
        reason = unavailable_reason()
        if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            reason = "There is no D-Bus session (is this a desktop session?). " + reason
        return KeychainStatus(False, name, reason)

    def _require_backend(self) -> KeyringBackend:
        status = self.backend_status()
        if not status.available:
            raise KeychainError(f"No system keychain is available. {status.reason}")
        return self.backend

    # -- keys --

    def get_key(self, profile: ProviderProfile) -> str | None:
        """The profile's key, or None when none is set. Raises KeychainError if the keychain
        is missing or refuses."""
        source = KeySource(profile.key_source)
        if source == KeySource.NONE:
            return None
        if source == KeySource.SESSION:
            with self._lock:
                key = self._session.get(profile.id)
        elif source == KeySource.ENV:
            name = profile.key_env_var.strip()
            key = self._environ.get(name) if name else None
            key = key.strip() if key else None
        else:
            backend = self._require_backend()
            try:
                key = backend.get_password(self.service, profile.id)
            # Backends raise more than KeyringError (D-Bus errors, dismissed prompts).
            except Exception as exc:  # noqa: BLE001
                raise KeychainError(
                    "The keychain did not give out the API key. Unlock it and try again, or use "
                    "a session-only key.",
                    detail=type(exc).__name__,
                ) from None
        if not key:
            return None
        register_secret(key)
        return key

    def set_key(self, profile: ProviderProfile, key: str | None) -> None:
        """Store the profile's key where its key source says; an empty key deletes it.

        KEYCHAIN: the OS keychain (KeychainError when there is none; never a file).
        SESSION: memory until the app quits. ENV and NONE keep no key here (ConfigError).
        """
        key = (key or "").strip()
        if not key:
            self.delete_key(profile)
            return
        register_secret(key)
        source = KeySource(profile.key_source)
        if source == KeySource.SESSION:
            self.set_session_key(profile.id, key)
        elif source == KeySource.KEYCHAIN:
            backend = self._require_backend()
            try:
                backend.set_password(self.service, profile.id, key)
            # Backends raise more than KeyringError (D-Bus errors, dismissed prompts).
            except Exception as exc:  # noqa: BLE001
                raise KeychainError(
                    "The keychain refused to store the API key. Unlock it and try again, or use "
                    "a session-only key or an environment variable.",
                    detail=type(exc).__name__,
                ) from None
        elif source == KeySource.ENV:
            raise ConfigError(
                f"This profile reads its key from the environment variable "
                f"“{profile.key_env_var}”. Set it there, or switch the profile to the keychain."
            )
        else:
            raise ConfigError(
                "This profile is set to use no key. Choose the keychain or a session-only key "
                "to enter one."
            )

    def delete_key(self, profile: ProviderProfile) -> None:
        """Forget the profile's stored key (keychain and session). Missing keys are fine."""
        with self._lock:
            self._session.pop(profile.id, None)
        if KeySource(profile.key_source) != KeySource.KEYCHAIN:
            return
        if not self.backend_status().available:
            return  # nothing can have been stored
        import keyring.errors

        try:
            self.backend.delete_password(self.service, profile.id)
        except keyring.errors.PasswordDeleteError:
            pass
        # Backends raise more than KeyringError (D-Bus errors, dismissed prompts).
        except Exception as exc:  # noqa: BLE001
            raise KeychainError(
                "The keychain refused to delete the API key. Unlock it and try again.",
                detail=type(exc).__name__,
            ) from None

    def has_key(self, profile: ProviderProfile) -> bool:
        """Whether a key is set for the profile (False for key source NONE, or no keychain)."""
        try:
            return self.get_key(profile) is not None
        except KeychainError:
            return False

    def set_session_key(self, profile_id: str, key: str | None) -> None:
        """Keep a key in memory for this session only; None or "" forgets it."""
        key = (key or "").strip()
        with self._lock:
            if key:
                register_secret(key)
                self._session[profile_id] = key
            else:
                self._session.pop(profile_id, None)

    # -- async variants (keyring calls may block on D-Bus or an unlock prompt) --

    async def abackend_status(self) -> KeychainStatus:
        return await asyncio.to_thread(self.backend_status)

    async def aget_key(self, profile: ProviderProfile) -> str | None:
        if KeySource(profile.key_source) != KeySource.KEYCHAIN:
            return self.get_key(profile)
        return await asyncio.to_thread(self.get_key, profile)

    async def aset_key(self, profile: ProviderProfile, key: str | None) -> None:
        if KeySource(profile.key_source) != KeySource.KEYCHAIN:
            self.set_key(profile, key)
            return
        await asyncio.to_thread(self.set_key, profile, key)

    async def adelete_key(self, profile: ProviderProfile) -> None:
        if KeySource(profile.key_source) != KeySource.KEYCHAIN:
            self.delete_key(profile)
            return
        await asyncio.to_thread(self.delete_key, profile)

    async def ahas_key(self, profile: ProviderProfile) -> bool:
        if KeySource(profile.key_source) != KeySource.KEYCHAIN:
            return self.has_key(profile)
        return await asyncio.to_thread(self.has_key, profile)
