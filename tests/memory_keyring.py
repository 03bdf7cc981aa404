"""A keyring backend for tests that keeps passwords in a dict (never the user's keychain).

Defining a KeyringBackend subclass registers it in keyring's global registry, from which
`keyring.get_keyring()` picks the highest-priority viable backend; it is taken out of that
registry here, so the real-keychain tests never end up talking to it.
"""

from __future__ import annotations

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring backend that keeps passwords in `passwords`."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.passwords:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.passwords[(service, username)]


keyring.backend.KeyringBackend._classes.discard(MemoryKeyring)  # type: ignore[attr-defined]
