"""Joining a profile's base URL with an endpoint path, for every flavour of base the seeds show.

Providers document their base URL in many shapes: `https://api.example.com/v1`,
`https://host/api/v1`, `https://host/v1/`, `https://host/openai/v1`, or a bare host. Endpoint
paths come as `"chat/completions"` or `"/models"`, and Gemini's carry a colon verb
(`models/x:streamGenerateContent`). One seed (Melancholy AI) documents `/chat/completions/` with a
trailing slash, so the profile can ask for one.

Pure string functions: no I/O, no httpx.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.core.errors import ConfigError

__all__ = ["endpoint_url", "gemini_base"]

# A version segment at the end of a Gemini base: v1, v1beta, v1alpha, v1beta2, ...
_VERSION_TAIL = re.compile(r"/v\d+(?:(?:alpha|beta)\d*)?$", re.IGNORECASE)


def _split_base(base_url: str) -> tuple[str, str, str, str]:
    """(scheme, netloc, path without trailing slashes, query) of a base URL; ConfigError if unusable."""
    text = (base_url or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"The base URL {text!r} is not a web address. Enter it with http:// or https://, "
            "for example https://api.example.com/v1."
        )
    # Fragments mean nothing to an API; dropping them avoids sending `#...` into paths.
    return parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), parts.query


def endpoint_url(
    base_url: str,
    path: str,
    *,
    trailing_slash: bool = False,
    query: Mapping[str, str] | None = None,
) -> str:
    """Join `base_url` and an endpoint `path` with exactly one slash between them.

    `trailing_slash=True` gives `.../chat/completions/` (seed 004) but never for a Gemini colon
    path such as `models/x:generateContent`, and it goes before the `?` of a query string.
    Query parameters already in the base (e.g. `?api-version=...`), in `path` and in `query` are
    all kept, in that order; a later one with the same name replaces an earlier one.
    """
    scheme, netloc, base_path, base_query = _split_base(base_url)
    path = (path or "").strip()
    path_query = ""
    if "?" in path:
        path, path_query = path.split("?", 1)
    path = path.strip("/")

    joined = f"{base_path}/{path}" if path else base_path
    # A colon in the last segment is Gemini's `:verb`; those endpoints never take a slash.
    last_segment = joined.rsplit("/", 1)[-1]
    if trailing_slash and joined and ":" not in last_segment:
        joined += "/"
    if not joined:
        joined = "/"

    params: dict[str, str] = {}
    for source in (base_query, path_query):
        for key, value in parse_qsl(source, keep_blank_values=True):
            params[key] = value
    for key, value in (query or {}).items():
        params[str(key)] = str(value)
    return urlunsplit((scheme, netloc, joined, urlencode(params), ""))


def gemini_base(base_url: str) -> str:
    """A Gemini profile's base URL, ending in the API version (`/v1beta` unless one is given).

    Accepts `https://generativelanguage.googleapis.com`, a proxy such as `https://host/api`
    (seed 001: `/api/v1beta/models/...`), or a base already ending in `/v1beta` or `/v1alpha`.
    A base ending in `/v1` becomes `/v1beta`: users copy the OpenAI base of the same service
    (seed 001: `/api/v1` for OpenAI, `/api/v1beta` for Gemini), and thinking and several
    generation features exist only in v1beta. A trailing `/openai` (Gemini's OpenAI-compatible
    endpoint pasted into a Gemini profile) is dropped.
    """
    scheme, netloc, path, query = _split_base(base_url)
    if path.lower().endswith("/openai"):
        path = path[: -len("/openai")]
    if path.lower().endswith("/v1"):
        path = path[: -len("/v1")] + "/v1beta"
    elif not _VERSION_TAIL.search(path):
        path = path + "/v1beta"
    return urlunsplit((scheme, netloc, path, query, ""))
