"""The client pool: one `ProviderClient` per provider profile, created on first use and reused.

Services ask the pool for a profile's client instead of building their own, so connections are
shared and there is one place to close them at shutdown. When a profile or its key changes, the
owner calls `invalidate(profile_id)`; a profile whose saved settings changed is also noticed on
the next `get` and its client rebuilt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from app.core.errors import ConfigError
from app.core.protocol.types import RateLimitInfo
from app.core.providers import ProviderProfile
from app.core.secrets import SecretStore

if TYPE_CHECKING:
    import httpx

    from app.core.client import ProviderClient

__all__ = ["ClientPool", "ProfileLookup", "RateLimitCallback", "TransportFactory"]


class _HasGet(Protocol):
    def get(self, profile_id: str) -> ProviderProfile | None: ...


# A function from profile id to profile, or an object with `get(profile_id)` such as
# `ProfileRepository`.
ProfileLookup = Callable[[str], ProviderProfile | None] | _HasGet
# A string: httpx loads with the first client (after start-up), not with this module (issue 9).
TransportFactory = Callable[[ProviderProfile], "httpx.AsyncBaseTransport | None"]
# Called with the profile id and what its server said about rate limits.
RateLimitCallback = Callable[[str, RateLimitInfo], None]


@dataclass
class _Entry:
    """A cached client and the profile settings it was built from."""

    client: ProviderClient
    snapshot: dict[str, Any]


def _new_client(
    profile: ProviderProfile,
    key: str | None,
    transport: httpx.AsyncBaseTransport | None,
    on_rate_limit: Callable[[RateLimitInfo], None] | None,
) -> ProviderClient:
    from app.core.client import ProviderClient  # httpx loads with the first client

    return ProviderClient(profile, key, transport=transport, on_rate_limit=on_rate_limit)


class ClientPool:
    """Creates, caches and closes `ProviderClient`s by profile id."""

    def __init__(
        self,
        profiles: ProfileLookup,
        secrets: SecretStore,
        *,
        transport_factory: TransportFactory | None = None,
        on_rate_limit: RateLimitCallback | None = None,
    ) -> None:
        self._profiles = profiles
        self._secrets = secrets
        self._transport_factory = transport_factory
        self._on_rate_limit = on_rate_limit
        self._entries: dict[str, _Entry] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def _lookup(self, profile_id: str) -> ProviderProfile | None:
        if callable(self._profiles):
            return self._profiles(profile_id)
        return self._profiles.get(profile_id)

    def cached_ids(self) -> list[str]:
        """Ids of the profiles that have an open client."""
        return list(self._entries)

    async def get(self, profile_id: str) -> ProviderClient:
        """The open client for this profile, creating it (and fetching its key) if needed.

        Raises ConfigError when the profile does not exist and KeychainError when its key
        cannot be read from the keychain.
        """
        if self._closed:
            raise RuntimeError("ClientPool.get() after aclose()")
        async with self._lock:
            profile = self._lookup(profile_id)
            if profile is None:
                stale = self._entries.pop(profile_id, None)
                if stale is not None:
                    await stale.client.aclose()
                raise ConfigError(
                    "This provider profile no longer exists. Pick another one in Settings → "
                    "Providers."
                )
            snapshot = profile.to_json()
            entry = self._entries.get(profile_id)
            if entry is not None:
                if entry.snapshot == snapshot:
                    return entry.client
                # The profile was edited since the client was made: rebuild it.
                del self._entries[profile_id]
                await entry.client.aclose()
            key = await self._secrets.aget_key(profile)
            transport = self._transport_factory(profile) if self._transport_factory else None
            # On a worker thread: the first client imports httpx and httpcore and every client
            # builds its TLS context (the CA bundle is parsed), ~120 ms in all for the first one,
            # which on the event loop was a frozen window right after start-up (the chat tab
            # asks for its models then). Nothing here needs the loop.
            client = await asyncio.to_thread(
                _new_client, profile, key, transport, self._rate_limit_hook(profile_id)
            )
            self._entries[profile_id] = _Entry(client, snapshot)
            return client

    def _rate_limit_hook(self, profile_id: str) -> Callable[[RateLimitInfo], None] | None:
        callback = self._on_rate_limit
        if callback is None:
            return None

        def hook(info: RateLimitInfo) -> None:
            callback(profile_id, info)

        return hook

    async def invalidate(self, profile_id: str) -> None:
        """Close and drop the profile's client (after its settings or key changed)."""
        async with self._lock:
            entry = self._entries.pop(profile_id, None)
        if entry is not None:
            await entry.client.aclose()

    async def aclose(self) -> None:
        """Close every client; the pool cannot be used afterwards."""
        async with self._lock:
            self._closed = True
            entries = list(self._entries.values())
            self._entries.clear()
        results = await asyncio.gather(
            *(e.client.aclose() for e in entries), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
