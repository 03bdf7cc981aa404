"""ClientPool: one cached ProviderClient per profile, keyed requests, invalidation, closing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.errors import ConfigError
from app.core.protocol.types import RateLimitInfo
from app.core.providers import (
    KeySource,
    ProfileRepository,
    ProviderProfile,
    new_profile_from_preset,
)
from app.core.secrets import SecretStore
from app.core.services.clients import ClientPool
from tests.memory_keyring import MemoryKeyring


class Recorder:
    """A transport factory whose MockTransports record every request."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.made_for: list[str] = []
        self.headers = headers or {}

    def __call__(self, profile: ProviderProfile) -> httpx.AsyncBaseTransport:
        self.made_for.append(profile.id)

        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(
                200, json={"object": "list", "data": [{"id": "m1"}]}, headers=self.headers
            )

        return httpx.MockTransport(handler)


def _setup(*profiles: ProviderProfile) -> tuple[dict[str, ProviderProfile], SecretStore]:
    return {p.id: p for p in profiles}, SecretStore(keyring_backend=MemoryKeyring())


def test_get_caches_per_profile_and_sends_the_key(arun: Callable[..., object]) -> None:
    a = new_profile_from_preset("melancholy")
    b = new_profile_from_preset("ollama")
    table, secrets = _setup(a, b)
    secrets.set_key(a, "pool-key-abcdef123")
    recorder = Recorder()
    pool = ClientPool(table.get, secrets, transport_factory=recorder)

    async def scenario() -> tuple[bool, bool, list[str]]:
        first = await pool.get(a.id)
        again = await pool.get(a.id)
        other = await pool.get(b.id)
        ids = [m.id for m in await first.list_models()]
        await other.list_models()
        await pool.aclose()
        return first is again, first is not other, ids

    assert arun(scenario()) == (True, True, ["m1"])
    assert recorder.made_for == [a.id, b.id]
    melancholy, ollama = recorder.requests
    assert melancholy.headers["authorization"] == "Bearer pool-key-abcdef123"
    assert melancholy.headers["user-agent"] == "MelancholyAI-Client"
    assert str(melancholy.url) == "https://app.melancholyai.fun/api/v1/models/"
    assert "authorization" not in ollama.headers  # key source NONE


def test_invalidate_rebuilds_with_the_new_key(arun: Callable[..., object]) -> None:
    p = new_profile_from_preset("horay")
    table, secrets = _setup(p)
    secrets.set_key(p, "old-key-123456")
    recorder = Recorder()
    pool = ClientPool(table.get, secrets, transport_factory=recorder)

    async def scenario() -> bool:
        first = await pool.get(p.id)
        await first.list_models()
        secrets.set_key(p, "new-key-654321")
        await pool.invalidate(p.id)
        await pool.invalidate("never-seen")  # harmless
        second = await pool.get(p.id)
        await second.list_models()
        await pool.aclose()
        return first is not second

    assert arun(scenario()) is True
    assert [r.headers["authorization"] for r in recorder.requests] == [
        "Bearer old-key-123456",
        "Bearer new-key-654321",
    ]


def test_edited_profile_gets_a_fresh_client(arun: Callable[..., object]) -> None:
    p = new_profile_from_preset("mollyra")
    table, secrets = _setup(p)
    recorder = Recorder()
    pool = ClientPool(table.get, secrets, transport_factory=recorder)

    async def scenario() -> bool:
        first = await pool.get(p.id)
        table[p.id] = ProviderProfile.from_json(
            {**p.to_json(), "base_url": "https://other.example/v1"}
        )
        second = await pool.get(p.id)
        await second.list_models()
        await pool.aclose()
        return first is not second

    assert arun(scenario()) is True
    assert str(recorder.requests[0].url) == "https://other.example/v1/models"


def test_profile_repository_as_lookup_and_missing_profile(
    tmp_path: Path, arun: Callable[..., object]
) -> None:
    repo = ProfileRepository(tmp_path / "profiles.json")
    p = new_profile_from_preset("vllm")
    repo.save([p])
    pool = ClientPool(
        repo, SecretStore(keyring_backend=MemoryKeyring()), transport_factory=Recorder()
    )

    async def scenario() -> str:
        client = await pool.get(p.id)
        repo.save([])  # the profile is deleted
        with pytest.raises(ConfigError) as info:
            await pool.get(p.id)
        assert pool.cached_ids() == []
        await pool.aclose()
        return f"{client.profile.base_url} | {info.value.user_message}"

    text = arun(scenario())
    assert isinstance(text, str)
    assert text.startswith("http://127.0.0.1:8000/v1 | This provider profile no longer exists.")


def test_rate_limits_reported_with_the_profile_id(arun: Callable[..., object]) -> None:
    p = new_profile_from_preset("gateway")
    table, secrets = _setup(p)
    seen: list[tuple[str, RateLimitInfo]] = []
    recorder = Recorder(
        headers={"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59"}
    )
    pool = ClientPool(
        table.get,
        secrets,
        transport_factory=recorder,
        on_rate_limit=lambda pid, info: seen.append((pid, info)),
    )

    async def scenario() -> None:
        await (await pool.get(p.id)).list_models()
        await pool.aclose()

    arun(scenario())
    assert len(seen) == 1
    assert seen[0][0] == p.id
    assert seen[0][1].limit_requests == 60 and seen[0][1].remaining_requests == 59


def test_session_key_and_closed_pool(arun: Callable[..., object]) -> None:
    p = new_profile_from_preset("custom")
    p.base_url = "https://custom.example/v1"
    p.key_source = KeySource.SESSION
    table, secrets = _setup(p)
    secrets.set_session_key(p.id, "session-pool-key-1")
    recorder = Recorder()
    pool = ClientPool(table.get, secrets, transport_factory=recorder)

    async def scenario() -> None:
        await (await pool.get(p.id)).list_models()
        await pool.aclose()
        with pytest.raises(RuntimeError):
            await pool.get(p.id)

    arun(scenario())
    assert recorder.requests[0].headers["authorization"] == "Bearer session-pool-key-1"
    assert recorder.requests[0].method == "GET"


def test_clients_are_built_off_the_event_loop_thread(
    arun: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a client imports httpx (the first time) and parses the CA bundle: on the event
    loop that froze the window right after start-up, so the pool builds clients on a worker."""
    import threading

    from app.core.client import ProviderClient

    a = new_profile_from_preset("ollama")
    table, secrets = _setup(a)
    built_on: list[threading.Thread] = []
    original = ProviderClient.__init__

    def spy(self: ProviderClient, *args: object, **kwargs: object) -> None:
        built_on.append(threading.current_thread())
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ProviderClient, "__init__", spy)
    pool = ClientPool(table.get, secrets, transport_factory=Recorder())

    async def scenario() -> tuple[threading.Thread, list[str]]:
        client = await pool.get(a.id)
        loop_thread = threading.current_thread()
        ids = [m.id for m in await client.list_models()]  # the client works on the loop
        await pool.aclose()
        return loop_thread, ids

    loop_thread, ids = arun(scenario())
    assert len(built_on) == 1 and built_on[0] is not loop_thread
    assert ids == ["m1"]
