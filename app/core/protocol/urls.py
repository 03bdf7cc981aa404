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

__all__ = ["endpoint_url", "gemini_base", "redirect_sentence"]

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


def redirect_sentence(method: str, request_url: object, location: object, base_url: str) -> str:
    """What to tell the user when a request was redirected (redirects are not followed for API
    calls: a 301/302 turns a POST into a GET and drops its body).

    A redirect to the same path with or without a trailing slash means the profile's "Trailing
    slash" switch is the wrong way round. Another target is offered as a *base* URL (the
    endpoint's path stripped from it), never as the endpoint address itself.
    """
    req = urlsplit(str(request_url))
    loc = urlsplit(str(location))
    same_origin = (req.scheme, req.netloc) == (loc.scheme, loc.netloc)
    req_path, loc_path = req.path, loc.path
    if same_origin and req_path.rstrip("/") == loc_path.rstrip("/") and req_path != loc_path:
        want = "on" if loc_path.endswith("/") else "off"
        return (
            f"The server redirected this {method} to the same address "
            f"{'with' if want == 'on' else 'without'} a trailing slash. Switch the profile's "
            f"\u201cTrailing slash\u201d option {want} in Settings \u2192 Providers."
        )
    base_path = urlsplit((base_url or "").strip()).path.rstrip("/")
    endpoint = req_path[len(base_path) :] if req_path.startswith(base_path) else ""
    target_base = ""
    endpoint_tail = endpoint.rstrip("/")
    if endpoint_tail and loc_path.rstrip("/").endswith(endpoint_tail):
        kept = loc_path.rstrip("/")[: len(loc_path.rstrip("/")) - len(endpoint_tail)]
        target_base = urlunsplit((loc.scheme, loc.netloc, kept, "", ""))
    if target_base:
        return (
            f"The server redirected this request to another address. If the provider moved, use "
            f"{target_base} as the base URL in Settings \u2192 Providers."
        )
    return (
        f"The server redirected this request to {loc.scheme}://{loc.netloc}. Check the profile's "
        "base URL against the provider's documentation."
    )
