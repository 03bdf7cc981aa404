"""Server-sent events: an incremental decoder of a `text/event-stream` body (WHATWG HTML §9.2).

`SSEDecoder.feed(chunk)` takes bytes exactly as they come off the socket, in chunks of any size,
and returns the events completed by that chunk; `flush()` is called once at end of stream. The
decoder is pure (no I/O) so it is tested on recorded bodies split at every possible boundary.

Rules implemented, and the few deliberate departures from the spec:

- Lines end in LF, CR or CRLF. A CR at the very end of one chunk followed by an LF at the start of
  the next is one line break, not two (a blank line there would dispatch an event too early).
- Lines are split on bytes, then decoded: CR/LF never occur inside a UTF-8 multibyte sequence,
  so a character split across chunks is simply kept in the partial-line buffer until its line ends.
  Invalid UTF-8 becomes U+FFFD, as the spec says.
- One leading UTF-8 BOM is dropped, even when it arrives split across chunks.
- `:` lines are comments (keep-alives). `field:value` strips exactly one leading space.
- `data` lines are joined with "\\n"; `event` names the type ("message" by default); `id` is the
  sticky last-event-id (ignored when it contains NUL); `retry` is accepted only as ASCII digits.
- An event whose data is empty is not dispatched. The spec would dispatch `data:` + blank line as
  an event with data ""; OpenAI-compatible servers and proxies use exactly that as a keep-alive,
  and an empty payload is never a JSON chunk, so it is dropped here.
- `flush()` dispatches an event left without its closing blank line. The spec discards it, but
  real servers end streams that way (Gemini's prompt-blocked stream), and dropping the last chunk
  would lose the reason the reply stopped.

Cost is linear in the input: each byte is scanned once, the partial line is a bytearray that is
only appended to, and data lines are joined once per event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEDecoder", "SSELimitError"]

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"[\r\n]")
_CR = 0x0D
_LF = 0x0A


class SSELimitError(ValueError):
    """One line or one event of the stream is longer than the decoder's cap (a hostile server)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"an SSE {what} longer than {limit} bytes")
        self.what = what
        self.limit = limit


@dataclass
class SSEEvent:
    """One dispatched event. `id` is the stream's last event id at dispatch time (it is sticky)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental `text/event-stream` decoder: bytes in, `SSEEvent`s out."""

    def __init__(self, *, max_line: int | None = None, max_event: int | None = None) -> None:
        # Caps (bytes) so an endless line or event cannot take the process's memory.
        self._max_line = max_line
        self._max_event = max_event
        self._event_size = 0
        self._partial = bytearray()  # bytes of the current, unterminated line
        self._skip_lf = False  # the previous chunk ended in CR: an LF opening the next is its pair
        self._bom_pending: bytes | None = b""  # None once the stream's first bytes were checked
        self._data: list[str] = []
        self._event_type = ""
        self._retry_in_event: int | None = None
        #: The stream's last event id (sticky across events, per spec).
        self.last_event_id: str | None = None
        #: The last reconnection time the server asked for, in milliseconds.
        self.retry: int | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for a line that has not ended yet (bounded by the longest line)."""
        return len(self._partial) + len(self._bom_pending or b"")

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode one chunk; return the events it completed (often none, sometimes several)."""
        if self._bom_pending is not None:
            head = self._bom_pending + bytes(chunk)
            if len(head) < len(_BOM) and _BOM.startswith(head):
                # Could still be a BOM split across chunks: wait for more bytes.
                self._bom_pending = head
                return []
            self._bom_pending = None
            chunk = head[len(_BOM) :] if head.startswith(_BOM) else head

        events: list[SSEEvent] = []
        size = len(chunk)
        pos = 0
        if self._skip_lf and size:
            if chunk[0] == _LF:
                pos = 1
            self._skip_lf = False
        while pos < size:
            match = _EOL.search(chunk, pos)
            if match is None:
                self._partial += chunk[pos:]
                if self._max_line is not None and len(self._partial) > self._max_line:
                    self._partial.clear()
                    raise SSELimitError("line", self._max_line)
                break
            end = match.start()
            if self._partial:
                self._partial += chunk[pos:end]
                line = bytes(self._partial)
                self._partial.clear()
            else:
                line = bytes(chunk[pos:end])
            if self._max_line is not None and len(line) > self._max_line:
                raise SSELimitError("line", self._max_line)
            if chunk[end] == _CR:
                if end + 1 < size:
                    pos = end + 2 if chunk[end + 1] == _LF else end + 1
                else:
                    self._skip_lf = True
                    pos = end + 1
            else:
                pos = end + 1
            self._process_line(line.decode("utf-8", errors="replace"), events)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: finish a last unterminated line and dispatch a pending event."""
        events: list[SSEEvent] = []
        if self._bom_pending:
            # Fewer than three bytes ever arrived and they looked like a BOM start: they are text.
            self._partial += self._bom_pending
        self._bom_pending = None
        if self._partial:
            line = bytes(self._partial)
            self._partial.clear()
            self._process_line(line.decode("utf-8", errors="replace"), events)
        self._skip_lf = False
        self._dispatch(events)
        return events

    # --- line handling ------------------------------------------------------------------------

    def _process_line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            return  # a comment: servers send these as keep-alives
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._event_size += len(value) + 1
            if self._max_event is not None and self._event_size > self._max_event:
                self._data.clear()
                raise SSELimitError("event", self._max_event)
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self.retry = int(value)
                self._retry_in_event = self.retry
        # Any other field name is ignored, as the spec says.

    def _dispatch(self, events: list[SSEEvent]) -> None:
        data = "\n".join(self._data)
        event_type = self._event_type or "message"
        retry = self._retry_in_event
        self._data.clear()
        self._event_size = 0
        self._event_type = ""
        self._retry_in_event = None
        if not data:
            return
        events.append(SSEEvent(event=event_type, data=data, id=self.last_event_id, retry=retry))
