"""Error bodies of every shape -> the right APIError subclass, sentence, provider words, retry."""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from app.core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentBlockedError,
    NotFoundError,
    RateLimitError,
    ServerError,
    forget_secret,
    register_secret,
)
from app.core.protocol.errors import (
    ErrorInfo,
    api_error_from_json,
    api_error_from_response,
    error_info_from_json,
)
from tests.conftest import RECORDED

GEMINI = RECORDED / "gemini-recorded"


def _body(obj: object) -> bytes:
    return json.dumps(obj).encode()


# --- recognising shapes -----------------------------------------------------------------------


def test_openai_error_object() -> None:
    info = error_info_from_json(
        {
            "error": {
                "message": "You exceeded your current quota.",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
                "param": None,
            }
        }
    )
    assert info == ErrorInfo(
        message="You exceeded your current quota.",
        code="insufficient_quota",
        type="insufficient_quota",
    )


def test_flat_vllm_error() -> None:
    info = error_info_from_json(
        {
            "object": "error",
            "message": "The model `foo` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        }
    )
    assert info is not None
    assert info.message == "The model `foo` does not exist."
    assert info.code == "404"
    err = api_error_from_json(200, {"object": "error", "message": "nope", "code": 404})
    assert isinstance(err, NotFoundError)


def test_ollama_string_error() -> None:
    info = error_info_from_json({"error": "model 'llama9' not found, try pulling it first"})
    assert info is not None and info.message == "model 'llama9' not found, try pulling it first"
    err = api_error_from_response(404, {}, _body({"error": "model 'llama9' not found"}))
    assert isinstance(err, NotFoundError)
    assert err.provider_message == "model 'llama9' not found"


def test_fastapi_detail_string_and_validation_list() -> None:
    assert error_info_from_json({"detail": "Not authenticated"}) == ErrorInfo("Not authenticated")
    info = error_info_from_json(
        {
            "detail": [
                {
                    "loc": ["body", "messages", 0, "role"],
                    "msg": "field required",
                    "type": "missing",
                },
                {"loc": ["body", "temperature"], "msg": "must be <= 2", "type": "value_error"},
            ]
        }
    )
    assert info is not None
    assert info.message == "body.messages.0.role: field required; body.temperature: must be <= 2"
    err = api_error_from_response(422, {}, _body({"detail": [{"loc": ["body"], "msg": "bad"}]}))
    assert isinstance(err, BadRequestError)
    assert err.provider_message == "body: bad"


def test_gemini_error_and_list_wrapped() -> None:
    gem = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded."}}
    for obj in (gem, [gem]):
        info = error_info_from_json(obj)
        assert info is not None
        assert (info.message, info.code, info.status) == (
            "Quota exceeded.",
            "429",
            "RESOURCE_EXHAUSTED",
        )
    # In a 200 stream the status comes only from the body.
    err = api_error_from_json(200, [gem])
    assert isinstance(err, RateLimitError)


def test_errors_list_of_objects_and_strings() -> None:
    info = error_info_from_json({"errors": [{"message": "first"}, {"message": "second"}]})
    assert info is not None and info.message == "first; second"
    info = error_info_from_json({"errors": ["bad model", "bad size"]})
    assert info is not None and info.message == "bad model; bad size"


def test_loose_message_only_when_clearly_an_error() -> None:
    info = error_info_from_json({"message": "Invalid token", "code": 40001})
    assert info is not None and info.code == "40001"
    assert error_info_from_json({"message": "denied", "status": "error"}) is not None
    assert error_info_from_json({"success": False, "message": "no credit"}) is not None
    # Normal replies that happen to carry `message`/`code`:
    assert error_info_from_json({"code": 0, "message": "success", "data": {"x": 1}}) is None
    assert error_info_from_json({"code": 200, "message": "ok"}) is None
    assert error_info_from_json({"message": "hello", "choices": [], "code": 5}) is None
    assert error_info_from_json({"candidates": [], "message": "x", "status": "bad"}) is None
    assert error_info_from_json({"message": "just a message"}) is None


@pytest.mark.parametrize(
    "obj",
    [
        {"choices": [{"message": {"content": "hi"}}]},
        {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]},
        {"object": "list", "data": []},
        {"error": None, "choices": []},
        {"error": ""},
        [1, 2, 3],
        "text",
        None,
    ],
)
def test_normal_bodies_are_not_errors(obj: object) -> None:
    assert error_info_from_json(obj) is None


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            {
                "error": {
                    "message": "bad",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
            AuthenticationError,
        ),
        # LiteLLM answers 400 for a wrong key.
        (
            400,
            {
                "error": {
                    "message": "Authentication Error, invalid key",
                    "type": "auth_error",
                    "code": "invalid_api_key",
                }
            },
            AuthenticationError,
        ),
        (400, {"error": {"message": "x", "type": "authentication_error"}}, AuthenticationError),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "status": "INVALID_ARGUMENT",
                    "message": "API key not valid.",
                    "details": [{"reason": "API_KEY_INVALID"}],
                }
            },
            AuthenticationError,
        ),
        (
            403,
            {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}},
            AuthenticationError,
        ),
        (
            401,
            {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "no"}},
            AuthenticationError,
        ),
        (
            429,
            {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}},
            RateLimitError,
        ),
        (400, {"error": {"message": "slow", "type": "rate_limit_error"}}, RateLimitError),
        (
            429,
            {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}},
            RateLimitError,
        ),
        (403, {"error": {"message": "quota", "code": "insufficient_quota"}}, RateLimitError),
        (400, {"error": {"message": "no such model", "code": "model_not_found"}}, NotFoundError),
        (404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "gone"}}, NotFoundError),
        (
            400,
            {"error": {"message": "too long", "code": "context_length_exceeded"}},
            BadRequestError,
        ),
        (
            400,
            {"error": {"message": "Your request was rejected", "code": "content_policy_violation"}},
            ContentBlockedError,
        ),
        (422, {"detail": "bad"}, BadRequestError),
        (500, {"error": {"message": "oops", "type": "server_error"}}, ServerError),
        (503, {"error": {"message": "down", "type": "service_unavailable_error"}}, ServerError),
        (418, {"error": "teapot"}, BadRequestError),
    ],
)
def test_subclass_from_status_and_codes(status: int, body: dict, cls: type[APIError]) -> None:
    err = api_error_from_response(status, {}, _body(body))
    assert type(err) is cls
    assert err.status == status


