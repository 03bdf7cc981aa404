"""The one retry decision: retry or not, and how long to wait, as a pure function.

`decide_retry()` takes what an attempt ended with (an HTTP status, or a transport failure that
the caller judged retryable or not), the response headers, the attempt number, the current time,
whether output already reached the caller, and the longest wait the caller accepts (`cap`). The
client only sleeps what it says.

- The server's wait is read once here (`server_wait`): `retry-after-ms`, `Retry-After` in seconds
  or as an HTTP date, and for a 429 without them the `x-ratelimit-reset-*` headers (the window
  that ran out). A wait of 0, a date now or in the past, or a value that does not parse is no
  wait at all: the normal exponential backoff with jitter applies (an immediate retry would only
  hit the same limit again).
- A wait longer than `cap` is not retried: the error says how long to wait (`wait_phrase`) and
  keeps `retry_after` so the UI can count down.
- Nothing is retried once output reached the caller (it would duplicate text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.core.protocol.ratelimit import parse_http_date, parse_number, parse_rate_limits

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "BACKOFF_FACTOR",
    "RETRY_STATUSES",
    "RetryDecision",
    "backoff_delay",
    "decide_retry",
    "is_retry_status",
    "server_wait",
    "wait_phrase",
]

RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 8.0


@dataclass(frozen=True)
class RetryDecision:
    """Whether to retry a failed request, and after how long."""

    retry: bool
    delay: float = 0.0  # seconds to sleep before the next attempt (when `retry`)
    # What the server asked to wait (seconds), when it asked for a real wait; kept on the error.
    retry_after: float | None = None
    # True when the server's wait is longer than the cap: the error should say how long.
    too_long: bool = False


def is_retry_status(status: int) -> bool:
    return status in RETRY_STATUSES or 500 <= status < 600


def backoff_delay(attempt: int, jitter: float) -> float:
    """Seconds before retry number `attempt + 1`: exponential, capped, minus up to 25 % jitter.

    `jitter` is a number in [0, 1) (the caller's random source), so many clients hit by the same
    outage do not come back in lockstep.
    """
    delay = min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** max(0, attempt))
    return delay * (1.0 - 0.25 * min(max(jitter, 0.0), 1.0))


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _positive(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value > 0 else None


def server_wait(headers: Mapping[str, str], now: float, *, status: int | None = None) -> float | None:
    """Seconds the server asked to wait (> 0), or None when it asked for nothing usable."""
    lowered = _lower(headers)
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        value = parse_number(millis)
        if _positive(value) is not None:
            return value / 1000.0  # type: ignore[operator]
    text = lowered.get("retry-after")
    if text is not None:
        seconds = parse_number(text)
        if seconds is not None:
            return _positive(seconds)
        moment = parse_http_date(text)
        if moment is not None:
            return _positive(moment - now)
        return None
    if status == 429:
        return _reset_wait(headers, now)
    return None


def _reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """For a 429 with no Retry-After: until the exhausted rate-limit window resets."""
    info = parse_rate_limits(headers, now)
    if info is None:
        return None
    windows = [
        (info.remaining_requests, info.reset_requests_at),
        (info.remaining_tokens, info.reset_tokens_at),
    ]
    exhausted = [at for remaining, at in windows if at is not None and remaining == 0]
    candidates = exhausted or [at for _remaining, at in windows if at is not None]
    if not candidates:
        return None
    return _positive(max(candidates) - now)


def decide_retry(
    *,
    status: int | None,
    headers: Mapping[str, str],
    attempt: int,
    max_retries: int,
    now: float,
    output_arrived: bool,
    cap: float,
    jitter: float,
    transport_retryable: bool = False,
    body_retry_after: float | None = None,
) -> RetryDecision:
    """Retry or not, and the delay.

    `status` is the HTTP status, or None for a transport failure (then `transport_retryable`
    says whether it is safe to send again: a refused connection is, a read timeout is not).
    `body_retry_after` is a wait the error body asked for (Gemini's RetryInfo), used when the
    headers ask for none. `attempt` counts the retries already made.
    """
    if status is None:
        retryable = transport_retryable
        wait = None
    else:
        retryable = is_retry_status(status)
        # OpenAI's explicit hint overrides the status-based guess either way.
        hint = _lower(headers).get("x-should-retry", "").strip().lower()
        if hint in ("true", "false"):
            retryable = hint == "true"
        wait = server_wait(headers, now, status=status)
        if wait is None:
            wait = _positive(body_retry_after)
    if wait is not None and wait > cap:
        # Waiting minutes inside a request looks like a hang; the caller shows the wait instead.
        return RetryDecision(False, retry_after=wait, too_long=True)
    if not retryable or output_arrived or attempt >= max_retries:
        return RetryDecision(False, retry_after=wait)
    delay = wait if wait is not None else backoff_delay(attempt, jitter)
    return RetryDecision(True, delay=delay, retry_after=wait)


def wait_phrase(seconds: float) -> str:
    """"2 min", "45 s", "1 h 5 min": how long a user should wait, rounded up."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
