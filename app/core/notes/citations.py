"""The `switchboard-note://` link scheme: how a chat answer cites a note hit, and how it is read.

An "Ask about these" thread numbers the hits it gives the model ([1], [2], …) and asks it to cite
them as Markdown links to `switchboard-note://<hit id>`. Models do not always write the link, so
`linkify_citations` also turns bare `[n]` markers of a known hit into that link: the chat view can
run it on a reply before rendering. A click on such a link goes to the Notes tab's
`open_note_link(url)`, which parses it with `parse_note_link`. Pure (no Qt), in the core so the
chat view and the Notes tab (which imports the chat's renderer) can both use it without an
import cycle.

The thread keeps its hits in its system prompt (`ask_controller.context_prompt` writes one line
`[n] <title> — <where> — link: switchboard-note://<hit id>` per hit): `numbering_from_prompt`
reads the numbering back, so a reopened thread (after a restart too) still links its `[n]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

__all__ = [
    "NOTE_SCHEME",
    "is_note_link",
    "linkify_citations",
    "note_link",
    "numbering_from_prompt",
    "parse_note_link",
]

NOTE_SCHEME = "switchboard-note"
_DOTTED_QUAD = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_PREFIX = f"{NOTE_SCHEME}://"
# A bare "[3]" not already the text of a link ("[3](...)") nor a reference ("[3]: ...").
_BARE = re.compile(r"(?<!\[)\[(\d{1,3})\](?![(:\[\]])")
# One hit of an "Ask about these" system prompt: "[n] ... link: switchboard-note://<id>".
_PROMPT_HIT = re.compile(r"^\[(\d{1,3})\] .* link: (switchboard-note://\S+)\s*$", re.MULTILINE)


def note_link(hit_id: str) -> str:
    """`switchboard-note://<hit id>` (the id percent-encoded, so any id survives a URL parser)."""
    return _PREFIX + quote(str(hit_id), safe="")


def is_note_link(url: str) -> bool:
    return url.strip().lower().startswith(_PREFIX)


def parse_note_link(url: str) -> str | None:
    """The hit id of a `switchboard-note://` link, or None for any other URL or an empty id."""
    url = url.strip()
    if not is_note_link(url):
        return None
    rest = url[len(_PREFIX) :].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    hit_id = unquote(rest)
    if _DOTTED_QUAD.fullmatch(hit_id):
        # QUrl reads the numeric "host" of `switchboard-note://7` as an IPv4 address and hands
        # the link on as `//0.0.0.7` (a click in the chat view goes through QUrl): undo that.
        import ipaddress

        hit_id = str(int(ipaddress.IPv4Address(hit_id)))
    return hit_id or None


def linkify_citations(text: str, numbered: Mapping[int, str]) -> str:
    """Replace bare `[n]` markers whose n is in `numbered` (n -> hit id) by `[[n]](link)`.

    Fenced code is left alone (a `[1]` inside code is an index, not a citation).
    """
    out: list[str] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue

        def link(match: re.Match[str]) -> str:
            n = int(match.group(1))
            hit_id = numbered.get(n)
            if hit_id is None:
                return match.group(0)
            return f"[[{n}]]({note_link(hit_id)})"

        out.append(_BARE.sub(link, line))
    return "".join(out)


def numbering_from_prompt(system_prompt: str) -> dict[int, str]:
    """{n: hit id} of the hits an "Ask about these" system prompt numbers ({} for any other)."""
    if _PREFIX not in system_prompt:
        return {}
    numbering: dict[int, str] = {}
    for match in _PROMPT_HIT.finditer(system_prompt):
        hit_id = parse_note_link(match.group(2))
        if hit_id is not None:
            numbering.setdefault(int(match.group(1)), hit_id)
    return numbering