def test_sentences_differ_per_class_and_say_what_to_do() -> None:
    bodies = {
        AuthenticationError: (401, {"error": {"message": "m", "code": "invalid_api_key"}}),
        RateLimitError: (429, {"error": {"message": "m", "code": "rate_limit_exceeded"}}),
        NotFoundError: (404, {"error": {"message": "m"}}),
        BadRequestError: (400, {"error": {"message": "m"}}),
        ServerError: (500, {"error": {"message": "m"}}),
        ContentBlockedError: (400, {"error": {"message": "m", "code": "content_policy_violation"}}),
    }
    sentences = set()
    for cls, (status, body) in bodies.items():
        err = api_error_from_response(status, {}, _body(body))
        assert isinstance(err, cls)
        assert f"HTTP {status}" in err.user_message
        assert err.provider_message == "m"
        sentences.add(err.user_message)
    assert len(sentences) == len(bodies)
    auth = api_error_from_response(401, {}, _body(bodies[AuthenticationError][1]))
    assert "Settings" in auth.user_message


def test_context_length_says_shorten_the_conversation() -> None:
    err = api_error_from_response(
        400,
        {},
        _body(
            {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            }
        ),
    )
    assert isinstance(err, BadRequestError)
    assert "Shorten the conversation" in err.user_message
    # Servers without a code only say it in words.
    worded = api_error_from_response(
        400,
        {},
        _body(
            {
                "error": "the request exceeds the available context size, try increasing it; maximum context length is 4096"
            }
        ),
    )
    assert "Shorten the conversation" in worded.user_message
    plain = api_error_from_response(400, {}, _body({"error": {"message": "bad temperature"}}))
    assert "Shorten" not in plain.user_message


