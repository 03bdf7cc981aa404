"""`detect_local_servers`: a quick concurrent probe of loopback ports for Ollama, LM Studio,
llama.cpp and vLLM, offered in the status bar at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported where it is used: it is slow to import at start-up
    import httpx


def _httpx() -> Any:
    import httpx

    return httpx


from app.core.providers.presets import LOCAL_SERVER_PORTS, PRESETS, new_profile_from_preset
from app.core.providers.profile import KeySource, ProviderProfile

# --- local server detection -------------------------------------------------------------------


def _model_ids(obj: Any) -> list[str] | None:
    """Model ids from an OpenAI `/v1/models` or Ollama `/api/tags` body; None if neither."""
    if isinstance(obj, dict):
        items = obj.get("data", obj.get("models"))
    else:
        items = obj
    if not isinstance(items, list):
        return None
    ids: list[str] = []
    for item in items:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict):
            value = item.get("id") or item.get("model") or item.get("name")
            if isinstance(value, str) and value:
                ids.append(value.removeprefix("models/"))
    return ids


async def _probe(
    client: httpx.AsyncClient, host: str, port: int, preset_id: str
) -> ProviderProfile | None:
    paths = ["/v1/models"]
    if preset_id == "ollama":
        paths.append("/api/tags")
    for path in paths:
        try:
            response = await client.get(f"http://{host}:{port}{path}")
        except _httpx().HTTPError:
            continue
        if not response.is_success:
            continue
        try:
            ids = _model_ids(response.json())
        except ValueError:
            continue
        if ids is None:
            continue
        if preset_id in PRESETS and PRESETS[preset_id].local:
            profile = new_profile_from_preset(preset_id)
        else:
            profile = ProviderProfile(
                name=f"Local server on port {port}",
                base_url="",
                preset="custom",
                key_source=KeySource.NONE,
                supports_top_k=True,
                connect_timeout=5.0,
            )
        url_host = f"[{host}]" if ":" in host else host
        profile.base_url = f"http://{url_host}:{port}/v1"
        if ids:
            profile.default_models["chat"] = ids[0]
        return profile
    return None


async def detect_local_servers(
    ports: Iterable[int] | Mapping[int, str] | None = None,
    timeout: float = 0.5,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    host: str = "127.0.0.1",
) -> list[ProviderProfile]:
    """Profiles for the local model servers answering on loopback, in port order.

    `ports` maps port -> preset id (default `LOCAL_SERVER_PORTS`); a plain list of ports uses
    the known preset for a known port and a generic local profile otherwise. All ports are
    probed at once (`GET /v1/models`, and Ollama's `/api/tags` as a fallback) and the whole
    probe ends after about `timeout` seconds even when a port accepts and never answers.
    """
    if ports is None:
        port_map: dict[int, str] = dict(LOCAL_SERVER_PORTS)
    elif isinstance(ports, Mapping):
        port_map = {int(k): str(v) for k, v in ports.items()}
    else:
        port_map = {int(p): LOCAL_SERVER_PORTS.get(int(p), "custom") for p in ports}
    if not port_map:
        return []
    # trust_env=False: a loopback probe must never go through a proxy.
    httpx = _httpx()
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), transport=transport, trust_env=False
    ) as client:
        tasks = {
            port: asyncio.create_task(_probe(client, host, port, preset))
            for port, preset in port_map.items()
        }
        _done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    found: list[ProviderProfile] = []
    for port in port_map:
        task = tasks[port]
        if task.cancelled() or task.exception() is not None:
            continue
        result = task.result()
        if result is not None:
            found.append(result)
    return found
