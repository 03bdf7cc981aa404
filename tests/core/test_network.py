"""network.py: timeouts, TLS trust with an extra CA file, and proxy routing (loopback direct)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest

from app.core.errors import ConfigError, redact
from app.core.network import (
    LOOPBACK_PATTERNS,
    BypassingProxyTransport,
    ProxyBypass,
    build_client_kwargs,
    build_ssl_context,
    build_timeout,
    proxy_mount_map,
    select_proxies,
    validate_proxy,
)
from app.core.providers import ProviderProfile


def profile(**kwargs: Any) -> ProviderProfile:
    return ProviderProfile(name="t", base_url="https://api.example.com/v1", **kwargs)


def test_timeouts_come_from_the_profile() -> None:
    timeout = build_timeout(profile(connect_timeout=3.0, read_timeout=900.0))
    assert timeout.connect == 3.0
    assert timeout.read == 900.0
    assert timeout.write is not None and timeout.write >= 3.0
    assert timeout.pool == 3.0


def test_ssl_context_verifies_by_default() -> None:
    ctx = build_ssl_context("")
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_ssl_context_loads_an_extra_ca_file() -> None:
    ctx = build_ssl_context(certifi.where())
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    # truststore wraps a stdlib context; the file's CAs land in it (a TLS handshake against a
    # private CA is proved in test_client_loopback.py).
    assert len(ctx._ctx.get_ca_certs()) > 0


def test_missing_ca_file_is_a_config_error_with_a_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "corp-ca.pem"
    with pytest.raises(ConfigError) as info:
        build_ssl_context(str(missing))
    message = info.value.user_message
    assert str(missing) in message
    assert "does not exist" in message and message.endswith(".")


def test_ca_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello")
    with pytest.raises(ConfigError) as info:
        build_ssl_context(str(bad))
    assert "PEM" in info.value.user_message


def test_client_kwargs_raise_for_missing_ca(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_client_kwargs(profile(ca_file=str(tmp_path / "nope.pem")), env_proxies={})


@pytest.mark.parametrize(
    "proxy",
    ["http://proxy:3128", "https://proxy:443", "socks5://127.0.0.1:1080", "socks5h://proxy.corp:1080"],
)
def test_valid_proxies(proxy: str) -> None:
    assert validate_proxy(proxy) == proxy


@pytest.mark.parametrize("proxy", ["ftp://proxy:21", "proxy:3128", "http://", "socks4://p:1080", "http://p:99999"])
def test_invalid_proxies(proxy: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_proxy(proxy)
    assert "socks5://" in info.value.user_message


def test_proxy_password_never_shown() -> None:
    with pytest.raises(ConfigError) as info:
        validate_proxy("gopher://user:hunter2secret@proxy:70")
    assert "hunter2secret" not in str(info.value)
    validate_proxy("http://user:s3cr3t-pass@proxy:3128")
    assert "s3cr3t-pass" not in redact("proxy said s3cr3t-pass")


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "ollama.localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1"],
)
def test_loopback_always_bypasses(host: str) -> None:
    assert ProxyBypass.from_no_proxy("").matches(host, 80)


@pytest.mark.parametrize("host", ["api.example.com", "10.1.2.3", "192.168.1.1", "localhost.evil.com"])
def test_other_hosts_use_the_proxy_without_no_proxy(host: str) -> None:
    assert not ProxyBypass.from_no_proxy("").matches(host, 443)


def test_no_proxy_entries() -> None:
    bypass = ProxyBypass.from_no_proxy(" example.com, .corp.net ,10.0.0.0/8, 192.168.1.7, fd00::/8, gw.lan:8080 ")
    assert bypass.matches("example.com", 443)
    assert bypass.matches("api.example.com", 443)
    assert not bypass.matches("notexample.com", 443)
    assert bypass.matches("corp.net", 443) and bypass.matches("a.b.corp.net", 443)
    assert bypass.matches("10.200.3.4", 80)
    assert not bypass.matches("11.0.0.1", 80)
    assert bypass.matches("192.168.1.7", 80) and not bypass.matches("192.168.1.8", 80)
    assert bypass.matches("fd00::1", 80)
    assert bypass.matches("gw.lan", 8080) and not bypass.matches("gw.lan", 443)
    assert ProxyBypass.from_no_proxy("*").matches("anything.example", 443)


def test_mount_map_sends_loopback_direct() -> None:
    mounts = proxy_mount_map({"all": "http://proxy:3128"})
    assert mounts["all://"] == "http://proxy:3128"
    for pattern in LOOPBACK_PATTERNS:
        assert mounts[pattern] is None


def test_mount_map_includes_expressible_no_proxy_entries() -> None:
    mounts = proxy_mount_map(
        {"http": "http://p:1", "https": "http://p:2"}, "internal.example, 10.0.0.5, ::2, 10.0.0.0/8"
    )
    assert mounts["http://"] == "http://p:1" and mounts["https://"] == "http://p:2"
    assert mounts["all://*internal.example"] is None
    assert mounts["all://10.0.0.5"] is None
    assert mounts["all://[::2]"] is None
    # Ranges cannot be httpx patterns; BypassingProxyTransport handles them.
    assert not any("/8" in key for key in mounts)


def test_mount_map_empty_without_proxy_or_with_star() -> None:
    assert proxy_mount_map({}) == {}
    assert proxy_mount_map({"all": "http://p:1"}, "*") == {}


def test_profile_proxy_wins_over_environment_but_no_proxy_applies() -> None:
    env = {"https": "http://envproxy:8080", "no": "corp.example"}
    proxies, no_proxy = select_proxies("socks5h://mine:1080", env)
    assert proxies == {"all": "socks5h://mine:1080"}
    assert no_proxy == "corp.example"


def test_environment_proxies_used_when_profile_has_none() -> None:
    proxies, no_proxy = select_proxies("", {"https": "envproxy:8080", "http": "http://e:1", "no": "x"})
    assert proxies == {"https": "http://envproxy:8080", "http": "http://e:1"}
    assert no_proxy == "x"
    assert select_proxies("", {}) == ({}, "")


def _mock(tag: str, seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{tag}:{request.url.host}")
        return httpx.Response(200)

    return httpx.MockTransport(handler)


def test_bypassing_transport_routes_ranges_direct(arun: Callable[..., Any]) -> None:
    seen: list[str] = []
    transport = BypassingProxyTransport(
        _mock("proxy", seen), _mock("direct", seen), ProxyBypass.from_no_proxy("10.0.0.0/8")
    )

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            for url in ("http://127.0.0.2:9/", "http://10.9.9.9/", "https://api.example.com/", "http://[::1]:8/"):
                await client.get(url)

    arun(go())
    assert seen == ["direct:127.0.0.2", "direct:10.9.9.9", "proxy:api.example.com", "direct:::1"]


def test_client_kwargs_with_profile_proxy_mounts_routes(arun: Callable[..., Any]) -> None:
    kwargs = build_client_kwargs(profile(proxy="socks5://127.0.0.1:1080"), env_proxies={"no": "10.0.0.0/8"})
    assert kwargs["trust_env"] is True
    assert kwargs["follow_redirects"] is False
    mounts = kwargs["mounts"]
    assert isinstance(mounts["all://"], BypassingProxyTransport)
    assert all(mounts[p] is None for p in LOOPBACK_PATTERNS)

    async def go() -> None:
        async with httpx.AsyncClient(**kwargs) as client:
            direct = client._transport  # the default transport: loopback goes here
            assert client._transport_for_url(httpx.URL("http://localhost:11434/v1")) is direct
            assert client._transport_for_url(httpx.URL("http://127.0.0.1:1234/v1")) is direct
            assert client._transport_for_url(httpx.URL("https://api.example.com/v1")) is mounts["all://"]

    arun(go())


def test_client_kwargs_without_any_proxy_have_no_mounts(arun: Callable[..., Any]) -> None:
    kwargs = build_client_kwargs(profile(), env_proxies={})
    assert "mounts" not in kwargs
    assert isinstance(kwargs["transport"], httpx.AsyncHTTPTransport)

    async def go() -> None:
        async with httpx.AsyncClient(**kwargs):
            pass

    arun(go())


def test_injected_transport_skips_network_setup(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    # Even a bad CA path is not touched when a test transport answers everything.
    kwargs = build_client_kwargs(profile(ca_file=str(tmp_path / "x.pem")), transport=transport)
    assert kwargs["transport"] is transport
    assert "mounts" not in kwargs


def test_environment_proxy_keeps_loopback_direct(arun: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://corp-proxy:3128")
    monkeypatch.setenv("https_proxy", "http://corp-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp")
    monkeypatch.setenv("no_proxy", "internal.corp")
    kwargs = build_client_kwargs(profile())
    mounts = kwargs["mounts"]
    assert isinstance(mounts["https://"], BypassingProxyTransport)
    assert mounts["all://*internal.corp"] is None

    async def go() -> None:
        async with httpx.AsyncClient(**kwargs) as client:
            direct = client._transport
            assert client._transport_for_url(httpx.URL("https://localhost:8443/v1")) is direct
            assert client._transport_for_url(httpx.URL("https://api.internal.corp/v1")) is direct
            assert client._transport_for_url(httpx.URL("https://api.example.com/v1")) is mounts["https://"]

    arun(go())
