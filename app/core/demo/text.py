"""Deterministic text for the demo server: replies, reasoning, completions, tokens and embeddings.

Everything here is a pure function of its inputs, so the same request always produces the same
reply (tests compare replies byte for byte, and users get a stable demo). A "token" is a word with
the whitespace before it: `"".join(tokenize(text)) == text` always holds, so a stream of tokens
reassembles into exactly the non-streamed reply.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct

_TOKEN_RE = re.compile(r"\s*\S+|\s+")
_WORD_RE = re.compile(r"[A-Za-z0-9']+")
# "write 500 tokens", "give me 2000 words": lets users and benchmarks ask for long replies.
_LENGTH_RE = re.compile(r"\b(\d{1,6})\s+(?:tokens|words)\b", re.IGNORECASE)

DEFAULT_EMBEDDING_DIM = 64
MAX_REQUESTED_TOKENS = 50_000

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "please",
        "should",
        "so",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "into",
        "just",
        "some",
    ]
)

_INTROS = (
    "Here is a short, friendly answer from the Switchboard demo server.",
    "Happy to help! This reply comes from the built-in demo provider.",
    "Good question. The demo server put together the following overview.",
    "Sure thing. Below is a compact answer generated locally, offline.",
)

_POINT_PHRASES = (
    "worth looking at first, because everything else builds on it",
    "usually the part people underestimate",
    "easy to test with a tiny example before going further",
    "best kept simple until you have a working baseline",
    "a good place to write down what you expect to happen",
    "something to measure rather than guess",
)

_CLOSINGS = (
    "Let me know if you want a deeper dive into any of these points.",
    "Feel free to ask a follow-up question; the demo will answer it the same way every time.",
    "That is the gist of it. Try another question to see a different layout.",
)

_FILLER = (
    "The demo server writes this paragraph so that long replies can be tested end to end.",
    "Every sentence is chosen from a fixed list, so the same request gives the same text.",
    "Streaming pace follows the server's token rate, which tests can raise or lower at will.",
    "Markdown, lists and code blocks all appear so that the renderer has real work to do.",
    "Nothing here is fetched from the network; it is computed from your message alone.",
    "A real model would say something smarter, but it would not be nearly as predictable.",
    "Scrolling, copying and exporting long answers all deserve a realistic workload.",
)

_COMPLETION_SENTENCES = (
    " and so the demo continues your text in a calm and predictable way.",
    " The next sentence is chosen from a short list by hashing the prompt.",
    " Completion models simply carry on writing where the prompt stops.",
    " This legacy endpoint is still offered by many OpenAI-compatible servers.",
    " Nothing in this text depends on the time of day or on chance.",
)


def stable_hash(text: str) -> int:
    """A hash that is the same in every process (Python's `hash()` is salted per run)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def tokenize(text: str) -> list[str]:
    """Split into demo tokens (a word plus the whitespace before it); joins back to `text`."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))


def keywords(text: str, limit: int = 3) -> list[str]:
    """Distinct, non-trivial words of `text` in order of appearance."""
    seen: list[str] = []
    for word in _WORD_RE.findall(text.lower()):
        if len(word) > 2 and word not in _STOPWORDS and word not in seen:
            seen.append(word)
        if len(seen) >= limit:
            break
    return seen


def requested_length(prompt: str) -> int | None:
    """The length a prompt asks for ("write 500 tokens"), capped; None when it asks for none."""
    match = _LENGTH_RE.search(prompt)
    if not match:
        return None
    return max(1, min(int(match.group(1)), MAX_REQUESTED_TOKENS))


def _topic(prompt: str) -> str:
    words = _WORD_RE.findall(prompt)[:6]
    if not words:
        return "Your message"
    topic = " ".join(words)
    return topic[0].upper() + topic[1:]


def _python_literal(text: str) -> str:
    """A snippet of the prompt that is safe inside a double-quoted Python string."""
    snippet = " ".join(text.split())[:48]
    return snippet.replace("\\", "\\\\").replace('"', "'")


def compose_reply(prompt: str, *, variant: int = 0, images: int = 0) -> str:
    """A markdown answer to `prompt`: a heading, a list and a fenced Python block (~120 tokens).

    `variant` picks another wording (choices of an n>1 request differ); when the prompt asks for a
    length ("write 800 tokens") filler paragraphs extend the reply to exactly that many tokens.
    """
    seed = stable_hash(prompt) + variant
    topic = _topic(prompt)
    intro = _INTROS[seed % len(_INTROS)]
    lines = [f"## {topic}", "", intro]
    if images:
        lines += [
            "",
            f"I can see {images} image{'s' if images != 1 else ''} attached to your message.",
        ]
    lines.append("")
    points = keywords(prompt) or ["your question", "a first step", "the next step"]
    for offset, word in enumerate(points):
        phrase = _POINT_PHRASES[(seed + offset) % len(_POINT_PHRASES)]
        lines.append(f"- **{word}**: {phrase}.")
    lines += [
        "",
        "A tiny example in Python:",
        "",
        "```python",
        "def summarize(text: str) -> str:",
        '    """Return the key words of a question."""',
        "    words = [w for w in text.split() if len(w) > 3]",
        '    return " ".join(words[:5])',
        "",
        "",
        f'print(summarize("{_python_literal(prompt)}"))',
        "```",
        "",
        _CLOSINGS[seed % len(_CLOSINGS)],
    ]
    text = "\n".join(lines)
    wanted = requested_length(prompt)
    if wanted is None:
        return text
    tokens = tokenize(text)
    index = seed
    while len(tokens) < wanted:
        tokens += tokenize("\n\n" + " ".join(_FILLER[(index + k) % len(_FILLER)] for k in range(3)))
        index += 1
    return "".join(tokens[:wanted])


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*$")


def continuation_of(full: str, partial: str, *, reopen_fence: bool = False) -> str | None:
    """What the demo sends to continue `partial`, a stopped copy of its reply `full`; None when
    `partial` is not the start of `full` (the demo then answers afresh).

    As llama.cpp does with a final assistant message (a prefix), the rest of `full`. With
    `reopen_fence` (asked by a "continue" user turn, as Gemini threads are) it answers as chat
    models often do: when `partial` stopped inside a code block, it opens the block again and
    repeats the unfinished line before going on.
    """
    if not full.startswith(partial):
        return None
    rest = full[len(partial) :]
    if not reopen_fence:
        return rest
    fence = None
    for line in partial.split("\n"):
        if _FENCE_LINE.match(line):
            fence = None if fence is not None and line.strip() == fence.strip()[:3] else (fence or line)
    if fence is None:
        return rest
    unfinished = "" if partial.endswith("\n") else partial[partial.rfind("\n") + 1 :]
    return f"{fence}\n{unfinished}{rest}"


def compose_reasoning(prompt: str) -> str:
    """The thinking a "reasoner" model shows before its answer."""
    topic = _topic(prompt)
    return (
        f'The user asks about "{topic}". I should answer with a heading, a short list of the key '
        "points and a small Python example. Keep it friendly and brief, and make sure the code "
        "block is closed."
    )


def compose_completion(prompt: str, *, variant: int = 0) -> str:
    """A plain-text continuation of `prompt` for the legacy completions endpoint (~60 tokens)."""
    seed = stable_hash(prompt) + variant
    wanted = requested_length(prompt) or 60
    tokens: list[str] = []
    index = seed
    while len(tokens) < wanted:
        tokens += tokenize(_COMPLETION_SENTENCES[index % len(_COMPLETION_SENTENCES)])
        index += 1
    return "".join(tokens[:wanted])


def apply_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest stop sequence; returns (text, whether a stop was hit)."""
    cut = len(text)
    for stop in stops:
        if stop:
            at = text.find(stop)
            if at != -1:
                cut = min(cut, at)
    return text[:cut], cut < len(text)


def embed(text: str, dim: int = DEFAULT_EMBEDDING_DIM) -> list[float]:
    """A unit vector from feature-hashing the words and character trigrams of `text`.

    Texts sharing words share hashed dimensions, so similar texts have a larger cosine than
    unrelated ones, which is all a retrieval demo needs.
    """
    dim = max(1, dim)
    vector = [0.0] * dim
    words = _WORD_RE.findall(text.lower())
    features: list[tuple[str, float]] = [(f"w:{w}", 1.0) for w in words]
    for word in words:
        padded = f"#{word}#"
        features += [(f"t:{padded[i : i + 3]}", 0.3) for i in range(len(padded) - 2)]
    for feature, weight in features:
        digest = hashlib.sha256(feature.encode("utf-8")).digest()
        for k in range(2):
            index = int.from_bytes(digest[4 * k : 4 * k + 3], "big") % dim
            sign = 1.0 if digest[4 * k + 3] & 1 else -1.0
            vector[index] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        # Empty text still gets a valid unit vector (a zero vector breaks cosine similarity).
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def floats_to_base64(values: list[float]) -> str:
    """OpenAI's `encoding_format: "base64"`: little-endian float32, base64-encoded."""
    import base64

    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")
