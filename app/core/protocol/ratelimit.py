"""Reading what a provider says about waiting and limits: Retry-After and x-ratelimit-* headers.

Providers disagree on formats: OpenAI sends `x-ratelimit-reset-requests: 6m0s` / `20ms` (Go
durations), others send plain seconds, and seed 001 documents `X-RateLimit-Reset-Requests` as a
UTC epoch time. `Retry-After` is seconds or an HTTP date; OpenAI adds `retry-after-ms`.
Everything here is a pure function of a header mapping and the current time (`now`, epoch seconds)
so it can be tested without a clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from app.core.protocol.types import RateLimitInfo

__all__ = ["parse_duration", "parse_http_date", "parse_number", "parse_retry_after", "parse_rate_limits"]

_UNIT_SECONDS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
}
# Longest units first so "ms" is not read as "m" followed by junk.
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|μs|ns|h|m|s)")
_NUMBER = re.compile(r"[+]?(\d+(?:\.\d*)?|\.\d+)")

# Thresholds for telling an epoch from a relative number of seconds: nobody asks to wait 30 years.
_EPOCH_SECONDS_MIN = 1e9
_EPOCH_MILLIS_MIN = 1e12


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    # httpx.Headers is already case-insensitive, a plain dict is not: normalise both.
    return {str(k).lower(): str(v) for k, v in headers.items()}


def parse_number(text: str) -> float | None:
    match = _NUMBER.fullmatch(text.strip())
    if not match:
        return None
    value = float(match.group(0))
    return value if math.isfinite(value) else None


def parse_duration(text: str) -> float | None:
    """Seconds in a duration such as `6m0s`, `20ms`, `1h2m3.5s`, `2.5` or `30s`; None if unreadable."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    plain = parse_number(text)
    if plain is not None:
        return plain
    total = 0.0
    pos = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        return None
    return total


def parse_http_date(text: str) -> float | None:
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment.timestamp()


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before retrying (>= 0), from `retry-after-ms` or `Retry-After`; else None."""
    lowered = _lower(headers)
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        value = parse_number(millis)
        if value is not None:
            return max(0.0, value / 1000.0)
    text = lowered.get("retry-after")
    if text is None:
        return None
    seconds = parse_number(text)
    if seconds is not None:
        return max(0.0, seconds)
    moment = parse_http_date(text)
    if moment is not None:
        return max(0.0, moment - now)
    return None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    # Some servers send a list ("60, 60;w=60"); the first number is the one that applies.
    match = re.match(r"\s*(\d+(?:\.\d*)?)", text)
    if not match:
        return None
    return int(float(match.group(1)))


def _reset_at(text: str | None, now: float) -> float | None:
    """An absolute epoch time from a reset header: a duration, seconds, an epoch (s or ms), a date."""
    if text is None or not text.strip():
        return None
    plain = parse_number(text)
    if plain is not None:
        if plain >= _EPOCH_MILLIS_MIN:
            return plain / 1000.0
        if plain >= _EPOCH_SECONDS_MIN:
            return plain
        return now + plain
    duration = parse_duration(text)
    if duration is not None:
        return now + duration
    return parse_http_date(text)


def parse_rate_limits(headers: Mapping[str, str], now: float) -> RateLimitInfo | None:
    """The `x-ratelimit-*` headers as a RateLimitInfo (reset times absolute), or None if there are none.

    Reads `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, case-insensitively; the
    unsuffixed `x-ratelimit-{limit,remaining,reset}` some gateways send count as requests.
    """
    lowered = _lower(headers)

    def pick(kind: str, unit: str) -> str | None:
        value = lowered.get(f"x-ratelimit-{kind}-{unit}")
        if value is None and unit == "requests":
            value = lowered.get(f"x-ratelimit-{kind}")
        return value

    info = RateLimitInfo(
        limit_requests=_count(pick("limit", "requests")),
        remaining_requests=_count(pick("remaining", "requests")),
        reset_requests_at=_reset_at(pick("reset", "requests"), now),
        limit_tokens=_count(pick("limit", "tokens")),
        remaining_tokens=_count(pick("remaining", "tokens")),
        reset_tokens_at=_reset_at(pick("reset", "tokens"), now),
    )
    return None if info.is_empty() else info
