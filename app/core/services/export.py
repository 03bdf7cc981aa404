"""Exporting chat threads: Markdown and HTML for reading, JSON for a lossless backup.

- `thread_to_markdown` / `thread_to_html` render one branch (the path the user is looking at)
  for reading or sharing. The HTML is a standalone file that is safe to open: user text is
  escaped, model text goes through the `markdown` package with raw HTML escaped, link targets
  are limited to http(s)/mailto/fragments, images are never loaded from the network (attached
  images are embedded as `data:` URLs), there is no script, and a Content-Security-Policy forbids
  any remote resource or script even if something slipped through.
- `thread_to_json` / `archive_to_json` are lossless: the whole tree of every thread, every field.
  `app.core.services.importers.import_archive` reads them back.
- `export_thread` / `export_archive` read through the repository and write the file atomically
  (temporary file + `os.replace`), so a failure (disk full, no permission) leaves an existing
  file untouched and raises `StorageError` with a sentence.

Exports carry what the database holds: profile ids and provider names, never an API key. Error
texts are passed through `errors.redact` once more on the way out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import html
import json
import os
import re
import tempfile
import xml.etree.ElementTree as etree
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE
from pygments.formatters import HtmlFormatter

from app.core.errors import StorageError, redact
from app.core.store.db import Database
from app.core.store.records import Message, Thread
from app.core.store.threads import ThreadRepository

__all__ = [
    "ARCHIVE_FORMAT",
    "FORMAT_VERSION",
    "THREAD_FORMAT",
    "ExportFormat",
    "archive_to_json",
    "export_archive",
    "export_thread",
    "format_for_path",
    "message_to_json",
    "parents_first",
    "render_markdown_safe",
    "thread_record_to_json",
    "thread_to_html",
    "thread_to_json",
    "thread_to_markdown",
    "write_text_atomic",
]

THREAD_FORMAT = "switchboard-thread"
ARCHIVE_FORMAT = "switchboard-archive"
FORMAT_VERSION = 1

ExportFormat = Literal["json", "markdown", "html"]


_ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_EMBEDDABLE_MIMES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")


def _role_label(role: str) -> str:
    return _ROLE_LABELS.get(role, role.capitalize() or "Message")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- Markdown ---------------------------------------------------------------------------------


def _status_note(message: Message) -> str | None:
    if message.status == "error":
        return f"Error: {_one_line(redact(message.error or 'the reply failed'))}"
    if message.status in ("interrupted", "cancelled", "streaming"):
        return f"The reply is incomplete ({message.status})."
    return None


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def thread_to_markdown(thread: Thread, path: Sequence[Message]) -> str:
    """One branch of a thread as Markdown: title, each message under a heading naming its role
    (and the model of each reply), reasoning in a collapsed `<details>` note, content verbatim so
    code blocks survive."""
    out: list[str] = [f"# {_one_line(thread.title) or 'Untitled chat'}", ""]
    if thread.system_prompt:
        out += ["**System prompt:**", ""]
        out += [f"> {line}" if line else ">" for line in thread.system_prompt.splitlines()]
        out.append("")
    for message in path:
        heading = f"## {_role_label(message.role)}"
        if message.role == "assistant" and message.model:
            heading += f" · {_one_line(message.model)}"
        out += [heading, ""]
        if message.reasoning:
            out += ["<details><summary>Reasoning</summary>", "", message.reasoning.rstrip(), "",
                    "</details>", ""]
        for part in message.parts:
            if part.get("type") == "image":
                out += ["*[image attachment]*", ""]
        if message.content:
            out += [message.content.rstrip(), ""]
        if message.refusal:
            out += [f"> **Refused:** {_one_line(message.refusal)}", ""]
        for call in message.tool_calls:
            name = _one_line(str(call.get("name") or "tool"))
            args = str(call.get("arguments") or "")
            fence = "`" * max(3, _longest_backtick_run(args) + 1)
            out += [f"*Called `{name}`:*", "", f"{fence}json", args, fence, ""]
        note = _status_note(message)
        if note:
            out += [f"*{note}*", ""]
    return "\n".join(out).rstrip() + "\n"


# --- HTML -------------------------------------------------------------------------------------


def _safe_href(href: str) -> bool:
    """True for http(s)/mailto URLs, fragments and plain relative paths; False for the rest
    (javascript:, data:, vbscript:, ... including ones disguised with entities or whitespace)."""
    text = html.unescape(href.replace(AMP_SUBSTITUTE, "&"))
    text = "".join(ch for ch in text if ch > " " and ch != "\x7f").lower()
    scheme, colon, _ = text.partition(":")
    if not colon or any(c in scheme for c in "/?#"):
        return True  # no scheme: relative or fragment
    return scheme in _SAFE_SCHEMES


class _SanitizeTree(Treeprocessor):
    """Neutralise what Markdown syntax alone can produce: unsafe link targets and images
    (which a browser would fetch); drop any event-handler attribute."""

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            for name in list(el.attrib):
                if name.lower().startswith("on") or name.lower() in ("style", "srcset"):
                    del el.attrib[name]
            if el.tag == "a":
                href = el.get("href")
                if href is not None and not _safe_href(href):
                    del el.attrib["href"]
                if el.get("href"):
                    el.set("rel", "noopener noreferrer nofollow")
            elif el.tag == "img":
                alt = el.get("alt") or ""
                el.tag = "span"
                el.attrib.clear()
                el.set("class", "omitted")
                el.text = f"[image: {alt}]" if alt else "[image]"


def _markdown_renderer() -> markdown.Markdown:
    md = markdown.Markdown(
        extensions=["fenced_code", "tables", "sane_lists", "codehilite"],
        extension_configs={"codehilite": {"guess_lang": False, "css_class": "codehilite"}},
        output_format="html",
    )
    # Raw HTML typed in a message is shown as text, never passed through.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SanitizeTree(md), "switchboard_sanitize", 5)
    return md


def render_markdown_safe(text: str) -> str:
    """Markdown -> HTML with raw HTML escaped, unsafe links dropped and no remote images."""
    md = _markdown_renderer()
    return str(md.convert(text))


def _escaped_block(text: str, css_class: str) -> str:
    return f'<div class="{css_class}">{html.escape(text)}</div>'


def _attachment_html(part: dict[str, Any]) -> str:
    if part.get("type") != "image":
        return '<p class="omitted">[attachment]</p>'
    mime = str(part.get("mime") or "")
    data = part.get("data_b64")
    if mime in _EMBEDDABLE_MIMES and isinstance(data, str) and _BASE64.match(data):
        try:
            base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            return '<p class="omitted">[image attachment]</p>'
        clean = "".join(data.split())
        return f'<img class="attachment" alt="attached image" src="data:{mime};base64,{clean}">'
    url = part.get("url")
    if isinstance(url, str) and url and _safe_href(url) and not url.startswith("data:"):
        # A link, not an <img>: opening the file must not fetch anything.
        return (
            f'<p class="omitted"><a href="{html.escape(url, quote=True)}" '
            'rel="noopener noreferrer nofollow">[image attachment]</a></p>'
        )
    return '<p class="omitted">[image attachment]</p>'


_CSS = """
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 52rem;
       margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.6rem; }
