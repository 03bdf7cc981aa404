"""Media downloads: the key only to the profile's own origin, a size cap, content types."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from app.core.client import ProviderClient
from app.core.errors import MalformedResponseError
from app.core.providers import ProviderProfile

KEY = "sk-download-secret-42"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


def client_for(seen: list[httpx.Request], body: bytes) -> ProviderClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.com" and request.url.path == "/moved":
            return httpx.Response(302, headers={"location": "https://cdn.example.com/img.png"})
        return httpx.Response(200, content=body, headers={"content-type": "image/png"})

    profile = ProviderProfile(name="P", base_url="https://api.example.com/v1", id="p")
    return ProviderClient(profile, KEY, transport=httpx.MockTransport(handler))


def test_the_key_goes_to_the_profiles_origin_only_even_after_a_redirect(arun) -> None:
    seen: list[httpx.Request] = []

    async def scenario() -> None:
        async with client_for(seen, png()) as client:
            data, ctype, final = await client.fetch_media("https://api.example.com/moved", max_bytes=10_000)
            assert ctype == "image/png" and data.startswith(b"\x89PNG")
            assert final == "https://cdn.example.com/img.png"
            await client.fetch_media("https://cdn.example.com/other.png", max_bytes=10_000)

    arun(scenario())
    own, cdn, other = seen
    assert own.headers.get("authorization") == f"Bearer {KEY}"
    assert "authorization" not in cdn.headers and "authorization" not in other.headers


def test_a_download_over_the_cap_is_refused(arun) -> None:
    async def scenario() -> None:
        async with client_for([], b"\x89PNG" + b"0" * 5000) as client:
            with pytest.raises(MalformedResponseError, match="larger than"):
                await client.fetch_media("https://cdn.example.com/big.png", max_bytes=1000)

    arun(scenario())
