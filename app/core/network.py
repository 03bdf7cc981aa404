"""Network setup for one provider profile: timeouts, TLS trust and proxy routing for httpx.

- Timeouts come from the profile (slow local models need a long read timeout, not httpx's 5 s).
- TLS uses the operating system's trust store through `truststore`, plus the profile's own CA
  bundle when set (self-hosted servers with a private CA). Verification is never switched off.
- Proxies: the profile's proxy (`http://`, `https://`, `socks5://`, `socks5h://`) or, when the
  profile names none, the environment's (`HTTP(S)_PROXY`, `ALL_PROXY`, and on macOS/Windows the
  system settings, via `urllib.request.getproxies`). `NO_PROXY` is honoured either way and
  loopback hosts are never proxied: a local Ollama or LM Studio must keep working behind a
  corporate proxy.

Routing is expressed as httpx mounts (pattern -> transport). httpx patterns cannot express
address ranges (127.0.0.0/8, a NO_PROXY CIDR such as 10.0.0.0/8), so every proxy transport is
wrapped in `BypassingProxyTransport`, which sends those hosts direct as well.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import truststore

from app.core.errors import ConfigError, register_secret
from app.core.providers import ProviderProfile

__all__ = [
    "PROXY_SCHEMES",
    "LOOPBACK_PATTERNS",
    "ProxyBypass",
    "BypassingProxyTransport",
    "build_timeout",
    "build_ssl_context",
    "validate_proxy",
    "select_proxies",
    "proxy_mount_map",
    "build_client_kwargs",
]

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")

# httpx mount patterns that always go direct (the full 127.0.0.0/8 is checked by ProxyBypass).
LOOPBACK_PATTERNS = ("all://localhost", "all://*.localhost", "all://127.0.0.1", "all://[::1]")

# Uploading an image or a long prompt over a slow link can take a while; this is per write call.
_MIN_WRITE_TIMEOUT = 60.0


def build_timeout(profile: ProviderProfile) -> httpx.Timeout:
    """httpx timeouts from the profile: connect and read as set, write and pool derived."""
    connect = float(profile.connect_timeout)
    return httpx.Timeout(
        connect=connect,
        read=float(profile.read_timeout),
        write=max(_MIN_WRITE_TIMEOUT, connect),
        # Waiting for a free pooled connection is like connecting: same limit.
        pool=connect,
    )


def build_ssl_context(ca_file: str = "") -> ssl.SSLContext:
    """A verifying TLS context over the system trust store, plus `ca_file` (PEM) when given."""
    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    path = (ca_file or "").strip()
    if path:
        expanded = os.path.expanduser(path)
        if not os.path.isfile(expanded):
            raise ConfigError(
                f"The CA certificate file {path} does not exist. Pick an existing PEM file in the "
                "profile's network settings, or clear the field to use the system certificates."
            )
        try:
            ctx.load_verify_locations(cafile=expanded)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ConfigError(
                f"The CA certificate file {path} could not be read as PEM certificates. Export the "
                "certificate authority in PEM format (-----BEGIN CERTIFICATE-----) and pick it "
                "again.",
                detail=str(exc),
            ) from exc
    return ctx


def _display_proxy(proxy: str) -> str:
    """The proxy address without any password, for messages."""
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    port = f":{parts.port}" if _safe_port(parts) else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else "(unreadable address)"


def _safe_port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def validate_proxy(proxy: str) -> str:
    """The proxy URL, checked: a known scheme, a host, a valid port. ConfigError otherwise."""
    text = proxy.strip()
    parts = urlsplit(text)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname or not port_ok:
        raise ConfigError(
            f"The proxy address {_display_proxy(text)} is not valid. Use http://host:port, "
            "https://host:port, socks5://host:port or socks5h://host:port."
        )
    # Credentials in a proxy URL are secrets like API keys: keep them out of every message.
    if parts.password:
        register_secret(parts.password)
    return text


def _host_without_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


@dataclass
class ProxyBypass:
    """Which hosts go direct: loopback always, plus the entries of NO_PROXY.

    NO_PROXY follows curl: `*` (nothing is proxied), `example.com` and `.example.com` (the
    domain and its subdomains), IPv4/IPv6 addresses, CIDR ranges, and `host:port`.
    """

    everything: bool = False
    domains: list[str] = field(default_factory=list)
    host_ports: list[tuple[str, int]] = field(default_factory=list)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)

    @classmethod
    def from_no_proxy(cls, no_proxy: str) -> "ProxyBypass":
        bypass = cls()
        for raw in (no_proxy or "").replace(";", ",").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                bypass.everything = True
                continue
            if "://" in entry:
                entry = urlsplit(entry).netloc or entry
            try:
                bypass.networks.append(ipaddress.ip_network(_host_without_brackets(entry), strict=False))
                continue
            except ValueError:
                pass
            host, sep, port = entry.rpartition(":")
            if sep and port.isdigit() and host and not host.endswith(":"):
                bypass.host_ports.append((_host_without_brackets(host).lstrip("*").lstrip("."), int(port)))
                continue
            bypass.domains.append(entry.lstrip("*").lstrip("."))
        return bypass

    @staticmethod
    def is_loopback(host: str) -> bool:
        host = _host_without_brackets(host.strip().lower()).rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback

    def _domain_match(self, host: str, domain: str) -> bool:
        return host == domain or host.endswith("." + domain)

    def matches(self, host: str, port: int | None = None) -> bool:
        """True when a request to `host` (and `port`) must not go through the proxy."""
        host = _host_without_brackets(host.strip().lower()).rstrip(".")
        if self.everything or self.is_loopback(host):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and any(address in net for net in self.networks):
            return True
        if any(self._domain_match(host, d) for d in self.domains):
            return True
        return any(self._domain_match(host, h) and port == p for h, p in self.host_ports)


class BypassingProxyTransport(httpx.AsyncBaseTransport):
    """A proxy transport that still sends bypassed hosts (loopback, NO_PROXY ranges) direct."""

    def __init__(
        self, proxied: httpx.AsyncBaseTransport, direct: httpx.AsyncBaseTransport, bypass: ProxyBypass
    ) -> None:
        self.proxied = proxied
        self.direct = direct
        self.bypass = bypass
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if self.bypass.matches(url.host, url.port or (443 if url.scheme == "https" else 80)):
            return await self.direct.handle_async_request(request)
        return await self.proxied.handle_async_request(request)

    async def aclose(self) -> None:
        # The direct transport belongs to the client, which closes it; close only our own.
        if not self._closed:
            self._closed = True
            await self.proxied.aclose()


def select_proxies(
    profile_proxy: str, env_proxies: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """({"all"|"http"|"https": proxy URL}, NO_PROXY text) for a profile.

    `env_proxies` has the shape of `urllib.request.getproxies()` (keys `http`, `https`, `all`,
    `no`); it defaults to the real environment. The profile's proxy wins over the environment's,
    but the environment's NO_PROXY still applies to it.
    """
    env = dict(urllib.request.getproxies() if env_proxies is None else env_proxies)
    no_proxy = env.get("no", "")
    if profile_proxy.strip():
        return {"all": validate_proxy(profile_proxy)}, no_proxy
    chosen: dict[str, str] = {}
    for scheme in ("all", "http", "https"):
        value = (env.get(scheme) or "").strip()
        if not value:
            continue
        # A bare "host:port" in the environment means an HTTP proxy (curl does the same).
        chosen[scheme] = validate_proxy(value if "://" in value else f"http://{value}")
    return chosen, no_proxy


def proxy_mount_map(proxies: Mapping[str, str], no_proxy: str = "") -> dict[str, str | None]:
    """httpx mount patterns -> proxy URL, or None for "go direct". Empty when nothing is proxied.

    Loopback patterns and the NO_PROXY entries that httpx patterns can express map to None;
    ranges are left to `BypassingProxyTransport`.
    """
    if not proxies:
        return {}
    bypass = ProxyBypass.from_no_proxy(no_proxy)
    if bypass.everything:
        return {}
    mounts: dict[str, str | None] = {f"{scheme}://": url for scheme, url in proxies.items()}
    for pattern in LOOPBACK_PATTERNS:
        mounts[pattern] = None
    for domain in bypass.domains:
        try:
            address = ipaddress.ip_address(domain)
        except ValueError:
            mounts[f"all://*{domain}"] = None
        else:
            mounts[f"all://[{domain}]" if address.version == 6 else f"all://{domain}"] = None
    for net in bypass.networks:
        if net.num_addresses == 1:
            addr = net.network_address
            mounts[f"all://[{addr}]" if addr.version == 6 else f"all://{addr}"] = None
    for host, port in bypass.host_ports:
        mounts[f"all://*{host}:{port}"] = None
    return mounts


def build_client_kwargs(
    profile: ProviderProfile,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    env_proxies: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `httpx.AsyncClient` implementing the profile's network settings.

    With an injected `transport` (tests) no proxy or TLS setup is done: the transport answers
    everything. Otherwise a direct transport with the TLS context is the default and proxies
    are mounted per `proxy_mount_map`.
    """
    kwargs: dict[str, Any] = {
        "timeout": build_timeout(profile),
        # API calls never follow redirects: a POST redirected to GET loses its body, and custom
        # auth headers (x-goog-api-key) would follow to another host. Downloads follow by hand.
        "follow_redirects": False,
        # Kept on as documented; env proxies are read by `select_proxies` (httpx skips them when
        # a transport is given), so this only lets httpx honour SSL_CERT_* style settings.
        "trust_env": True,
    }
    if transport is not None:
        kwargs["transport"] = transport
        return kwargs

    ctx = build_ssl_context(profile.ca_file)
    direct = httpx.AsyncHTTPTransport(verify=ctx)
    kwargs["transport"] = direct
    proxies, no_proxy = select_proxies(profile.proxy, env_proxies)
    mount_map = proxy_mount_map(proxies, no_proxy)
    if mount_map:
        bypass = ProxyBypass.from_no_proxy(no_proxy)
        by_url: dict[str, BypassingProxyTransport] = {}
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        for pattern, url in mount_map.items():
            if url is None:
                mounts[pattern] = None
                continue
            if url not in by_url:
                by_url[url] = BypassingProxyTransport(
                    httpx.AsyncHTTPTransport(proxy=url, verify=ctx), direct, bypass
                )
            mounts[pattern] = by_url[url]
        kwargs["mounts"] = mounts
    return kwargs
