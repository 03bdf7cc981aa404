"""Gemini embedding bodies: taskType for documents vs queries, outputDimensionality."""

from __future__ import annotations

from app.core.protocol.gemini import build_batch_embed_body, build_embed_body


def test_task_type_and_dimensions() -> None:
    body = build_batch_embed_body("text-embedding-004", ["a", "b"], task="document", dimensions=256)
    assert [r["taskType"] for r in body["requests"]] == ["RETRIEVAL_DOCUMENT"] * 2
    assert {r["outputDimensionality"] for r in body["requests"]} == {256}
    assert body["requests"][0]["model"] == "models/text-embedding-004"
    query = build_embed_body("text-embedding-004", "q", task="query")
    assert query["taskType"] == "RETRIEVAL_QUERY" and "outputDimensionality" not in query
    assert "taskType" not in build_embed_body("m", "x")  # unchanged for other callers
