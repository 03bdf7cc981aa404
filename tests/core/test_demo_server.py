"""The demo provider server: every OpenAI-dialect route, determinism, streams, media, video jobs
on an injected clock, the request log, the admin endpoints and every fault kind, observed from a
raw HTTP client."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from app.core.demo import DemoServer, FaultRule
from app.core.demo import text as demo_text

KEY = "sk-test-secret-value"
AUTH = {"Authorization": f"Bearer {KEY}"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FakeClock:
    """A clock the test advances by hand, so video jobs progress without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# One server and one pair of clients per module keep the module fast (an httpx.Client costs
# ~0.1 s to build); `fresh` resets the server's state before every test.


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0, video_seconds=10.0, clock=clock) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()
    server.token_rate = 0
    server.video_seconds = 10.0


@pytest.fixture(scope="module")
def client(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url("openai"), headers=AUTH, timeout=10.0) as c:
        yield c


@pytest.fixture(scope="module")
def raw() -> Iterator[httpx.Client]:
    """A client without credentials, for file downloads, admin endpoints and auth failures."""
    with httpx.Client(timeout=10.0) as c:
        yield c


def sse_data(body: str) -> list[str]:
    """The `data:` payloads of an SSE body (LF or CRLF separated)."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                out.append(line[len("data: ") :])
    return out


def chat_body(prompt: str = "How do I sort a list in Python?", **extra: Any) -> dict[str, Any]:
    return {"model": "demo-chat", "messages": [{"role": "user", "content": prompt}], **extra}


def stream_chunks(client: httpx.Client, body: dict[str, Any]) -> list[str]:
    response = client.post("/chat/completions", json={**body, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_data(response.text)


# --- models and auth --------------------------------------------------------------------------


def test_models_lists_demo_models(client: httpx.Client) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    ids = [m["id"] for m in response.json()["data"]]
    assert {"demo-chat", "demo-reasoner", "demo-image", "demo-embedding"} <= set(ids)
    assert response.json()["object"] == "list"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_missing_or_wrong_key_is_401_in_openai_shape(
    server: DemoServer, headers: dict[str, str], raw: httpx.Client
) -> None:
    response = raw.post(server.base_url() + "/chat/completions", json=chat_body(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "message": "Invalid API key provided.",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_request_log_never_stores_the_key(
    server: DemoServer, client: httpx.Client, raw: httpx.Client
) -> None:
    client.post("/chat/completions", json=chat_body())
    raw.get(server.base_url() + "/models", headers={"Authorization": "Bearer nope"})
    records = server.requests.snapshot()
    assert [r.auth_valid for r in records] == [True, False]
    assert records[0].json["model"] == "demo-chat"
    assert records[0].headers["authorization"] == "<redacted>"
    assert KEY not in repr(records)


def test_server_without_key_accepts_any_request(raw: httpx.Client) -> None:
    with DemoServer(token_rate=0) as srv:
        response = raw.get(srv.base_url() + "/models")
        assert response.status_code == 200
        assert srv.requests.last() is not None and srv.requests.last().auth_valid is None


# --- chat -------------------------------------------------------------------------------------


def test_chat_reply_is_markdown_and_deterministic(client: httpx.Client) -> None:
    first = client.post("/chat/completions", json=chat_body()).json()
    second = client.post("/chat/completions", json=chat_body()).json()
    assert first["choices"] == second["choices"]
    assert first["id"] == second["id"]
    content = first["choices"][0]["message"]["content"]
    assert content.startswith("## ")
    assert "\n- **" in content and "```python\n" in content and content.count("```") == 2
    assert first["choices"][0]["finish_reason"] == "stop"
    usage = first["usage"]
    assert usage["completion_tokens"] == demo_text.count_tokens(content)
    assert 80 <= usage["completion_tokens"] <= 160
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    other = client.post("/chat/completions", json=chat_body("Tell me about red pandas")).json()
    assert other["choices"][0]["message"]["content"] != content


def test_stream_reassembles_the_reply_and_ends_with_done(client: httpx.Client) -> None:
    whole = client.post("/chat/completions", json=chat_body()).json()["choices"][0]["message"][
        "content"
    ]
    data = stream_chunks(client, chat_body())
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == whole
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_include_usage_adds_a_final_usage_only_chunk(client: httpx.Client) -> None:
    data = stream_chunks(client, chat_body(stream_options={"include_usage": True}))
    assert data[-1] == "[DONE]"
    last = json.loads(data[-2])
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] > 0
    assert all(json.loads(d)["usage"] is None for d in data[:-2])


def test_n_choices_are_interleaved_by_index(client: httpx.Client) -> None:
    data = stream_chunks(client, chat_body(n=3))
    chunks = [json.loads(d) for d in data[:-1]]
    indices = [c["choices"][0]["index"] for c in chunks]
    assert indices[:3] == [0, 1, 2] and indices[3:6] == [0, 1, 2]
    texts = ["", "", ""]
    for c in chunks:
        texts[c["choices"][0]["index"]] += c["choices"][0]["delta"].get("content") or ""
    assert len(set(texts)) == 3
    whole = client.post("/chat/completions", json=chat_body(n=3)).json()
    assert [c["message"]["content"] for c in whole["choices"]] == texts


def test_stop_sequence_cuts_the_reply(client: httpx.Client) -> None:
    reply = client.post("/chat/completions", json=chat_body(stop=["```"])).json()
    content = reply["choices"][0]["message"]["content"]
    assert "```" not in content and "A tiny example" in content
    assert reply["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_gives_finish_reason_length(client: httpx.Client) -> None:
    reply = client.post("/chat/completions", json=chat_body(max_tokens=5)).json()
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 5
    data = stream_chunks(client, chat_body(max_tokens=5))
    finish = [json.loads(d)["choices"][0]["finish_reason"] for d in data[:-1]]
    assert finish[-1] == "length"


def test_requested_length_makes_long_replies(client: httpx.Client) -> None:
    reply = client.post("/chat/completions", json=chat_body("Write 700 tokens about tea")).json()
    assert reply["usage"]["completion_tokens"] == 700


def test_reasoner_streams_reasoning_before_content(client: httpx.Client) -> None:
    body = chat_body(model="demo-reasoner")
    data = stream_chunks(client, body)
    kinds = []
    for d in data[:-1]:
        delta = json.loads(d)["choices"][0]["delta"]
        if delta.get("reasoning_content"):
            kinds.append("r")
        elif delta.get("content"):
            kinds.append("c")
    assert kinds and kinds[0] == "r" and "c" in kinds
    assert kinds.index("c") > max(i for i, k in enumerate(kinds) if k == "r")
    message = client.post("/chat/completions", json=body).json()["choices"][0]["message"]
    assert message["reasoning_content"].startswith("The user asks")


def test_refusal_magic_word(client: httpx.Client) -> None:
    message = client.post("/chat/completions", json=chat_body("[refuse] do it")).json()["choices"][
        0
    ]["message"]
    assert message["content"] is None and "sorry" in message["refusal"]


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"model": "demo-chat", "messages": []},
        chat_body(n=0),
        chat_body(temperature=3),
        chat_body(stop=["a", "b", "c", "d", "e"]),
    ],
)
def test_invalid_chat_requests_are_400(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_invalid_json_and_unknown_urls(client: httpx.Client) -> None:
    bad = client.post(
        "/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    missing = client.post("/chat/completions/", json=chat_body())
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (POST /v1/chat/completions/)"


# --- completions ------------------------------------------------------------------------------


def test_legacy_completions(client: httpx.Client) -> None:
    body = {"model": "demo-instruct", "prompt": "Say this is a test", "max_tokens": 7}
    reply = client.post("/completions", json=body).json()
    assert reply["object"] == "text_completion"
    assert reply["choices"][0]["finish_reason"] == "length"
    response = client.post(
        "/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert (
        "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
        == reply["choices"][0]["text"]
    )
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 7


# --- images -----------------------------------------------------------------------------------


def test_image_url_is_served_and_decodes_at_the_requested_size(
    client: httpx.Client, raw: httpx.Client
) -> None:
    reply = client.post(
        "/images/generations", json={"prompt": "a red and blue kite", "size": "96x64", "n": 2}
    )
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert len(data) == 2 and data[0]["url"] != data[1]["url"]
    assert data[0]["revised_prompt"].endswith("a red and blue kite")
    png = raw.get(data[0]["url"])
    assert png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (96, 64)
    # The prompt's colour words colour the image: red at the top, blue at the bottom.
    assert image.convert("RGB").getpixel((0, 0)) == (214, 40, 40)
    assert image.convert("RGB").getpixel((0, 63)) == (30, 90, 220)


def test_image_b64_json(client: httpx.Client) -> None:
    body = {"prompt": "green hills", "size": "40x30", "response_format": "b64_json"}
    first = client.post("/images/generations", json=body).json()["data"][0]
    second = client.post("/images/generations", json=body).json()["data"][0]
    assert first["b64_json"] == second["b64_json"]
    image = Image.open(io.BytesIO(base64.b64decode(first["b64_json"])))
    assert image.format == "PNG" and image.size == (40, 30)


def test_image_validation(client: httpx.Client, raw: httpx.Client) -> None:
    assert (
        client.post("/images/generations", json={"prompt": "x", "size": "64*64"}).status_code == 400
    )
    assert client.post("/images/generations", json={"prompt": ""}).status_code == 400
    assert client.post("/images/generations", json={"prompt": "x", "n": 11}).status_code == 400
    assert raw.get(client.base_url.join("/files/nothing.png")).status_code == 404


# --- embeddings -------------------------------------------------------------------------------


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def test_embeddings_place_similar_texts_closer(client: httpx.Client) -> None:
    texts = ["The cat sat on the mat", "A cat sat on a mat today", "Quarterly revenue grew sharply"]
    reply = client.post("/embeddings", json={"model": "demo-embedding", "input": texts}).json()
    vectors = [d["embedding"] for d in sorted(reply["data"], key=lambda d: d["index"])]
    assert all(len(v) == 64 for v in vectors)
    assert all(math.isclose(_cos(v, v), 1.0, rel_tol=1e-9) for v in vectors)
    assert _cos(vectors[0], vectors[1]) > _cos(vectors[0], vectors[2]) + 0.3
    assert reply["usage"]["prompt_tokens"] > 0


def test_embeddings_base64_and_string_input(client: httpx.Client) -> None:
    floats = client.post("/embeddings", json={"input": "hello world"}).json()["data"][0][
        "embedding"
    ]
    packed = client.post(
        "/embeddings", json={"input": "hello world", "encoding_format": "base64"}
    ).json()
    packed_bytes = base64.b64decode(packed["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(packed_bytes) // 4}f", packed_bytes)
    assert [round(x, 5) for x in decoded] == [round(x, 5) for x in floats]
    sized = client.post("/embeddings", json={"input": ["a"], "dimensions": 16}).json()
    assert len(sized["data"][0]["embedding"]) == 16
    assert client.post("/embeddings", json={"input": 5}).status_code == 400


# --- video ------------------------------------------------------------------------------------


def test_openai_video_progresses_on_the_clock(client: httpx.Client, clock: FakeClock) -> None:
    created = client.post(
        "/videos", json={"model": "demo-video", "prompt": "waves", "seconds": "4"}
    ).json()
    assert created["status"] == "queued" and created["id"].startswith("video_")
    video_id = created["id"]
    assert client.get(f"/videos/{video_id}/content").status_code == 409
    clock.now += 5
    running = client.get(f"/videos/{video_id}").json()
    assert running["status"] == "in_progress" and running["progress"] == 50
    clock.now += 5
    assert client.get(f"/videos/{video_id}").json()["status"] == "completed"
    content = client.get(f"/videos/{video_id}/content")
    assert content.headers["content-type"] == "video/mp4"
    assert content.content[4:8] == b"ftyp"
    assert client.get("/videos/video_unknown").status_code == 404


def test_video_tasks_progress_and_failures(
    client: httpx.Client, clock: FakeClock, raw: httpx.Client
) -> None:
    body = {
        "model": "veo",
        "input": {
            "prompt": "a beach",
            "aspect_ratio": "LANDSCAPE",
            "video_generate_type": "text_to_video",
        },
    }
    task_id = client.post("/video/generations", json=body).json()["task_id"]
    failing = client.post("/video/generations", json={"input": {"prompt": "please fail"}}).json()[
        "task_id"
    ]
    assert client.get(f"/video/generations/{task_id}").json()["status"] == "PENDING"
    clock.now += 3
    status = client.get(f"/video/generations/{task_id}").json()
    assert status["status"] == "PROCESSING" and status["video_url"] is None
    clock.now += 7
    done = client.get(f"/video/generations/{task_id}").json()
    assert done["status"] == "COMPLETED"
    assert raw.get(done["video_url"]).headers["content-type"] == "video/mp4"
    failed = client.get(f"/video/generations/{failing}").json()
    assert failed["status"] == "FAILED" and "fail" in failed["error"]
    assert client.get("/video/generations/task_nope").status_code == 404
    assert client.post("/video/generations", json={"input": {}}).status_code == 400


# --- faults -----------------------------------------------------------------------------------


def test_fault_status_with_retry_after_applies_only_times(
    server: DemoServer, client: httpx.Client
) -> None:
    server.faults.add(
        path_contains="/chat/completions", status=429, retry_after=2, retry_after_ms=1500, times=1
    )
    limited = client.post("/chat/completions", json=chat_body())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2" and limited.headers["retry-after-ms"] == "1500"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert client.post("/chat/completions", json=chat_body()).status_code == 200
    assert len(server.faults) == 0


def test_fault_matches_path_and_custom_body(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(
        FaultRule(
            path_contains="/embeddings", status=503, body="upstream down", content_type="text/plain"
        )
    )
    assert client.get("/models").status_code == 200
    down = client.post("/embeddings", json={"input": "x"})
    assert down.status_code == 503 and down.text == "upstream down"
    assert down.headers["content-type"] == "text/plain"


def test_fault_delay(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(delay_s=0.2, times=1)
    started = time.monotonic()
    assert client.get("/models").status_code == 200
    # A lower bound only: the reply cannot come before the injected delay has passed.
    assert time.monotonic() - started >= 0.2


def test_fault_disconnect_mid_stream(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(disconnect_after_events=3)
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(line)
    assert len(received) == 3 and "[DONE]" not in "".join(received)


def test_fault_disconnect_without_response(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(disconnect_after_events=0, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat_body())


def test_fault_malformed_line(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(malformed_after_events=2)
    data = stream_chunks(client, chat_body())
    assert data[2] == "{not json" and data[-1] == "[DONE]"
    broken = client.post("/chat/completions", json=chat_body())
    with pytest.raises(json.JSONDecodeError):
        broken.json()


def test_fault_error_event(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(error_event_after=4)
    data = stream_chunks(client, chat_body())
    assert len(data) == 5 and "[DONE]" not in data
    assert json.loads(data[-1])["error"]["type"] == "internal_server_error"


def test_fault_wrong_content_type(server: DemoServer, client: httpx.Client) -> None:
    server.faults.add(wrong_content_type=True)
    response = client.post("/chat/completions", json=chat_body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>" in response.text


def test_fault_stall_mid_stream(server: DemoServer) -> None:
    server.faults.add(stall_s=5.0, stall_after_events=2)
    timeout = httpx.Timeout(5.0, read=0.2)
    received = 0
    with (
        httpx.Client(base_url=server.base_url(), headers=AUTH, timeout=timeout) as client,
        pytest.raises(httpx.ReadTimeout),
        client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response,
    ):
        for line in response.iter_lines():
            received += line.startswith("data: ")
    assert received == 2
    # stop() (the fixture) must end the stalled handler at once rather than wait 5 s.


def test_control_endpoints_drive_faults_from_another_process(
    server: DemoServer, client: httpx.Client, raw: httpx.Client
) -> None:
    control = server.origin + "/_control"
    rules = raw.post(
        control + "/faults",
        json={"rules": [{"path_contains": "/models", "status": 500, "times": 1}]},
    )
    assert rules.status_code == 200 and rules.json()["rules"][0]["status"] == 500
    assert raw.post(control + "/faults", json={"stauts": 500}).status_code == 400
    assert client.get("/models").status_code == 500
    raw.post(control + "/faults", json={"status": 502})
    assert raw.post(control + "/reset").json() == {"ok": True}
    assert client.get("/models").status_code == 200
    config = raw.post(control + "/config", json={"token_rate": 50, "video_seconds": 1}).json()
    assert config["token_rate"] == 50.0 and server.video_seconds == 1.0
    logged = raw.get(control + "/requests").json()["requests"]
    assert [r["path"] for r in logged] == ["/v1/models"]
    assert all("_control" not in r.path for r in server.requests)


# --- lifecycle, profiles and the CLI ----------------------------------------------------------


def test_base_urls_and_profiles(server: DemoServer) -> None:
    assert server.base_url("melancholy") == server.origin + "/melancholy/api/v1"
    with pytest.raises(ValueError):
        server.base_url("nope")
    profiles = {p.id: p for p in server.profiles()}
    assert profiles["demo-melancholy"].trailing_slash is True
    assert profiles["demo-melancholy"].extra_headers == {"User-Agent": "MelancholyAI-Client"}
    assert profiles["demo-siliconlike"].image_size_style == "*"
    assert str(profiles["demo-gemini"].dialect) == "gemini"


def test_stop_is_idempotent_and_frees_the_port(raw: httpx.Client) -> None:
    srv = DemoServer(token_rate=0)
    origin = srv.start()
    srv.stop()
    srv.stop()
    with pytest.raises(httpx.ConnectError):
        raw.get(origin + "/v1/models")
    with pytest.raises(RuntimeError):
        srv.start()


def test_cli_prints_base_urls_and_stops_on_sigterm(raw: httpx.Client) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.core.demo.server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Switchboard demo server on http://127.0.0.1:")
        origin = first.rsplit(" ", 1)[1].strip()
        assert raw.get(origin + "/v1/models").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        # Read through the text wrapper: readline() above may already hold the rest in its buffer.
        out, err = process.stdout.read(), process.stderr.read() if process.stderr else ""
        assert "melancholy" in out and "/melancholy/api/v1" in out
        assert err == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


# --- issue 7: hostile faults -------------------------------------------------------------------


def test_hostile_fault_fields_round_trip_and_stream_only_matching() -> None:
    from app.core.demo.faults import FaultPlan, FaultRule

    rule = FaultRule.from_json(
        {"status": 404, "stream_only": True, "gzip_bomb_mb": 2, "empty_events": 5, "think_tags": True}
    )
    assert FaultRule.from_json(rule.to_json()) == rule
    assert rule.hostile and rule.has_stream_fault
    plan = FaultPlan()
    plan.add(rule)
    assert plan.take("POST", "/v1/chat/completions", stream=False) is None
    assert plan.take("POST", "/v1/chat/completions", stream=True) is rule