def test_quota_and_rate_limit_sentences_differ() -> None:
    quota = api_error_from_response(
        429, {}, _body({"error": {"message": "q", "code": "insufficient_quota"}})
    )
    rate = api_error_from_response(
        429, {}, _body({"error": {"message": "r", "code": "rate_limit_exceeded"}})
    )
    assert isinstance(quota, RateLimitError) and isinstance(rate, RateLimitError)
    assert "billing" in quota.user_message
    assert "Wait" in rate.user_message


# --- retry-after ------------------------------------------------------------------------------


def test_retry_after_seconds_ms_and_http_date() -> None:
    body = _body({"error": {"message": "slow", "code": "rate_limit_exceeded"}})
    assert api_error_from_response(429, {"Retry-After": "7"}, body).retry_after == 7.0
    assert (
        api_error_from_response(
            429, {"retry-after-ms": "1500", "retry-after": "9"}, body
        ).retry_after
        == 1.5
    )
    future = formatdate(time.time() + 120, usegmt=True)
    waited = api_error_from_response(429, {"Retry-After": future}, body).retry_after
    assert waited is not None and 100 <= waited <= 121
    past = formatdate(time.time() - 120, usegmt=True)
    assert api_error_from_response(429, {"retry-after": past}, body).retry_after == 0.0
    assert api_error_from_response(429, {}, body).retry_after is None


def test_gemini_retry_info_in_body_when_no_header() -> None:
    body = _body(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "You exceeded your current quota.",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
                ],
            }
        }
    )
    err = api_error_from_response(429, {}, body)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 37.0
    assert api_error_from_response(429, {"Retry-After": "2"}, body).retry_after == 2.0


# --- non-JSON bodies --------------------------------------------------------------------------

