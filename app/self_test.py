"""`switchboard --self-test`: start the real app offscreen on a throw-away data folder against
the built-in demo server, run each step once, print one line per step, exit 0 only if all passed.

    self-test: chat ok (412 ms)
    self-test: image FAILED: the job ended failed: ...
    self-test: video skipped (not in this build)

It runs the same `app.main.run()` path as a normal start (QApplication, qasync, AppContext,
MainWindow, `--demo`), so the frozen bundle checks its own Qt plugins, resources and libraries.

Steps are a registry (`STEPS`): a service that lands later adds its step with one entry; a
step whose AppContext attribute is missing is reported `skipped (not in this build)`.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

StepFn = Callable[[Any, Any], Awaitable[None]]  # (ctx, window) -> None; raises on failure
STEP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFn | None
    # The AppContext attribute this step needs ("" = always there); without it: skipped.
    needs: str = ""


def prepare(args: argparse.Namespace) -> None:
    """Turn parsed arguments into a self-test start: offscreen, a temp data folder (removed at
    exit) unless --data-dir was given, the demo server, no local-server probing."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.data_dir is None:
        folder = tempfile.mkdtemp(prefix="switchboard-self-test-")
        atexit.register(shutil.rmtree, folder, True)
        args.data_dir = Path(folder)
    args.demo = True
    args.no_detect = True


def say(line: str) -> None:
    print(f"self-test: {line}", flush=True)


# --- steps ------------------------------------------------------------------------------------


async def step_resources(ctx: Any, window: Any) -> None:
    from app.bundle_info import LICENCES_FILE, is_frozen
    from app.resources import icon_path, resource_path

    if not icon_path().is_file():
        raise RuntimeError(f"no icon at {icon_path()}")
    if is_frozen() and not resource_path(LICENCES_FILE).is_file():
        raise RuntimeError(f"the bundle has no {LICENCES_FILE}")
    # The Images tab's own icons and the demo's sample notes (once left out of the bundle).
    for name in ("star", "star-outline", "send-to-chat", "zoom-fit", "copy"):
        if not resource_path("icons", f"{name}.svg").is_file():
            raise RuntimeError(f"no {name}.svg among the icons")
    if not any(resource_path("notes").rglob("*.md")):
        raise RuntimeError(f"no sample notes in {resource_path('notes')}")


async def step_log(ctx: Any, window: Any) -> None:
    """The log goes where a normal start writes it: <data dir>/logs/switchboard.log."""
    from app import __version__

    expected = ctx.data_dir / "logs" / "switchboard.log"
    if window.log_path != expected:
        raise RuntimeError(f"the log is at {window.log_path}, expected {expected}")
    text = expected.read_text(encoding="utf-8", errors="replace")
    if f"Switchboard {__version__} starting" not in text:
        raise RuntimeError(f"{expected} lacks the start-up line")


async def step_window(ctx: Any, window: Any) -> None:
    if not window.isVisible() or window.ctx is not ctx:
        raise RuntimeError("the main window is not showing the services")
    if getattr(window, "chat_tab", None) is None:
        raise RuntimeError("the Chat tab was not built")


def _demo_profile(ctx: Any) -> Any:
    profile = ctx.active_profile()
    if profile is None or not profile.is_demo:
        raise RuntimeError("the demo profile is not active")
    return profile


async def step_chat(ctx: Any, window: Any) -> None:
    """Stream one reply through ChatService from the demo server."""
    from contextlib import aclosing

    profile = _demo_profile(ctx)
    model = profile.default_models.get("chat")
    thread = await ctx.threads.create_thread("Self-test", profile_id=profile.id, model=model)
    last = None
    deltas = 0
    async with aclosing(ctx.chat.send(thread.id, "Say hello in five words.")) as progress:
        async for step in progress:
            last = step
            deltas += bool(step.content_delta)
    if last is None or not last.done:
        raise RuntimeError("the reply never finished")
    if last.error is not None:
        raise RuntimeError(str(last.error))
    if not last.content.strip() or deltas < 2:
        raise RuntimeError(f"the reply was not streamed ({deltas} deltas)")


async def step_image(ctx: Any, window: Any) -> None:
    """Generate one image as a durable job through the AppContext's ImageService."""
    from app.core.services.images import ImageGenerationRequest

    profile = _demo_profile(ctx)
    service = ctx.images
    finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_event(event: Any) -> None:
        job = event.job
        if event.what == "job" and job is not None and job.id == job_id[0]:
            if job.state in ("completed", "failed", "cancelled", "interrupted"):
                if not finished.done():
                    finished.set_result(job)

    job_id = [-1]
    unsubscribe = service.on_event(on_event)
    try:
        job_id[0] = await service.generate(
            ImageGenerationRequest(profile_id=profile.id, prompt="a patch cord on a switchboard")
        )
        job = await finished
        if job.state != "completed":
            raise RuntimeError(f"the job ended {job.state}: {job.error}")
        images = await service.batch(job.id)
        if not images:
            raise RuntimeError("the job completed without an image")
        path = service.file_path(images[0])
        if not path.is_file() or path.stat().st_size == 0:
            raise RuntimeError(f"the image file {path} is missing")
    finally:
        unsubscribe()


