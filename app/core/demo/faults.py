"""Fault injection for the demo server, and the log of requests it received.

A `FaultPlan` is an ordered list of `FaultRule`s. Each request takes the first rule that matches
it (by `path_contains` and `method`) and still has uses left (`times`; None = unlimited). A rule's
actions combine: `delay_s` is waited first, then one of

- `status`: reply with that status (+ `Retry-After` / `retry-after-ms`, custom `body`/`content_type`;
  without a body the flavour's own error shape is used);
- `wrong_content_type`: reply 200 `text/html` with an HTML page (a captive portal or a proxy);
- stream faults, counted in SSE events written: `disconnect_after_events` (close the socket
  abruptly, mid chunked body, no `[DONE]`), `malformed_after_events` (write a `data: {not json`
  line, then carry on), `error_event_after` (write a `data: {"error": ...}` event, then end the
  stream cleanly without `[DONE]`), `stall_s` (after `stall_after_events` events, send nothing for
  that long, then carry on).

On a non-streamed request `disconnect_after_events` closes the connection without any response
and `malformed_after_events` replies 200 with a truncated JSON body.

Hostile and wild-proxy faults (issue 7), each bounded in size and time:

- `stream_only`: the rule matches only streaming requests (a streaming path that 404s:
  `status=404, stream_only=True`);
- `comment_data_after_events`: write `data: : OPENROUTER PROCESSING` (a comment re-wrapped as
  data, not JSON) before that event, then carry on;
- `cut_after_events`: end the stream cleanly (terminating chunk) after that many events: no
  finish reason, no `[DONE]`;
- `think_tags`: the reply opens with inline reasoning `<think>…</think>`, split across chunks
  (streams of both dialects; non-streamed OpenAI replies too);
- `redirect_to_slash`: answer 308 to the same path with a trailing slash;
- `huge_body_mb`: a non-streamed 200 JSON reply of that many MB (generated, never held);
- `gzip_bomb_mb`: a `Content-Encoding: gzip` JSON reply that inflates to that many MB;
- `endless_line_mb`: a 200 event stream whose first `data:` line is that many MB, no line end;
- `empty_events`: that many empty events / comments / empty-choice chunks before the reply;
- `trickle_bytes_per_s`: the non-streamed reply body is written at that many bytes per second;
- `hold_headers_s`: the status line is sent, then nothing for that long, then the connection drops.

`CLOUDFLARE_1010_PAGE` is the body of a CDN firewall's block page (use with `status=403`,
`content_type="text/html"`, `headers={"Server": "cloudflare"}`).

The plan is thread-safe: tests set it in-process (`server.faults.add(...)`), a separate app process
through `POST /_control/faults` with the same fields as JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class FaultRule:
    path_contains: str | None = None
    method: str | None = None
    times: int | None = None  # uses left; None = every matching request
    delay_s: float = 0.0
    status: int | None = None
    retry_after: float | None = None  # Retry-After header, seconds
    retry_after_ms: int | None = None  # retry-after-ms header (OpenAI style)
    body: Any = None  # dict/list -> JSON; str -> as is with `content_type`
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    wrong_content_type: bool = False
    disconnect_after_events: int | None = None
    malformed_after_events: int | None = None
    error_event_after: int | None = None
    stall_s: float = 0.0
    stall_after_events: int = 1
    stream_only: bool = False
    comment_data_after_events: int | None = None
    cut_after_events: int | None = None
    think_tags: bool = False
    redirect_to_slash: bool = False
    huge_body_mb: int = 0
    gzip_bomb_mb: int = 0
    endless_line_mb: int = 0
    empty_events: int = 0
    trickle_bytes_per_s: float = 0.0
    hold_headers_s: float = 0.0

    def matches(self, method: str, path: str, stream: bool | None = None) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.stream_only and stream is False:
            return False
        return not self.path_contains or self.path_contains in path

    @property
    def hostile(self) -> bool:
        """A fault the request handler writes itself (bodies it generates, timing it controls)."""
        return bool(
            self.huge_body_mb
            or self.gzip_bomb_mb
            or self.endless_line_mb
            or self.trickle_bytes_per_s
            or self.hold_headers_s
        )

    @property
    def has_stream_fault(self) -> bool:
        return (
            self.disconnect_after_events is not None
            or self.malformed_after_events is not None
            or self.error_event_after is not None
            or self.stall_s > 0
            or self.comment_data_after_events is not None
            or self.cut_after_events is not None
            or self.think_tags
            or self.empty_events > 0
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from JSON, refusing unknown keys (a typo must not silently do nothing)."""
        if not isinstance(data, dict):
            raise TypeError("a fault rule must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


class FaultPlan:
    """The faults to inject, consulted once per request (thread-safe)."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule | None = None, /, **kwargs: Any) -> FaultRule:
        """Append a rule: `plan.add(FaultRule(...))` or `plan.add(status=429, times=1)`."""
        if rule is None:
            rule = FaultRule(**kwargs)
        elif kwargs:
            raise TypeError("pass either a FaultRule or keyword arguments, not both")
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str, stream: bool | None = None) -> FaultRule | None:
        """The first matching rule, using up one of its `times` (dropped when none are left)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path, stream):
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        del self._rules[index]
                return rule
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)


CLOUDFLARE_1010_PAGE = (
    "<!DOCTYPE html><html><head><title>Access denied | api.example.com used Cloudflare to "
    "restrict access</title></head><body><div id=\"cf-error-details\"><h1>Error 1010</h1>"
    "<h2>Access denied</h2><p>The owner of this website (api.example.com) has banned your access "
    "based on your browser's signature (8e1f0c2a9b7d-AMS).</p><p>Cloudflare Ray ID: "
    "8e1f0c2a9b7d</p></div></body></html>"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. Credentials are never stored, only whether they were
    present and whether they matched the server's key (None when the server has no key)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; credential values replaced by "<redacted>"
    json: Any
    flavour: str
    auth_present: bool
    auth_valid: bool | None


class RequestLog:
    """A thread-safe, bounded list of `RecordedRequest`s for assertions."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._items: list[RecordedRequest] = []
        self._capacity = capacity
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def append(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)
            if len(self._items) > self._capacity:
                del self._items[: len(self._items) - self._capacity]
            self._arrived.notify_all()

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float
    ) -> bool:
        """Block until `predicate(requests so far)` holds (checked as each request arrives,
        before any fault's delay); False after `timeout` seconds. For tests that must act
        while requests are held in flight (call it through `asyncio.to_thread`)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: predicate(list(self._items)), timeout)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def find(self, path_contains: str = "", method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.snapshot()
            if path_contains in r.path and (method is None or r.method == method.upper())
        ]

    def last(self) -> RecordedRequest | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RecordedRequest:
        return self.snapshot()[index]
