"""The real OS keychain, through keyring's default backend: store, read and delete a key.

Skips only when no keychain backend is usable. To run it headless on Linux:

    bash scripts/with-keyring.sh /tmp/venv/bin/python -m pytest tests/core/test_keychain_real.py -v
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator

import keyring
import pytest

from app.core.providers import KeySource, ProviderProfile
from app.core.secrets import SecretStore

pytestmark = pytest.mark.keychain

SERVICE = "switchboard-test"


@pytest.fixture
def real_store() -> Iterator[SecretStore]:
    store = SecretStore(SERVICE)  # no injected backend: keyring's default
    status = store.backend_status()
    if not status.available:
        if os.environ.get("SWITCHBOARD_REQUIRE_KEYCHAIN") == "1":
            pytest.fail(f"scripts/test.sh promised a real keychain but none is usable: {status.reason}")
        pytest.skip(
            f"No usable OS keychain ({status.name}). {status.reason} Headless Linux: run "
            "`bash scripts/with-keyring.sh <pytest command>` (needs: apt-get install dbus "
            "dbus-x11 gnome-keyring)."
        )
    yield store


def _profile() -> ProviderProfile:
    return ProviderProfile(
        name="keychain test",
        base_url="https://example.com/v1",
        id=f"test-{uuid.uuid4().hex}",
        key_source=KeySource.KEYCHAIN,
    )


def test_real_keychain_round_trip(real_store: SecretStore) -> None:
    backend = keyring.get_keyring()
    assert real_store.backend is backend
    assert type(backend).__module__.startswith("keyring"), f"not a real backend: {backend}"
    if sys.platform.startswith("linux"):
        # Under scripts/with-keyring.sh this is keyring.backends.SecretService.Keyring.
        assert type(backend).__module__.rsplit(".", 1)[-1] in {
            "SecretService",
            "libsecret",
            "kwallet",
            "chainer",
        }, str(backend)
    p = _profile()
    key = f"sk-real-keychain-{uuid.uuid4().hex}"
    try:
        assert real_store.get_key(p) is None
        real_store.set_key(p, key)
        assert keyring.get_password(SERVICE, p.id) == key  # really in the keychain
        assert real_store.get_key(p) == key
        assert real_store.has_key(p) is True
        real_store.set_key(p, key + "-2")
        assert real_store.get_key(p) == key + "-2"
        real_store.delete_key(p)
        assert real_store.get_key(p) is None
        assert keyring.get_password(SERVICE, p.id) is None
    finally:
        try:
            keyring.delete_password(SERVICE, p.id)
        except keyring.errors.PasswordDeleteError:
            pass


def test_real_keychain_async_round_trip(
    real_store: SecretStore, arun: Callable[..., object]
) -> None:
    p = _profile()

    async def scenario() -> tuple[str | None, str | None]:
        await real_store.aset_key(p, "async-real-key-0123")
        got = await real_store.aget_key(p)
        await real_store.adelete_key(p)
        return got, await real_store.aget_key(p)

    try:
        assert arun(scenario()) == ("async-real-key-0123", None)
    finally:
        try:
            keyring.delete_password(SERVICE, p.id)
        except keyring.errors.PasswordDeleteError:
            pass
