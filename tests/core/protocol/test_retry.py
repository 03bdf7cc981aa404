"""The one retry decision: a pure function of status/transport, headers, attempt, time, output."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from app.core.protocol.retry import BACKOFF_BASE, decide_retry, server_wait, wait_phrase

NOW = 1_700_000_000.0


def decide(status: int | None = 429, headers: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "status": status,
        "headers": headers or {},
        "attempt": 0,
        "max_retries": 3,
        "now": NOW,
        "output_arrived": False,
        "cap": 60.0,
        "jitter": 0.0,
    }
    args.update(kw)
    return decide_retry(**args)  # type: ignore[arg-type]


def test_retry_after_seconds_is_waited() -> None:
    d = decide(headers={"Retry-After": "7"})
    assert (d.retry, d.delay, d.retry_after) == (True, 7.0, 7.0)


def test_retry_after_ms_wins() -> None:
    assert decide(headers={"retry-after-ms": "1500", "Retry-After": "9"}).delay == 1.5


@pytest.mark.parametrize(
    "value",
    ["0", formatdate(NOW, usegmt=True), formatdate(NOW - 30, usegmt=True), "soon", ""],
)
def test_zero_past_or_unparsable_retry_after_falls_back_to_backoff(value: str) -> None:
    d = decide(headers={"Retry-After": value})
    assert d.retry and d.delay == BACKOFF_BASE  # jitter 0: the full first backoff, not 0
    assert d.retry_after is None


def test_backoff_has_jitter_and_grows() -> None:
    first = decide(status=503, jitter=0.999).delay
    assert 0.75 * BACKOFF_BASE <= first < BACKOFF_BASE
    assert decide(status=503, attempt=2).delay == BACKOFF_BASE * 4


def test_future_http_date_is_waited() -> None:
    d = decide(headers={"Retry-After": formatdate(NOW + 20, usegmt=True)})
    assert d.retry and 19.0 <= d.delay <= 20.0


def test_429_with_only_reset_headers_waits_for_the_reset() -> None:
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "12s",
        "x-ratelimit-remaining-tokens": "5000",
        "x-ratelimit-reset-tokens": "1s",
    }
    d = decide(headers=headers)
    assert d.retry and d.delay == pytest.approx(12.0)


def test_reset_beyond_the_cap_is_not_retried_and_says_how_long() -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2m0s"}
    d = decide(headers=headers)
    assert (d.retry, d.too_long, d.retry_after) == (False, True, pytest.approx(120.0))
    assert wait_phrase(d.retry_after or 0) == "2 min"


def test_reset_headers_do_not_apply_to_other_statuses() -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "30s"}
    assert server_wait(headers, NOW, status=503) is None


def test_no_retry_after_output_or_past_max_or_for_client_errors() -> None:
    assert not decide(output_arrived=True).retry
    assert not decide(attempt=3).retry
    assert not decide(status=400).retry
    assert not decide(status=401).retry


def test_should_retry_header_overrides() -> None:
    assert not decide(status=503, headers={"x-should-retry": "false"}).retry
    assert decide(status=400, headers={"x-should-retry": "true"}).retry


def test_transport_failures() -> None:
    assert decide(status=None, transport_retryable=True).retry
    assert not decide(status=None, transport_retryable=False).retry


def test_body_wait_used_when_headers_have_none() -> None:
    assert decide(body_retry_after=3.0).delay == 3.0


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2, "1 s"), (45, "45 s"), (61, "2 min"), (120, "2 min"), (3900, "1 h 5 min"), (7200, "2 h")]
)
def test_wait_phrase(seconds: float, text: str) -> None:
    assert wait_phrase(seconds) == text