.system { border-left: 3px solid #999; padding: .5rem 1rem; color: #555; white-space: pre-wrap; }
.message { margin: 1.2rem 0; padding: .8rem 1rem; border-radius: 10px; }
.message.user { background: #eef3ff; }
.message.assistant { background: #f6f6f6; }
.message.system { background: #fff8e6; }
.role { font-weight: 600; font-size: .85rem; color: #555; margin-bottom: .4rem; }
.role .model { font-weight: 400; color: #777; }
.plain { white-space: pre-wrap; overflow-wrap: anywhere; }
.reasoning { white-space: pre-wrap; color: #555; font-size: .9rem; }
details { margin-bottom: .6rem; }
.note { color: #a33; font-style: italic; }
.omitted { color: #777; font-style: italic; }
img.attachment { max-width: 100%; border-radius: 6px; }
pre { background: #272822; color: #f8f8f2; padding: .7rem; border-radius: 6px; overflow-x: auto; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: .9em; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .2rem .5rem; }
"""


def thread_to_html(thread: Thread, path: Sequence[Message]) -> str:
    """One branch of a thread as a standalone, safe HTML document (inline CSS, no scripts,
    nothing fetched from the network)."""
    title = html.escape(_one_line(thread.title) or "Untitled chat")
    pygments_css = HtmlFormatter(style="monokai").get_style_defs(".codehilite")
    md = _markdown_renderer()  # one renderer for the document, reset between messages
    body: list[str] = [f"<h1>{title}</h1>"]
    if thread.system_prompt:
        body.append(_escaped_block(thread.system_prompt, "system"))
    for message in path:
        role = message.role if message.role in _ROLE_LABELS else "other"
        label = html.escape(_role_label(message.role))
        model = ""
        if message.role == "assistant" and message.model:
            model = f' <span class="model">· {html.escape(_one_line(message.model))}</span>'
        body.append(f'<section class="message {role}">')
        body.append(f'<div class="role">{label}{model}</div>')
        if message.reasoning:
            body.append(
                "<details><summary>Reasoning</summary>"
                + _escaped_block(message.reasoning, "reasoning")
                + "</details>"
            )
        body.extend(_attachment_html(p) for p in message.parts)
        if message.content:
            if message.role == "assistant":
                rendered = str(md.reset().convert(message.content))
                body.append(f'<div class="markdown">{rendered}</div>')
            else:
                body.append(_escaped_block(message.content, "plain"))
        if message.refusal:
            body.append(f'<p class="note">Refused: {html.escape(message.refusal)}</p>')
        for call in message.tool_calls:
            name = html.escape(str(call.get("name") or "tool"))
            args = html.escape(str(call.get("arguments") or ""))
            body.append(f'<p class="omitted">Called {name}:</p><pre><code>{args}</code></pre>')
        note = _status_note(message)
        if note:
            body.append(f'<p class="note">{html.escape(note)}</p>')
        body.append("</section>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}\n{pygments_css}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --- JSON -------------------------------------------------------------------------------------


def thread_record_to_json(thread: Thread) -> dict[str, Any]:
    """Every field of a thread record as JSON values."""
    return {
        "id": thread.id,
        "title": thread.title,
        "kind": thread.kind,
        "profile_id": thread.profile_id,
        "model": thread.model,
        "system_prompt": thread.system_prompt,
        "params": thread.params.to_json(),
        "pinned": thread.pinned,
        "archived": thread.archived,
        "selected_leaf_id": thread.selected_leaf_id,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "deleted_at": thread.deleted_at,
    }


def message_to_json(message: Message) -> dict[str, Any]:
    """Every field of a message record as JSON values (`thread_id` is implied by the nesting)."""
    return {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": message.role,
        "content": message.content,
        "parts": [dict(p) for p in message.parts],
        "reasoning": message.reasoning,
        "refusal": message.refusal,
        "tool_calls": [dict(c) for c in message.tool_calls],
        "profile_id": message.profile_id,
        "provider_name": message.provider_name,
        "model": message.model,
        "params": None if message.params is None else message.params.to_json(),
        "usage": None if message.usage is None else asdict(message.usage),
        "finish_reason": message.finish_reason,
        "status": message.status,
        "error": None if message.error is None else redact(message.error),
        "ttft_ms": message.ttft_ms,
        "tokens_per_s": message.tokens_per_s,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
    }


def parents_first[T](
    items: Sequence[T], key: Callable[[T], Hashable], parent_key: Callable[[T], Hashable | None]
) -> list[T]:
    """`items` reordered so that each parent precedes its children, otherwise keeping the input
    order (an input already in that order comes back unchanged). Linear time.

    Items whose parent is not among `items` count as roots. Items on a parent loop are left
    out: the caller compares lengths to detect that.
    """
    keys = {key(item) for item in items}
    placed: set[Hashable] = set()
    waiting: dict[Hashable, list[T]] = {}
    out: list[T] = []
    for item in items:
        parent = parent_key(item)
        if parent is not None and parent in keys and parent not in placed:
            waiting.setdefault(parent, []).append(item)
            continue
        stack = [item]
        while stack:
            current = stack.pop()
            out.append(current)
            placed.add(key(current))
            stack.extend(reversed(waiting.pop(key(current), [])))
    return out


def _messages_parents_first(messages: Sequence[Message]) -> list[Message]:
    ordered = parents_first(sorted(messages, key=lambda m: m.id), lambda m: m.id,
                            lambda m: m.parent_id)
    if len(ordered) < len(messages):  # a loop (impossible through the repository): keep all
        placed = {m.id for m in ordered}
        ordered += [m for m in sorted(messages, key=lambda m: m.id) if m.id not in placed]
    return ordered


def _thread_entry(thread: Thread, messages: Sequence[Message]) -> dict[str, Any]:
    return {
        "thread": thread_record_to_json(thread),
        "messages": [message_to_json(m) for m in _messages_parents_first(messages)],
    }


def thread_to_json(thread: Thread, messages: Sequence[Message]) -> dict[str, Any]:
    """A lossless document of one thread: its fields and the whole message tree (parents
    before children)."""
    return {"format": THREAD_FORMAT, "version": FORMAT_VERSION, **_thread_entry(thread, messages)}


def archive_to_json(
    threads_with_messages: Iterable[tuple[Thread, Sequence[Message]]],
) -> dict[str, Any]:
    """A lossless document of many threads: `{format, version, threads: [{thread, messages}]}`."""
    return {
        "format": ARCHIVE_FORMAT,
        "version": FORMAT_VERSION,
        "threads": [_thread_entry(t, ms) for t, ms in threads_with_messages],
    }


# --- files ------------------------------------------------------------------------------------


def _write_failure_sentence(dest: Path, exc: OSError) -> str:
    folder = dest.parent
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return (
            f"The disk is full, so the export could not be written to {dest}. Free some space "
            "and try again; any file already there was left as it was."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Switchboard may not write to {folder}. Pick another folder; any file already "
            "there was left as it was."
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"The folder {folder} does not exist. Pick another place for the export."
    if exc.errno == errno.EISDIR:
        return f"{dest} is a folder. Pick a file name for the export."
    return (
        f"The export could not be written to {dest}. Check the folder and free disk space; any "
        "file already there was left as it was."
    )


def write_text_atomic(dest: Path, text: str) -> None:
    """Write `text` (UTF-8) to `dest` through a temporary file in the same folder and
    `os.replace`: readers see the old file or the whole new one. Blocking; raises StorageError.
    """
    dest = Path(dest)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        tmp = None
    except OSError as exc:
        raise StorageError(_write_failure_sentence(dest, exc), detail=exc.strerror) from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _repository(repo_or_db: ThreadRepository | Database) -> ThreadRepository:
    return repo_or_db if isinstance(repo_or_db, ThreadRepository) else ThreadRepository(repo_or_db)


def format_for_path(dest: Path) -> ExportFormat:
    """The export format a file name asks for: .md/.markdown, .html/.htm, else JSON."""
    suffix = Path(dest).suffix.lower()
    if suffix in (".md", ".markdown"):
        return "markdown"
    if suffix in (".html", ".htm"):
        return "html"
    return "json"


def _dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


async def export_thread(
    repo_or_db: ThreadRepository | Database,
    thread_id: int,
    dest: Path,
    *,
    fmt: ExportFormat | None = None,
) -> Path:
    """Write one thread to `dest`: JSON (the whole tree), or Markdown/HTML (the branch being
    viewed). `fmt` defaults to what the file name says. Raises KeyError for an unknown thread
    and StorageError when the file cannot be written (an existing file is left untouched)."""
    repo = _repository(repo_or_db)
    thread = await repo.get_thread(thread_id)
    if thread is None:
        raise KeyError(f"no thread {thread_id}")
    fmt = fmt or format_for_path(dest)
    if fmt == "json":
        messages = await repo.thread_messages(thread_id)
        path: list[Message] = []
    else:
        messages = []
        path = await repo.current_path(thread_id)

    def work() -> None:
        if fmt == "json":
            text = _dump_json(thread_to_json(thread, messages))
        elif fmt == "markdown":
            text = thread_to_markdown(thread, path)
        else:
            text = thread_to_html(thread, path)
        write_text_atomic(Path(dest), text)

    await asyncio.to_thread(work)
    return Path(dest)


async def export_archive(repo_or_db: ThreadRepository | Database, dest: Path) -> int:
    """Write every live thread (archived ones included, deleted ones not) with its whole tree to
    `dest` as a `switchboard-archive` JSON file. Returns the number of threads written."""
    repo = _repository(repo_or_db)
    threads = sorted(await repo.list_threads(include_archived=True), key=lambda t: t.id)
    items: list[tuple[Thread, list[Message]]] = []
    for thread in threads:
        items.append((thread, await repo.thread_messages(thread.id)))

    def work() -> None:
        write_text_atomic(Path(dest), _dump_json(archive_to_json(items)))

    await asyncio.to_thread(work)
    return len(items)
