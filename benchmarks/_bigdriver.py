"""Drive the real app through a big-content scenario, in its own process.

    python -m benchmarks._bigdriver SCENARIO --data-dir DIR [--params JSON]

The same harness as `benchmarks._appdriver` (its `_install` wraps `app.main._main`; the app runs
unchanged), with the scenarios of `benchmarks.big_content`:

- `open-big`   open an empty thread, then the thread holding one 5 MB message (`thread_id`)
               while a 5 ms Qt timer records the longest event-loop stall: time from the
               `open_thread` call to the first paint after the model was filled, and the longest
               stall until `settle_s` after that paint.
- `paste-send` in a new thread, paste `chars` characters through the clipboard into the
               composer (the real paste path), then press Send; the longest stall of each phase,
               the time to the end of the reply and its status.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import sys
import time
from typing import Any

from benchmarks._appdriver import (
    PaintWatch,
    Scenario,
    StallProbe,
    _arm,
    _bounded,
    _install,
    _once,
    next_emission,
    settle,
)


class _Watchdog:
    """With `watchdog` (a path): a thread that writes the GUI thread's stack whenever the stall
    probe has not ticked for 40 ms, so a stall in the figures can be traced to its code."""

    def __init__(self, path: str, probe: StallProbe) -> None:
        import threading

        self._path, self._probe = path, probe
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import traceback

        with open(self._path, "a", encoding="utf-8") as out:
            while not self._stop.wait(0.02):
                late = time.perf_counter() - self._probe._last
                if late > 0.04:
                    frame = sys._current_frames().get(self._main or 0)
                    if frame is not None:
                        out.write(f"--- {late * 1000:.0f} ms\n" + "".join(traceback.format_stack(frame)[-12:]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _profiler(params: dict[str, Any], probe: StallProbe) -> Any:
    return _Watchdog(params["watchdog"], probe) if params.get("watchdog") else None


def _dump(profiler: Any, params: dict[str, Any]) -> None:
    if profiler is not None:
        profiler.close()


async def scenario_open_big(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    from app.diagnostics import current_rss

    view = tab.message_view
    await settle(0.5)
    await tab.open_thread(params["empty_id"])
    await settle(0.5)
    gc.collect()
    rss_idle = current_rss()
    opens: list[float] = []
    stalls: list[float] = []
    worst: list[list[tuple[float, float]]] = []  # per open: (stall ms, seconds after the call)
    for attempt in range(int(params.get("repeats", 1))):
        if attempt:
            await tab.open_thread(params["empty_id"])
            await settle(0.3)
        watch = PaintWatch(view.viewport(), ready=lambda: tab.message_model.rowCount() >= 2)
        marks: dict[str, float] = {}
        _once(tab.message_model.modelReset, functools.partial(_arm, watch, marks, "filled"))
        probe = StallProbe(5)
        probe.start()
        profiler = _profiler(params, probe)
        t0 = time.perf_counter()
        await tab.open_thread(params["thread_id"])
        painted = await _bounded(watch.future, 120.0)
        watch.close()
        await settle(float(params.get("settle_s", 1.0)))
        probe.stop()
        _dump(profiler, params)
        opens.append((painted - t0) * 1000.0)
        stalls.append(probe.max_stall * 1000.0)
        worst.append([(round(st * 1000, 1), round(at - (t0 - probe._start), 3)) for st, at in probe.worst])
    rss_after = current_rss()
    return {"open_ms": opens, "max_stall_ms": stalls, "worst": worst, "rss_idle": rss_idle, "rss_after": rss_after}


async def scenario_paste_send(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    from PySide6.QtGui import QGuiApplication

    chars = int(params["chars"])
    unit = "Pasted line of a big log, with some words and numbers 0123456789.\n"
    text = (unit * (chars // len(unit) + 1))[:chars]
    await settle(0.5)
    tab.start_new_thread()
    await settle(0.3)
    QGuiApplication.clipboard().setText(text)
    del text
    gc.collect()
    await settle(0.2)

    probe = StallProbe(5)
    probe.start()
    profiler = _profiler(params, probe)
    t0 = time.perf_counter()
    tab.composer.edit.setFocus()
    tab.composer.edit.paste()
    paste_ms = (time.perf_counter() - t0) * 1000.0
    await settle(float(params.get("settle_s", 0.5)))
    probe.stop()
    _dump(profiler, params)
    paste_stall = probe.max_stall * 1000.0

    finished = next_emission(tab.replyFinished)
    probe = StallProbe(5)
    probe.start()
    profiler = _profiler(params, probe)
    t0 = time.perf_counter()
    tab.composer._submit()  # what Enter and the Send button do
    if not tab.is_streaming:
        raise RuntimeError(f"the send was refused: {tab.composer.attach_error_label.text()}")
    (message_id,) = await asyncio.wait_for(finished, timeout=120.0)
    reply_s = time.perf_counter() - t0
    _dump(profiler, params)
    await settle(float(params.get("settle_s", 0.5)))
    probe.stop()
    message = await tab.ctx.threads.get_message(message_id)
    rows = tab.message_model.rows
    user = await tab.ctx.threads.get_message(rows[0].id) if rows and rows[0].id > 0 else None
    return {
        "paste_ms": paste_ms,
        "paste_stall_ms": paste_stall,
        "send_stall_ms": probe.max_stall * 1000.0,
        "send_worst": [(round(st * 1000, 1), round(at, 2)) for st, at in probe.worst],
        "reply_s": reply_s,
        "status": message.status if message else None,
        "error": message.error if message else None,
        "stored_user_chars": len(user.content) if user else 0,
    }


SCENARIOS: dict[str, Scenario] = {
    "open-big": scenario_open_big,
    "paste-send": scenario_paste_send,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._bigdriver")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args(argv)

    import app.main as app_main

    _install(app_main, SCENARIOS[args.scenario], json.loads(args.params))
    return app_main.run(["--data-dir", args.data_dir, "--no-detect"])


if __name__ == "__main__":
    sys.exit(main())