NGINX_502 = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
"""

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sign in &amp; continue</title>"
    b"<style>body{color:red}</style><script>var secret = 1;</script></head><body>"
    b"<h1>Corporate <b>Gateway</b></h1><form><input name=user></form>"
    + b"<p>x</p>" * 500
    + b"</body></html>"
)


def test_nginx_html_page_is_summarised() -> None:
    err = api_error_from_response(502, {"content-type": "text/html"}, NGINX_502)
    assert isinstance(err, ServerError)
    assert err.provider_message == "502 Bad Gateway"
    assert "<" not in str(err)


def test_gateway_login_page_is_short_and_tagless() -> None:
    err = api_error_from_response(200, {"content-type": "text/html"}, LOGIN_PAGE)
    assert err.provider_message == "Sign in & continue — Corporate Gateway"
    assert "<" not in (err.provider_message or "")
    assert "secret" not in str(err)


def test_html_without_title_uses_text_truncated() -> None:
    page = b"<html><body>" + b"<p>word</p>" * 400 + b"</body></html>"
    err = api_error_from_response(500, {}, page)
    assert err.provider_message is not None
    assert err.provider_message.startswith("word word")
    assert len(err.provider_message) <= 300
    assert "<" not in err.provider_message


@pytest.mark.parametrize("body", [b"", b"   \n", b"\xef\xbb\xbf"])
def test_empty_body_names_the_status(body: bytes) -> None:
    err = api_error_from_response(503, {}, body)
    assert isinstance(err, ServerError)
    assert "503" in err.user_message
    assert err.provider_message == "HTTP 503 Service Unavailable with an empty body."


def test_plain_text_and_unrecognised_json_bodies() -> None:
    err = api_error_from_response(
        500, {}, b"upstream connect error or disconnect/reset before headers"
    )
    assert err.provider_message == "upstream connect error or disconnect/reset before headers"
    odd = api_error_from_response(500, {}, b'{"weird": true}')
    assert isinstance(odd, ServerError)
    assert odd.provider_message == '{"weird": true}'
    long_text = api_error_from_response(400, {}, b"x" * 5000)
    assert long_text.provider_message is not None and len(long_text.provider_message) <= 300


# --- redaction --------------------------------------------------------------------------------


def test_echoed_keys_do_not_survive() -> None:
    body = _body(
        {
            "error": {
                "message": "Incorrect API key provided: sk-abc...xyz. You can find your API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    )
    err = api_error_from_response(401, {}, body)
    assert isinstance(err, AuthenticationError)
    assert "sk-abc" not in str(err) and "xyz" not in str(err)
    assert "[redacted]" in (err.provider_message or "")
    masked = api_error_from_response(
        401,
        {},
        _body(
            {
                "error": {
                    "message": "Incorrect API key provided: sk-proj-********************abcd.",
                    "code": "invalid_api_key",
                }
            }
        ),
    )
    assert "abcd" not in str(masked)


def test_registered_secret_and_key_shapes_redacted_everywhere() -> None:
    secret = "mysecretvalue-123456"
    register_secret(secret)
    try:
        body = _body({"detail": f"token {secret} rejected, also AIzaSyA1234567890abcdefghijklmno"})
        err = api_error_from_response(401, {}, body)
        assert secret not in str(err)
        assert "AIzaSy" not in str(err)
        info = error_info_from_json({"error": f"bad {secret}"})
        assert info is not None and secret not in info.message
        page = f"<html><title>Denied for {secret}</title></html>".encode()
        assert secret not in str(api_error_from_response(403, {}, page))
    finally:
        forget_secret(secret)


# --- recorded Gemini failures -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["unary-failure-api-key.json", "unary-failure-api-key.txt"])
def test_recorded_gemini_bad_key_is_authentication_error(name: str) -> None:
    err = api_error_from_response(
        400, {"content-type": "application/json"}, (GEMINI / name).read_bytes()
    )
    assert isinstance(err, AuthenticationError)
    assert err.status == 400
    assert err.code == "API_KEY_INVALID"
    assert err.provider_message == "API key not valid. Please pass a valid API key."
    assert "Settings" in err.user_message


@pytest.mark.parametrize(
    "name", ["unary-failure-unknown-model.json", "unary-failure-unknown-model.txt"]
)
def test_recorded_gemini_unknown_model_is_not_found(name: str) -> None:
    err = api_error_from_response(404, {}, (GEMINI / name).read_bytes())
    assert isinstance(err, NotFoundError)
    assert (err.provider_message or "").startswith(
        "models/gemini-5.0-flash is not found for API version v1"
    )
    assert err.code == "NOT_FOUND"


def test_recorded_gemini_api_not_enabled_is_permission_error() -> None:
    err = api_error_from_response(
        403, {}, (GEMINI / "unary-failure-generativelanguage-api-not-enabled.json").read_bytes()
    )
    assert isinstance(err, AuthenticationError)
    assert err.code == "SERVICE_DISABLED"
    assert "enabling" in err.user_message
    assert "Generative Language API has not been used" in (err.provider_message or "")


def test_recorded_gemini_image_rejected_is_bad_request() -> None:
    err = api_error_from_response(
        400, {}, (GEMINI / "streaming-failure-image-rejected.txt").read_bytes()
    )
    assert type(err) is BadRequestError
    assert err.provider_message == "Request contains an invalid argument."
    assert err.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "name",
    [
        "unary-failure-finish-reason-safety.json",
        "unary-failure-finish-reason-safety.txt",
        "unary-failure-only-prompt-feedback.json",
        "unary-failure-with-message-no-content.json",
    ],
)
def test_recorded_gemini_candidate_failures_are_not_error_bodies(name: str) -> None:
    # These are 200 replies whose trouble is in the candidates: gemini.py handles them.
    assert error_info_from_json(json.loads((GEMINI / name).read_text())) is None


def test_every_recorded_unary_failure_is_covered() -> None:
    covered = {
        "unary-failure-api-key.json",
        "unary-failure-api-key.txt",
        "unary-failure-unknown-model.json",
        "unary-failure-unknown-model.txt",
        "unary-failure-generativelanguage-api-not-enabled.json",
        "unary-failure-finish-reason-safety.json",
        "unary-failure-finish-reason-safety.txt",
        "unary-failure-only-prompt-feedback.json",
        "unary-failure-with-message-no-content.json",
    }
    assert {p.name for p in Path(GEMINI).glob("unary-failure-*")} == covered
