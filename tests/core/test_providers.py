"""Provider presets (the seed quirks exactly), validation, profiles.json persistence,
import/export without keys, and local-server detection against real loopback servers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.core.errors import ConfigError, register_secret
from app.core.providers import (
    PRESETS,
    Dialect,
    KeySource,
    ProfileRepository,
    ProviderProfile,
    VideoDialect,
    detect_local_servers,
    new_profile_from_preset,
    preset_choices,
    validate_profile,
)

# --- presets ----------------------------------------------------------------------------------


def test_seed_000_mollyra() -> None:
    p = new_profile_from_preset("mollyra")
    assert p.base_url == "https://api.mollyra.ai/v1"
    assert p.dialect == Dialect.OPENAI
    assert p.key_source == KeySource.KEYCHAIN
    assert p.trailing_slash is False
    assert p.image_size_style == "x"
    assert p.default_models["image"] == "dall-e-3"


def test_seed_001_gateway_and_its_gemini_endpoint_share_the_host() -> None:
    openai_style = new_profile_from_preset("gateway")
    gemini_style = new_profile_from_preset("gateway-gemini")
    assert openai_style.base_url == "https://your-domain.com/api/v1"
    assert openai_style.dialect == Dialect.OPENAI
    assert PRESETS["gateway"].label == "OpenAI-compatible gateway (/api/v1)"
    assert gemini_style.base_url == "https://your-domain.com/api"
    assert gemini_style.dialect == Dialect.GEMINI
    assert openai_style.extra_headers == {} and gemini_style.extra_headers == {}


def test_seed_002_star_sizes_and_b64() -> None:
    p = new_profile_from_preset("star-sizes")
    assert p.image_size_style == "*"
    assert p.image_response_format == "b64_json"
    assert p.dialect == Dialect.OPENAI
    assert p.default_models["image"] == "stabilityai/stable-diffusion-xl-base-1.0"


def test_seed_003_horay_takes_top_k() -> None:
    p = new_profile_from_preset("horay")
    assert p.base_url == "https://api.horay.ai/v1"
    assert p.supports_top_k is True
    assert p.trailing_slash is False


def test_seed_004_melancholy_quirks() -> None:
    p = new_profile_from_preset("melancholy")
    assert p.base_url == "https://app.melancholyai.fun/api/v1"
    assert p.trailing_slash is True
    assert p.extra_headers == {"User-Agent": "MelancholyAI-Client"}
    assert p.video_dialect == VideoDialect.TASKS
    assert p.default_models["video"] == "google/veo-3-1-fast"


def test_hosted_presets() -> None:
    openai = new_profile_from_preset("openai")
    assert openai.base_url == "https://api.openai.com/v1"
    assert openai.video_dialect == VideoDialect.OPENAI
    gemini = new_profile_from_preset("gemini")
    assert gemini.dialect == Dialect.GEMINI
    assert gemini.base_url == "https://generativelanguage.googleapis.com"
    for pid in ("openrouter", "groq", "mistral", "deepseek", "together"):
        p = new_profile_from_preset(pid)
        assert p.base_url.startswith("https://"), pid
        assert p.key_source == KeySource.KEYCHAIN
        assert validate_profile(p) == [], pid


@pytest.mark.parametrize(
    ("pid", "url"),
    [
        ("ollama", "http://127.0.0.1:11434/v1"),
        ("lmstudio", "http://127.0.0.1:1234/v1"),
        ("llamacpp", "http://127.0.0.1:8080/v1"),
        ("vllm", "http://127.0.0.1:8000/v1"),
    ],
)
def test_local_presets_need_no_key(pid: str, url: str) -> None:
    p = new_profile_from_preset(pid)
    assert p.base_url == url
    assert p.key_source == KeySource.NONE


def test_preset_profiles_are_independent_copies() -> None:
    a = new_profile_from_preset("melancholy")
    b = new_profile_from_preset("melancholy", name="Mine")
    a.extra_headers["X-Test"] = "1"
    a.default_models["chat"] = "other"
    assert a.id != b.id
    assert b.name == "Mine" and b.preset == "melancholy"
    assert "X-Test" not in b.extra_headers
    assert PRESETS["melancholy"].build().default_models["chat"] == "qwen3-max"


def test_preset_choices_and_unknown_preset() -> None:
    choices = dict(preset_choices())
    assert choices["custom"] == "Custom"
    assert set(choices) == set(PRESETS)
    assert len(choices) == 18
    with pytest.raises(ConfigError):
        new_profile_from_preset("no-such-preset")


def test_every_preset_except_custom_validates() -> None:
    for pid in PRESETS:
        problems = validate_profile(new_profile_from_preset(pid))
        if pid == "custom":
            assert problems == ["Enter the base URL, for example https://api.openai.com/v1."]
        else:
            assert problems == [], pid


# --- validation -------------------------------------------------------------------------------


def _profile(**kw: object) -> ProviderProfile:
    base: dict[str, object] = {"name": "P", "base_url": "https://example.com/v1"}
    base.update(kw)
    return ProviderProfile(**base)  # type: ignore[arg-type]


def test_validation_problems() -> None:
    assert validate_profile(_profile()) == []
    assert any("name" in s for s in validate_profile(_profile(name="  ")))
    assert any("http" in s for s in validate_profile(_profile(base_url="ftp://x/v1")))
    assert any("http" in s for s in validate_profile(_profile(base_url="https://")))
    assert any(
        "header name" in s for s in validate_profile(_profile(extra_headers={"Bad Name": "x"}))
    )
    assert any(
        "single line" in s for s in validate_profile(_profile(extra_headers={"X-A": "a\r\nb"}))
    )
    assert any(
        "credentials" in s for s in validate_profile(_profile(extra_headers={"Authorization": "x"}))
    )
    assert any("proxy" in s for s in validate_profile(_profile(proxy="ftp://proxy:21")))
    for ok in ("http://p:3128", "https://p:3128", "socks5://p:1080", "socks5h://p:1080"):
        assert validate_profile(_profile(proxy=ok)) == [], ok
    assert any("connect timeout" in s for s in validate_profile(_profile(connect_timeout=-1)))
    assert any("read timeout" in s for s in validate_profile(_profile(read_timeout=-0.5)))
    assert any(
        "environment variable" in s for s in validate_profile(_profile(key_source=KeySource.ENV))
    )


# --- repository -------------------------------------------------------------------------------


def test_missing_file_loads_empty(tmp_path: Path) -> None:
    repo = ProfileRepository(tmp_path / "profiles.json")
    assert repo.load() == []
    assert repo.get_active_id() is None


def test_round_trip_and_active_id(tmp_path: Path) -> None:
    repo = ProfileRepository(tmp_path)  # a directory means <dir>/profiles.json
    a = new_profile_from_preset("melancholy")
    b = new_profile_from_preset("ollama", name="Local")
    b.context_windows["llama3"] = 8192
    repo.save([a, b])
    repo.set_active_id(b.id)
    again = ProfileRepository(tmp_path / "profiles.json")
    assert again.load() == [a, b]
    assert again.get_active_id() == b.id == again.active_id
    assert again.get(a.id) == a and again.get("nope") is None
    data = json.loads((tmp_path / "profiles.json").read_text())
    assert data["schema"] == 1 and data["active_id"] == b.id
    # save() keeps the active id; dropping the active profile makes it None.
    again.save([b])
    assert again.get_active_id() == b.id
    again.save([a])
    assert again.get_active_id() is None
    assert [p.name for p in tmp_path.iterdir()] == ["profiles.json"]  # no temp files left


def test_corrupt_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text('{"schema": 1, "profiles": [ {"name": "half', encoding="utf-8")
    repo = ProfileRepository(path)
    with pytest.raises(ConfigError) as info:
        repo.load()
    assert "damaged" in info.value.user_message
    kept = list(tmp_path.glob("profiles.json.corrupt-*"))
    assert len(kept) == 1
    assert kept[0].read_text() == '{"schema": 1, "profiles": [ {"name": "half'
    assert kept[0].name in info.value.user_message
    assert not path.exists()
    assert repo.load() == []
    repo.save([_profile()])
    assert len(repo.load()) == 1


def test_wrong_shape_is_corrupt_too(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps({"schema": 1, "profiles": [{"name": "x", "base_url": 3}]}))
    with pytest.raises(ConfigError):
        ProfileRepository(path).load()
    assert len(list(tmp_path.glob("profiles.json.corrupt-*"))) == 1


def test_newer_schema_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    text = json.dumps({"schema": 99, "profiles": []})
    path.write_text(text)
    repo = ProfileRepository(path)
    with pytest.raises(ConfigError, match="newer version"):
        repo.load()
    with pytest.raises(ConfigError):
        repo.save([_profile()])
    assert path.read_text() == text


def test_save_refuses_a_key_in_a_header_or_url(tmp_path: Path) -> None:
    repo = ProfileRepository(tmp_path / "profiles.json")
    key = "sk-live-abcdefghijklmnop1234"
    with pytest.raises(ConfigError):
        repo.save([_profile(extra_headers={"Authorization": f"Bearer {key}"})])
    with pytest.raises(ConfigError):
        repo.save([_profile(base_url=f"https://example.com/v1?key={key}")])
    assert not (tmp_path / "profiles.json").exists()


def test_export_never_contains_a_key(tmp_path: Path) -> None:
    from app.core.secrets import SecretStore
    from tests.memory_keyring import MemoryKeyring

    key = "mykey-0123456789-abcdef"
    store = SecretStore(keyring_backend=MemoryKeyring())
    a = new_profile_from_preset("melancholy")
    store.set_key(a, key)
    assert store.get_key(a) == key
    b = _profile(extra_headers={"X-Api-Key": key, "X-Title": "Switchboard"})
    repo = ProfileRepository(tmp_path / "profiles.json")
    text = repo.export_json([a, b])
    assert key not in text
    data = json.loads(text)
    assert data["profiles"][1]["extra_headers"] == {"X-Title": "Switchboard"}
    assert data["profiles"][0]["extra_headers"] == {"User-Agent": "MelancholyAI-Client"}
    # Nothing else is stripped.
    assert data["profiles"][0] == {**a.to_json()}


def test_export_redacts_a_registered_key_anywhere() -> None:
    key = "zz-registered-secret-42"
    register_secret(key)
    text = ProfileRepository(Path("unused.json")).export_json([_profile(name=f"has {key}")])
    assert key not in text and "[redacted]" in text


def test_import_round_trip_with_id_clash(tmp_path: Path) -> None:
    repo = ProfileRepository(tmp_path / "profiles.json")
    a = new_profile_from_preset("horay")
    b = new_profile_from_preset("gateway-gemini")
    repo.save([a])
    imported = repo.import_json(repo.export_json([a, b]))
    assert [p.name for p in imported] == [a.name, b.name]
    assert imported[0].id != a.id  # clashed with a saved profile
    assert imported[1].id == b.id
    assert imported[0].supports_top_k is True
    assert imported[1].dialect == Dialect.GEMINI
    # Two imported profiles with one id get distinct ids.
    twice = repo.import_json(json.dumps([b.to_json(), b.to_json()]))
    assert len({p.id for p in twice}) == 2


def test_import_ignores_unknown_fields_and_accepts_one_profile(tmp_path: Path) -> None:
    repo = ProfileRepository(tmp_path / "profiles.json")
    data = {"name": "X", "base_url": "http://127.0.0.1:9/v1", "future_field": [1, 2]}
    [p] = repo.import_json(json.dumps(data))
    assert p.name == "X" and p.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '"a string"',
        json.dumps([{"name": "x"}]),
        json.dumps([{"name": "x", "base_url": "ftp://x"}]),
        json.dumps([{"name": "x", "base_url": "https://x", "dialect": "klingon"}]),
        json.dumps([{"name": "x", "base_url": "https://x", "read_timeout": "slow"}]),
        json.dumps([{"name": "x", "base_url": "https://x", "extra_headers": {"A": 1}}]),
        json.dumps({"schema": 99, "profiles": [{"name": "x", "base_url": "https://x"}]}),
    ],
)
def test_import_errors_are_config_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProfileRepository(tmp_path / "profiles.json").import_json(text)
    assert info.value.user_message.endswith(".")


def test_duplicate() -> None:
    a = new_profile_from_preset("melancholy", name="Melancholy")
    copy = ProfileRepository.duplicate(a)
    assert copy.id != a.id
    assert copy.name == "Melancholy (copy)"
    copy.extra_headers["X"] = "y"
    assert "X" not in a.extra_headers
    assert copy.base_url == a.base_url and copy.trailing_slash is True


# --- local server detection -------------------------------------------------------------------

Handler = Callable[[str], Awaitable[tuple[int, bytes] | None]]


@asynccontextmanager
async def http_server(
    routes: dict[str, tuple[int, bytes]], *, hang: bool = False
) -> AsyncIterator[int]:
    """A tiny HTTP/1.1 server on 127.0.0.1:0; yields its port. `hang`: accept, never answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if hang:
                await reader.read()  # until the client gives up and closes
                return
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            status, body = routes.get(path, (404, b'{"error": "not found"}'))
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MODELS = json.dumps({"object": "list", "data": [{"id": "qwen2.5-7b"}, {"id": "other"}]}).encode()
TAGS = json.dumps({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}]}).encode()