async def step_video(ctx: Any, window: Any) -> None:
    """Run one video job to completion through the AppContext's VideoService (the demo
    server's tasks, polled and downloaded like a provider's)."""
    from app.core.services.videos import VideoSubmitRequest

    profile = _demo_profile(ctx)
    if ctx.demo is not None and hasattr(ctx.demo, "video_seconds"):
        ctx.demo.video_seconds = 0.0  # the demo's simulated render time: nothing to wait for
    job_id = await ctx.videos.submit(
        VideoSubmitRequest(profile_id=profile.id, prompt="a patch cord being plugged in")
    )
    view = await ctx.videos.wait(job_id)
    if view is None or view.state != "completed":
        state = view.state if view is not None else "missing"
        raise RuntimeError(f"the job ended {state}: {view.error if view is not None else ''}")
    if view.file_path is None or not view.file_path.is_file() or view.file_path.stat().st_size == 0:
        raise RuntimeError(f"the video file {view.file_path} is missing")
    from app.core.demo.video import demo_video

    if not demo_video().playable:
        raise RuntimeError("the demo's sample video (resources/demo/demo.mp4) is missing")
    if view.file_path.read_bytes() != demo_video().data:
        raise RuntimeError(f"{view.file_path} is not the video the demo served")


async def step_playback(ctx: Any, window: Any) -> None:
    """Decode a frame of the demo's H.264 video with QtMultimedia: its FFmpeg plugin and every
    library it links must be in the build (a bundle that drops one plays nothing)."""
    from app.core.demo.video import VIDEO_FILE
    from app.resources import resource_path
    from app.ui.videos.posters import grab_frame

    image = await grab_frame(str(resource_path("demo", VIDEO_FILE)), timeout=STEP_TIMEOUT / 2)
    if image is None or image.isNull():
        raise RuntimeError("QtMultimedia decoded no frame of the demo video")
    if (image.width(), image.height()) != (320, 180):
        raise RuntimeError(f"the decoded frame is {image.width()}x{image.height()}, not 320x180")


async def step_note(ctx: Any, window: Any) -> None:
    """Write one note, index it with the demo's embeddings model, and find it by search."""
    profile = _demo_profile(ctx)
    model = profile.default_models.get("embedding")
    if not model:
        raise RuntimeError("the demo profile names no embeddings model")
    notes = ctx.notes
    spec = await notes.index_spec()
    if spec is None or (spec.profile_id, spec.model) != (profile.id, model):
        await notes.set_index_model(profile.id, model)
    note = await notes.create_note(
        "Self-test", "The flaky VPN drops every evening; the fix is a shorter keepalive."
    )
    job = await notes.wait(await notes.index())
    if job is None or job.state != "completed":
        state = job.state if job is not None else "missing"
        raise RuntimeError(f"the indexing job ended {state}: {job.error if job is not None else ''}")
    hits = await notes.search("keepalive VPN", mode="both", limit=10)
    if not any(hit.note_id == note.id for hit in hits):
        raise RuntimeError(f"the note was not found by search ({len(hits)} other hits)")


def _one_page_pdf(text: str) -> bytes:
    """A minimal valid PDF with one line of Helvetica text (byte offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
         b" /Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


async def step_pdf(ctx: Any, window: Any) -> None:
    """Read a PDF's text in the notes' worker process (multiprocessing "spawn": in the frozen
    bundle the child is the app's own executable, diverted by packaging/entry.py)."""
    from app.core.notes.extract import PdfWorker

    path = ctx.data_dir / "self-test.pdf"
    path.write_bytes(_one_page_pdf("Patch cords and jacks"))
    worker = PdfWorker(timeout=STEP_TIMEOUT / 2)
    try:
        text = (await asyncio.to_thread(worker.extract, path)).text
    finally:
        await asyncio.to_thread(worker.close)
        path.unlink(missing_ok=True)
    if "Patch cords" not in text:
        raise RuntimeError(f"the PDF's text was not read (got {text[:60]!r})")


STEPS: list[Step] = [
    Step("resources", step_resources),
    Step("log", step_log),
    Step("window", step_window),
    Step("chat", step_chat),
    Step("image", step_image),
    Step("video", step_video, needs="videos"),
    Step("playback", step_playback, needs="videos"),
    Step("note", step_note, needs="notes"),
    Step("pdf", step_pdf, needs="notes"),
]


async def run_steps(ctx: Any, window: Any, steps: list[Step] | None = None) -> int:
    """Run every step in order (a failure does not stop the others); 0 only if all passed."""
    failed = 0
    for step in STEPS if steps is None else steps:
        if step.run is None or (step.needs and getattr(ctx, step.needs, None) is None):
            say(f"{step.name} skipped (not in this build)")
            continue
        started = time.perf_counter()
        try:
            await asyncio.wait_for(step.run(ctx, window), STEP_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 (each failure is one line; the run goes on)
            failed += 1
            why = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                why = f"no result within {STEP_TIMEOUT:.0f} s"
            say(f"{step.name} FAILED: {why}")
        else:
            say(f"{step.name} ok ({(time.perf_counter() - started) * 1000:.0f} ms)")
    say("passed" if not failed else f"{failed} step(s) failed")
    return 0 if not failed else 1
