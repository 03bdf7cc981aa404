"""SecretStore: keychain (an in-memory keyring backend), the fail/null/chainer backends,
environment-variable keys, session keys, no-key profiles, and the async variants."""

from __future__ import annotations

from collections.abc import Callable

import keyring.backend
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from app.core.errors import ConfigError, KeychainError, redact
from app.core.providers import KeySource, ProviderProfile
from app.core.secrets import KeychainStatus, SecretStore, unavailable_reason
from tests.memory_keyring import MemoryKeyring


class LockedKeyring(MemoryKeyring):
    """A backend that is present but refuses every operation (e.g. a locked collection)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked(f"Failed to unlock the collection! {password}")


# Taken out of keyring's registry of backends, as MemoryKeyring is (see tests/memory_keyring.py).
keyring.backend.KeyringBackend._classes.discard(LockedKeyring)  # type: ignore[attr-defined]


def _profile(source: KeySource, **kw: str) -> ProviderProfile:
    return ProviderProfile(name="P", base_url="https://example.com/v1", key_source=source, **kw)  # type: ignore[arg-type]


def test_keychain_round_trip() -> None:
    backend = MemoryKeyring()
    store = SecretStore("switchboard-test", keyring_backend=backend)
    p = _profile(KeySource.KEYCHAIN)
    assert store.backend_status() == KeychainStatus(True, MemoryKeyring.name, "")
    assert store.get_key(p) is None and not store.has_key(p)
    store.set_key(p, "  sk-abcdefghijklmnopqrstuvwx\n")
    assert backend.passwords == {("switchboard-test", p.id): "sk-abcdefghijklmnopqrstuvwx"}
    assert store.get_key(p) == "sk-abcdefghijklmnopqrstuvwx"
    assert store.has_key(p)
    store.delete_key(p)
    assert backend.passwords == {}
    store.delete_key(p)  # deleting a missing key is fine
    store.set_key(p, "k2-xxxxxxxx")
    store.set_key(p, "")  # an empty key deletes
    assert backend.passwords == {}


def test_keys_are_registered_for_redaction() -> None:
    store = SecretStore(keyring_backend=MemoryKeyring())
    p = _profile(KeySource.KEYCHAIN)
    store.set_key(p, "plainlookingkey-0001")
    assert redact("error with plainlookingkey-0001 inside") == "error with [redacted] inside"
    env = _profile(KeySource.ENV, key_env_var="SB_KEY")
    SecretStore(environ={"SB_KEY": "envlookingkey-0002"}).get_key(env)
    assert "envlookingkey-0002" not in redact("x envlookingkey-0002")


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_no_backend_is_unavailable_and_never_falls_back(
    backend: keyring.backend.KeyringBackend,
) -> None:
    store = SecretStore(keyring_backend=backend)
    status = store.backend_status()
    assert status.available is False
    assert (
        "GNOME Keyring or KWallet" in status.reason
        or "Keychain" in status.reason
        or "Credential" in status.reason
    )
    p = _profile(KeySource.KEYCHAIN)
    with pytest.raises(KeychainError) as info:
        store.set_key(p, "sk-never-stored-anywhere-1")
    assert "session-only key" in info.value.user_message
    assert "sk-never-stored-anywhere-1" not in str(info.value)
    with pytest.raises(KeychainError):
        store.get_key(p)
    assert store.has_key(p) is False
    store.delete_key(p)  # nothing to delete; no error


def test_linux_reason_names_what_to_install() -> None:
    assert unavailable_reason("linux") == (
        "Install and unlock GNOME Keyring or KWallet (Secret Service), or use a session-only key "
        "or an environment variable."
    )
    assert "macOS" in unavailable_reason("darwin")
    assert "Windows" in unavailable_reason("win32")


def test_chainer_without_viable_backends_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.backend, "get_all_keyring", list)
    assert SecretStore(keyring_backend=chainer.ChainerBackend()).backend_status().available is False
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [MemoryKeyring()])
    assert SecretStore(keyring_backend=chainer.ChainerBackend()).backend_status().available is True


def test_backend_that_refuses_raises_keychain_error_without_the_key() -> None:
    store = SecretStore(keyring_backend=LockedKeyring())
    p = _profile(KeySource.KEYCHAIN)
    with pytest.raises(KeychainError) as info:
        store.set_key(p, "sk-locked-out-key-123456")
    assert "sk-locked-out-key-123456" not in str(info.value)
    assert "Unlock" in info.value.user_message
    with pytest.raises(KeychainError):
        store.get_key(p)


def test_env_source() -> None:
    env = {"MY_PROVIDER_KEY": "env-key-value-1234", "EMPTY": ""}
    store = SecretStore(keyring_backend=fail.Keyring(), environ=env)
    p = _profile(KeySource.ENV, key_env_var="MY_PROVIDER_KEY")
    assert store.get_key(p) == "env-key-value-1234"
    assert store.has_key(p)
    assert store.get_key(_profile(KeySource.ENV, key_env_var="MISSING")) is None
    assert store.get_key(_profile(KeySource.ENV, key_env_var="EMPTY")) is None
    assert store.get_key(_profile(KeySource.ENV, key_env_var="")) is None
    with pytest.raises(ConfigError, match="MY_PROVIDER_KEY"):
        store.set_key(p, "something")


def test_session_source_stays_in_memory() -> None:
    backend = MemoryKeyring()
    store = SecretStore(keyring_backend=backend)
    p = _profile(KeySource.SESSION)
    assert store.get_key(p) is None
    store.set_key(p, "session-key-abcd")
    assert store.get_key(p) == "session-key-abcd"
    assert backend.passwords == {}  # never the keychain
    other = SecretStore(keyring_backend=backend)
    assert other.get_key(p) is None  # not shared, not persisted
    store.set_session_key(p.id, None)
    assert store.get_key(p) is None
    store.set_session_key(p.id, "again-abcd")
    store.delete_key(p)
    assert store.get_key(p) is None


def test_none_source() -> None:
    store = SecretStore(keyring_backend=fail.Keyring())
    p = _profile(KeySource.NONE)
    assert store.get_key(p) is None
    assert store.has_key(p) is False
    store.set_key(p, "")  # clearing is fine
    with pytest.raises(ConfigError):
        store.set_key(p, "a-key-for-nothing")


def test_async_variants(arun: Callable[..., object]) -> None:
    backend = MemoryKeyring()
    store = SecretStore(keyring_backend=backend)
    p = _profile(KeySource.KEYCHAIN)
    s = _profile(KeySource.SESSION)

    async def scenario() -> list[object]:
        status = await store.abackend_status()
        await store.aset_key(p, "async-key-1234")
        await store.aset_key(s, "async-session-1234")
        got = [await store.aget_key(p), await store.aget_key(s), await store.ahas_key(p)]
        await store.adelete_key(p)
        await store.adelete_key(s)
        return [status.available, *got, await store.aget_key(p), await store.aget_key(s)]

    assert arun(scenario()) == [True, "async-key-1234", "async-session-1234", True, None, None]
    assert backend.passwords == {}
