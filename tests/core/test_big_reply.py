"""A big reply body (a batch of embeddings): decoded in slices with the loop running between them,
to the same value and the same errors as `json.loads` / `decode_json_body`."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.core.errors import MalformedResponseError, ProviderError
from app.core.protocol.json_body import OFF_LOOP_BODY_BYTES, aloads_in_pieces, loads_in_pieces
from app.core.protocol.stream_reader import adecode_json_body, decode_json_body
from app.core.protocol.types import EmbeddingRequest
from tests.core.helpers import Recorder, make_client, with_loop_ticks


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 5 or roll < 0.35:
        return rng.choice([1, -2.5e-3, 1e300, True, False, None, 'a"\\\u00e9😀', "", 0, 2**70])
    if roll < 0.7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["a", "b", "é", "", " k"]): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _outcome(fn: Callable[[str], Any], text: str) -> str:
    try:
        return "ok " + repr(fn(text))
    except ValueError:
        return "ValueError"


def test_pieces_decode_like_json_loads_on_every_prefix_and_mutation() -> None:
    rng = random.Random(12)
    checked = 0
    for _ in range(300):
        text = json.dumps(
            _random_value(rng), ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1, "\t"])
        )
        if len(text) > 300:  # short documents: every prefix of a long one costs its square
            continue
        cases = [text, f" {text}\n", text + "x", text + " []"]
        for cut in range(len(text)):
            cases.append(text[:cut])
            cases.append(text[:cut] + rng.choice(',:]}[{" x0') + text[cut:])
            cases.append(text[:cut] + text[cut + 1 :])
        for case in cases:
            assert _outcome(loads_in_pieces, case) == _outcome(json.loads, case), case
            checked += 1
    for case in ["NaN", "[NaN, Infinity, -Infinity]", '{"a":1,"a":2}', "[1,]", '{"a":1,}',
                 "[[1],[2,]]", "[] []", "", "  ", '{"a" 1}', "{1:2}", '[{"a":1} {"b":2}]',
                 '{"a":{"b":{"c":{"d":[1,{"e":2}]}}}}', "[[[[1]]]]", '"\\ud800"']:
        assert _outcome(loads_in_pieces, case) == _outcome(json.loads, case), case
    assert checked > 5_000  # the prefixes and mutations really ran


def _embeddings_body(count: int, dim: int) -> dict[str, Any]:
    rng = random.Random(3)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": [rng.uniform(-1, 1) for _ in range(dim)]}
            for i in range(count)
        ],
        "model": "m",
        "usage": {"prompt_tokens": 10, "total_tokens": 10},
    }


def test_a_big_body_is_decoded_with_the_loop_running_between_slices(arun: Callable[..., Any]) -> None:
    text = json.dumps(_embeddings_body(64, 1536))
    value, ticks = arun(with_loop_ticks(aloads_in_pieces(text, budget=0.0)))  # a slice per value
    assert value == json.loads(text)
    assert ticks >= 64  # at least once per embedding


BAD_BODIES = [
    b'{"data": [{"embedding": [0.1, 0.2' + b", 0.3" * 30_000,  # cut off
    b'{"data": [' + b'{"embedding": [1]},' * 5_000 + b"]}",  # a trailing comma
    b"<html>" + b"<p>Sorry, this page is not available</p>" * 3_000 + b"</html>",
    b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}, '
    b'"pad": "' + b"x" * 100_000 + b'"}',
    b"\xef\xbb\xbf" + json.dumps(_embeddings_body(4, 3000)).encode() + b"]",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=["truncated", "trailing-comma", "html", "error-object", "extra"])
def test_a_big_malformed_body_raises_what_the_small_path_raises(
    body: bytes, arun: Callable[..., Any]
) -> None:
    assert len(body) >= OFF_LOOP_BODY_BYTES
    headers = {"content-type": "application/json"}
    with pytest.raises(ProviderError) as small:
        decode_json_body(200, headers, body)
    with pytest.raises(ProviderError) as big:
        arun(adecode_json_body(200, headers, body))
    assert type(big.value) is type(small.value)
    assert str(big.value) == str(small.value)
    assert big.value.provider_message == small.value.provider_message
    assert big.value.status == small.value.status


def test_client_embeds_from_a_big_body_and_keeps_its_errors(arun: Callable[..., Any]) -> None:
    body = _embeddings_body(64, 1536)
    raw = json.dumps(body).encode()
    assert len(raw) > OFF_LOOP_BODY_BYTES
    rec = Recorder(httpx.Response(200, content=raw, headers={"content-type": "application/json"}))
    client = make_client(rec)

    async def go() -> Any:
        async with client:
            return await client.embed(EmbeddingRequest(inputs=[f"t{i}" for i in range(64)], model="m"))

    result = arun(go())
    assert result.vectors == [d["embedding"] for d in body["data"]]

    cut = raw[: len(raw) // 2]
    rec = Recorder(httpx.Response(200, content=cut, headers={"content-type": "application/json"}))
    client = make_client(rec, max_retries=0)
    with pytest.raises(MalformedResponseError) as caught:
        arun(go())
    with pytest.raises(MalformedResponseError) as expected:
        decode_json_body(200, {"content-type": "application/json"}, cut)
    assert str(caught.value) == str(expected.value)


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ([0.5, 1, -2.0], True),  # ints are numbers too
        ([], True),
        ([0.5, True], False),  # a bool is not a number here
        ([0.5, "1"], False),
        ([0.5, None], False),
        ([0.5, [1.0]], False),
    ],
)
def test_vectors_are_checked_on_the_fast_path_as_before(values: list[Any], ok: bool) -> None:
    from app.core.protocol.gemini import parse_embed_response
    from app.core.protocol.openai import parse_embedding_response

    openai_body = {"data": [{"index": 0, "embedding": values}]}
    gemini_body = {"embeddings": [{"values": values}]}
    if ok:
        assert parse_embedding_response(openai_body).vectors == [[float(v) for v in values]]
        assert parse_embed_response(gemini_body).vectors == [[float(v) for v in values]]
        assert all(type(v) is float for v in parse_embedding_response(openai_body).vectors[0])
    else:
        with pytest.raises(MalformedResponseError):
            parse_embedding_response(openai_body)
        with pytest.raises(MalformedResponseError):
            parse_embed_response(gemini_body)
