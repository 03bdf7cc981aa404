"""The offline demo: start the in-process DemoServer and activate a "Demo (offline)" profile.

The demo profile lives in memory for this session only (`is_demo=True`, no key, never written to
`profiles.json`); its default models come from the demo server's own `/v1/models`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from app.core.providers import KeySource, ProviderProfile
from app.ui.profile_actions import commit_profiles

if TYPE_CHECKING:
    from app.core.demo.server import DemoServer
    from app.ui.context import AppContext

log = logging.getLogger(__name__)

from app.ui.labels import DEMO_NAME  # noqa: E402  (re-exported)
DEMO_PROFILE_ID = "demo-offline"


async def start_demo_server() -> DemoServer:
    """Start a DemoServer on 127.0.0.1, port chosen by the OS (binding is done off the Qt thread)."""
    from app.core.demo.server import DemoServer

    server = DemoServer(host="127.0.0.1", port=0)
    await asyncio.to_thread(server.start)
    return server


def _models_by_capability(payload: Any) -> dict[str, str]:
    """First model id per capability from an OpenAI-style /v1/models body."""
    items = payload.get("data", []) if isinstance(payload, dict) else []
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        model_id: str = item["id"]
        caps = item.get("capabilities")
        if isinstance(caps, list):
            kinds = [str(c) for c in caps]
        else:
            low = model_id.lower()
            if "instruct" in low:
                kinds = ["completion"]
            elif "embed" in low:
                kinds = ["embedding"]
            elif "image" in low or "flux" in low or "dall" in low:
                kinds = ["image"]
            elif "video" in low or "sora" in low or "veo" in low:
                kinds = ["video"]
            else:
                kinds = ["chat"]
        for kind in kinds:
            found.setdefault(kind, model_id)
    return found


async def build_demo_profile(server: DemoServer) -> ProviderProfile:
    """The in-memory demo profile for a running server, models taken from its /v1/models."""
    base = server.base_url("openai")
    import httpx

    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
        response = await client.get(base.rstrip("/") + "/models")
        response.raise_for_status()
        models = _models_by_capability(response.json())
    template = next((p for p in server.profiles() if p.base_url == base), None)
    profile = template or ProviderProfile(name=DEMO_NAME, base_url=base)
    profile.id = DEMO_PROFILE_ID
    profile.name = DEMO_NAME
    profile.base_url = base
    profile.preset = "demo"
    profile.key_source = KeySource.NONE
    profile.is_demo = True
    profile.default_models = {
        k: v
        for k, v in models.items()
        if k in ("chat", "completion", "image", "embedding", "video")
    }
    profile.connect_timeout = 5.0
    profile.read_timeout = 120.0
    profile.max_retries = 0
    return profile


async def activate_demo(ctx: AppContext) -> ProviderProfile:
    """Start the demo server if needed and make the demo profile active for this session."""
    if ctx.demo is None:
        ctx.demo = await start_demo_server()
    profile = await build_demo_profile(ctx.demo)
    others = [p for p in ctx.profile_list if not p.is_demo]
    await commit_profiles(
        ctx, [*others, profile], profile.id, changed_ids=[profile.id], persist=False
    )
    ctx.events.statusMessage.emit("The offline demo is running on this computer.")
    embedding = profile.default_models.get("embedding")
    if getattr(ctx, "notes", None) is not None and embedding:
        # So a new user sees Notes search work: the bundled sample folder, demo embeddings.
        ctx.spawn(ctx.notes.index_sample_notes(profile.id, embedding))
    return profile


async def stop_demo(ctx: AppContext) -> None:
    """Stop the demo server (if one was started)."""
    server = ctx.demo
    if server is None:
        return
    ctx.demo = None
    await asyncio.to_thread(server.stop)
