"""Which media URLs a provider may hand out: HTTPS, or plain HTTP only from a loopback profile.

Shared by the image and video services (the key-to-own-origin rule itself is the client's:
`ProviderClient` sends credentials only to the profile's own origin, on every redirect hop).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from app.core.errors import MalformedResponseError

__all__ = ["check_media_url", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, `*.localhost` and loopback IP addresses (v4 or v6)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_media_url(url: str, base: str, what: str = "image") -> None:
    """Raise MalformedResponseError unless `url` is HTTPS, or HTTP while `base` is on loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    # A profile on loopback (a local server or proxy) may hand out plain-HTTP links.
    if parts.scheme == "http" and is_loopback_host(urlsplit(base).hostname or ""):
        return
    raise MalformedResponseError(
        f"The provider gave {'an' if what[0] in 'aeiou' else 'a'} {what} address that is not "
        "HTTPS, so it was not downloaded (only a provider on this computer may use plain HTTP). "
        "Check the provider's settings.",
    )
