"""Helpers shared by the tests of tests/core/notes (never a test module itself)."""

from __future__ import annotations

from app.core.demo.server import DemoServer


def embed_inputs(server: DemoServer) -> list[str]:
    texts: list[str] = []
    for r in server.requests.snapshot():
        if r.path.endswith("/embeddings") and isinstance(r.json, dict):
            texts += list(r.json["input"])
        elif "batchEmbedContents" in r.path and isinstance(r.json, dict):
            texts += [q["content"]["parts"][0]["text"] for q in r.json["requests"]]
    return texts
