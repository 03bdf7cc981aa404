"""Retry-After and x-ratelimit-* parsing, including Go durations and seed 001's epoch resets."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from app.core.protocol.ratelimit import parse_duration, parse_rate_limits, parse_retry_after

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1s", 1.0),
        ("30s", 30.0),
        ("2.5", 2.5),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("1m30.5s", 90.5),
        ("250us", 0.00025),
        (" 7 ", 7.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "-3", "m5s", "1s2", "s"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    assert parse_duration(text) is None


def test_retry_after_seconds() -> None:
    assert parse_retry_after({"Retry-After": "7"}, NOW) == 7.0


def test_retry_after_ms_wins_and_is_converted() -> None:
    headers = {"retry-after-ms": "1500", "Retry-After": "9"}
    assert parse_retry_after(headers, NOW) == pytest.approx(1.5)


def test_retry_after_http_date() -> None:
    headers = {"Retry-After": formatdate(NOW + 42, usegmt=True)}
    assert parse_retry_after(headers, NOW) == pytest.approx(42.0)


def test_retry_after_date_in_the_past_is_zero() -> None:
    assert parse_retry_after({"retry-after": formatdate(NOW - 100, usegmt=True)}, NOW) == 0.0


def test_retry_after_absent_or_garbage() -> None:
    assert parse_retry_after({}, NOW) is None
    assert parse_retry_after({"Retry-After": "whenever"}, NOW) is None


def test_retry_after_with_httpx_headers() -> None:
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "3"}), NOW) == 3.0


def test_openai_style_rate_limits() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    info = parse_rate_limits(headers, NOW)
    assert info is not None
    assert (info.limit_requests, info.remaining_requests) == (500, 499)
    assert info.reset_requests_at == pytest.approx(NOW + 0.12)
    assert (info.limit_tokens, info.remaining_tokens) == (30000, 29000)
    assert info.reset_tokens_at == pytest.approx(NOW + 360)


def test_seed_001_epoch_reset_case_insensitive() -> None:
    headers = {
        "X-RateLimit-Limit-Requests": "60",
        "X-RateLimit-Remaining-Requests": "0",
        "X-RateLimit-Reset-Requests": str(int(NOW) + 30),
    }
    info = parse_rate_limits(headers, NOW)
    assert info is not None
    assert info.limit_requests == 60
    assert info.remaining_requests == 0
    assert info.reset_requests_at == pytest.approx(NOW + 30)
    assert info.limit_tokens is None


def test_epoch_in_milliseconds_and_relative_seconds() -> None:
    ms = parse_rate_limits({"x-ratelimit-reset-requests": str(int((NOW + 5) * 1000))}, NOW)
    assert ms is not None and ms.reset_requests_at == pytest.approx(NOW + 5)
    rel = parse_rate_limits({"x-ratelimit-reset-tokens": "1s"}, NOW)
    assert rel is not None and rel.reset_tokens_at == pytest.approx(NOW + 1)
    plain = parse_rate_limits({"x-ratelimit-reset-tokens": "12"}, NOW)
    assert plain is not None and plain.reset_tokens_at == pytest.approx(NOW + 12)


def test_generic_headers_count_as_requests() -> None:
    info = parse_rate_limits({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "7"}, NOW)
    assert info is not None
    assert (info.limit_requests, info.remaining_requests) == (100, 7)


def test_no_rate_limit_headers_gives_none() -> None:
    assert parse_rate_limits({"content-type": "application/json"}, NOW) is None
    assert parse_rate_limits({"x-ratelimit-remaining-requests": "lots"}, NOW) is None