def test_detects_answering_servers_and_skips_the_rest(arun: Callable[..., object]) -> None:
    async def scenario() -> list[ProviderProfile]:
        async with (
            http_server({"/v1/models": (200, MODELS)}) as lm_port,
            http_server({"/api/tags": (200, TAGS)}) as ollama_port,
            http_server({"/v1/models": (200, b"<html>hello</html>")}) as html_port,
            http_server({}, hang=True) as hang_port,
        ):
            closed = _closed_port()
            return await detect_local_servers(
                {
                    lm_port: "lmstudio",
                    ollama_port: "ollama",
                    html_port: "llamacpp",
                    hang_port: "vllm",
                    closed: "custom",
                },
                timeout=0.5,
            )

    found = arun(scenario(), timeout=10)
    assert isinstance(found, list)
    assert [p.preset for p in found] == ["lmstudio", "ollama"]
    lm, ollama = found
    assert lm.base_url.startswith("http://127.0.0.1:") and lm.base_url.endswith("/v1")
    assert lm.default_models["chat"] == "qwen2.5-7b"
    assert lm.key_source == KeySource.NONE
    assert ollama.default_models["chat"] == "llama3.2:latest"
    assert ollama.key_source == KeySource.NONE
    assert lm.id != ollama.id


def test_plain_port_list_and_unknown_port(arun: Callable[..., object]) -> None:
    async def scenario() -> list[ProviderProfile]:
        async with http_server({"/v1/models": (200, json.dumps({"data": []}).encode())}) as port:
            return await detect_local_servers([port], timeout=0.5)

    found = arun(scenario(), timeout=10)
    assert isinstance(found, list) and len(found) == 1
    [p] = found
    assert p.key_source == KeySource.NONE
    assert "chat" not in p.default_models
    assert validate_profile(p) == []


def test_hanging_ports_do_not_hold_detection_past_its_timeout(arun: Callable[..., object]) -> None:
    async def scenario() -> list[ProviderProfile]:
        async with http_server({}, hang=True) as a, http_server({}, hang=True) as b:
            return await detect_local_servers({a: "ollama", b: "vllm"}, timeout=0.3)

    assert arun(scenario(), timeout=10) == []


class NeverAnswers(httpx.AsyncBaseTransport):
    """A transport that ignores httpx's own timeouts: only detection's deadline can stop it."""

    def __init__(self) -> None:
        self.started = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_overall_deadline_cancels_probes_that_ignore_timeouts(arun: Callable[..., object]) -> None:
    transport = NeverAnswers()
    found = arun(detect_local_servers([1, 2, 3], timeout=0.2, transport=transport), timeout=5)
    assert found == []
    assert transport.started == 3  # all probed at once


def test_no_ports_means_nothing_to_do(arun: Callable[..., object]) -> None:
    assert arun(detect_local_servers({}, timeout=0.2)) == []
