"""Drive the real app through one benchmark scenario, in its own process.

    python -m benchmarks._appdriver SCENARIO --data-dir DIR [--params JSON]

The app is started by `app.main.run(["--data-dir", DIR, "--no-detect"])` unchanged (real
QApplication, qasync loop, AppContext, MainWindow and ChatTab over SQLite and httpx); the only
addition is a wrapper around `app.main._main` in this process, which runs the scenario once the
Chat tab exists, prints `result <json>` and closes the window. `benchmarks.chat` starts this
module as a subprocess, so what is measured (CPU time, RSS, stalls) is the app process alone.

Scenarios (each reads its parameters from `--params`):

- `stream`   send prompts asking for N tokens (`tokens`: [N, ...]) in new threads, each while a
             5 ms Qt timer on the GUI thread records the longest event-loop stall; reports the
             wall and CPU time from `send()` to `replyFinished`, and the stored reply.
- `open`     open an empty thread (`empty_id`), measure RSS, then open the big thread
             (`thread_id`): time from the `open_thread` call to the message view's first paint
             after the model was filled (with the GUI thread's CPU time over the same span,
             less noisy on a loaded machine, and the rows read and laid out), and RSS after it.
- `sidebar`  insert `threads` threads into the live database (worker thread), then time
             `reload_threads()` to the sidebar's first paint showing its first screen of the
             newest threads (the sidebar reads one page; more as it scrolls), `repeats`
             times; then check the list reaches the last thread by fetchMore, page by page.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Scenario = Callable[[Any, Any, dict[str, Any]], Awaitable[dict[str, Any]]]


def _emit(kind: str, payload: Any) -> None:
    print(f"{kind} {json.dumps(payload)}", flush=True)


# --- helpers that run on the GUI thread ---------------------------------------------------------


class StallProbe:
    """A precise Qt timer on the GUI thread; the longest gap beyond its interval is the stall."""

    def __init__(self, interval_ms: int = 5, sample: Callable[[], float] | None = None) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000.0
        self.max_stall = 0.0
        self.stalls_over_16ms = 0
        self.ticks = 0
        self.worst: list[tuple[float, float]] = []  # (stall, seconds since start), largest first
        self.max_sample = 0.0
        self._sample = sample
        self._start = 0.0
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def _tick(self) -> None:
        now = time.perf_counter()
        stall = now - self._last - self.interval
        self._last = now
        self.ticks += 1
        if stall > 0.016:
            self.stalls_over_16ms += 1
            self.worst = sorted([*self.worst, (stall, now - self._start)], reverse=True)[:5]
        self.max_stall = max(self.max_stall, stall)
        if self._sample is not None and self.ticks % 10 == 0:
            self.max_sample = max(self.max_sample, self._sample())


def next_emission(signal: Any, predicate: Callable[..., bool] | None = None) -> Any:
    """A future resolved with the args of `signal`'s next emission (that `predicate` accepts)."""
    import asyncio

    future = asyncio.get_running_loop().create_future()

    def slot(*args: Any) -> None:
        if future.done() or (predicate is not None and not predicate(*args)):
            return
        future.set_result(args)

    signal.connect(slot)
    future.add_done_callback(lambda _f: signal.disconnect(slot))
    return future


class PaintWatch:
    """Resolves `future` with the time of the first Paint of `widget` once `armed` is True."""

    def __init__(self, widget: Any, ready: Callable[[], bool] = lambda: True) -> None:
        import asyncio

        from PySide6.QtCore import QEvent, QObject

        self.armed = False
        self.future = asyncio.get_running_loop().create_future()
        watch = self

        class Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if (
                    event.type() == QEvent.Type.Paint
                    and watch.armed
                    and not watch.future.done()
                    and ready()
                ):
                    # Stamped after this paint has run: the frame is drawn.
                    from PySide6.QtCore import QTimer

                    QTimer.singleShot(0, watch._resolve)
                    watch.armed = False
                return False

        self._resolved_at = 0.0
        self._filter = Filter()
        self._widget = widget
        widget.installEventFilter(self._filter)

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(time.perf_counter())

    def close(self) -> None:
        self._widget.removeEventFilter(self._filter)


async def settle(seconds: float = 0.3) -> None:
    import asyncio

    await asyncio.sleep(seconds)


# --- scenarios ------------------------------------------------------------------------------


async def scenario_stream(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from app.core.demo.text import count_tokens

    await settle(0.5)
    results = []
    for n in params["tokens"]:
        tab.start_new_thread()
        await settle(0.2)
        gc.collect()
        prompt = f"Write {n} tokens about event loops and rendering."
        probe = StallProbe(5, sample=lambda: _streaming_cost(tab))
        finished = next_emission(tab.replyFinished)
        probe.start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        if not tab.send(prompt):
            raise RuntimeError("ChatTab.send refused the prompt")
        (message_id,) = await asyncio.wait_for(finished, timeout=max(60.0, n / 100.0))
        t1, cpu1 = time.perf_counter(), time.process_time()
        probe.stop()
        message = await tab.ctx.threads.get_message(message_id)
        results.append(
            {
                "tokens": n,
                "wall_s": t1 - t0,
                "cpu_s": cpu1 - cpu0,
                "max_stall_ms": probe.max_stall * 1000.0,
                "stalls_over_16ms": probe.stalls_over_16ms,
                "ticks": probe.ticks,
                "worst_stalls": [(round(st * 1000, 1), round(at, 2)) for st, at in probe.worst],
                "max_render_cost_ms": probe.max_sample * 1000.0,
                "status": message.status if message else None,
                "stored_tokens": count_tokens(message.content) if message else 0,
            }
        )
    return {"runs": results}


def _streaming_cost(tab: Any) -> float:
    """The message view's own measure of re-rendering the streaming row, in seconds (0 if none)."""
    cost = getattr(tab.message_view.message_delegate, "streaming_cost", None)
    if cost is None:
        return 0.0
    for row in reversed(tab.message_model.rows):
        if row.status == "streaming":
            return float(cost(row.id))
    return 0.0


async def scenario_open(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    from app.diagnostics import current_rss

    view = tab.message_view
    await settle(0.5)
    await tab.open_thread(params["empty_id"])
    await settle(0.5)
    gc.collect()
    await settle(0.2)
    rss_idle = current_rss()

    opens: list[float] = []
    cpu: list[float] = []
    layouts: list[int] = []
    phases: list[dict[str, float]] = []
    rss_after = 0
    delegate = view.message_delegate
    for attempt in range(int(params.get("repeats", 1))):
        if attempt:
            await tab.open_thread(params["empty_id"])
            await settle(0.3)
        # The view holds a window of the path (its newest rows): painted once it has rows.
        watch = PaintWatch(view.viewport(), ready=lambda: tab.message_model.rowCount() > 0)
        marks: dict[str, float] = {}
        _once(tab.message_model.modelReset, functools.partial(_arm, watch, marks, "filled"))
        built0 = delegate.layouts_built
        t0, cpu0 = time.perf_counter(), time.thread_time()
        await tab.open_thread(params["thread_id"])
        marks["returned"] = time.perf_counter()
        painted = await _bounded(watch.future, 30.0)
        cpu.append((time.thread_time() - cpu0) * 1000.0)
        layouts.append(delegate.layouts_built - built0)
        watch.close()
        opens.append((painted - t0) * 1000.0)
        phases.append(_phases(t0, marks, painted))
        if attempt == 0:
            await settle(0.5)
            rss_after = current_rss()
    return {
        "open_ms": opens,
        "phases_ms": phases,
        "gui_cpu_ms": cpu,
        "layouts_built": layouts,
        "rss_idle": rss_idle,
        "rss_after": rss_after,
        "rows": tab.message_model.rowCount(),
    }


async def scenario_sidebar(window: Any, tab: Any, params: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from PySide6.QtCore import QModelIndex, Qt
    from PySide6.QtWidgets import QAbstractItemView

    n = int(params["threads"])
    await settle(0.5)
    await tab.ctx.db.run(_insert_threads, n)
    view = getattr(tab.thread_list, "list", None)  # the sidebar's thread list view
    if not isinstance(view, QAbstractItemView):
        raise TypeError("the sidebar has no `list` item view")
    # The listing as the store gives it, all at once: what the sidebar must show page by page.
    full = await tab.ctx.threads.list_thread_summaries(include_archived=False)
    newest = full[0].id if full else None

    def first_screen() -> bool:
        # The newest threads fill the viewport (or all of them are there, if fewer).
        model = view.model()
        if model is None or model.rowCount() == 0 or newest is None:
            return False
        if model.index(0, 0).data(Qt.ItemDataRole.UserRole + 1) != newest:
            return False
        height = max(1, view.sizeHintForRow(0))
        screen = min(len(full), view.viewport().height() // height + 1)
        return model.rowCount() >= screen

    times: list[float] = []
    phases: list[dict[str, float]] = []
    first_rows = 0
    for _ in range(int(params.get("repeats", 3))):
        watch = PaintWatch(view.viewport(), ready=first_screen)
        marks: dict[str, float] = {}
        _once(tab.threadsReloaded, functools.partial(_arm, watch, marks, "filled"))
        t0 = time.perf_counter()
        await tab.reload_threads()
        marks["returned"] = time.perf_counter()
        painted = await _bounded(watch.future, 30.0)
        watch.close()
        times.append((painted - t0) * 1000.0)
        phases.append(_phases(t0, marks, painted))
        first_rows = view.model().rowCount()
        await settle(0.3)
    # The database part alone, for the note: the first pages' queries on the DB thread.
    t0 = time.perf_counter()
    await tab.ctx.threads.sidebar_first_pages(first_rows or 500)
    fetch_ms = (time.perf_counter() - t0) * 1000.0
    # Reaching the last thread: fetchMore (as a scroll to the end does) until nothing is left.
    model = view.model()
    t0 = time.perf_counter()
    pages = 0
    while model.canFetchMore(QModelIndex()):
        loaded = asyncio.get_running_loop().create_future()
        _once(model.pageLoaded, functools.partial(_settle_future, loaded))
        model.fetchMore(QModelIndex())
        await _bounded(loaded, 30.0)
        pages += 1
    all_ms = (time.perf_counter() - t0) * 1000.0
    ids = [model.index(i, 0).data(Qt.ItemDataRole.UserRole + 1) for i in range(model.rowCount())]
    return {
        "reload_ms": times,
        "phases_ms": phases,
        "fetch_ms": fetch_ms,
        "first_rows": first_rows,
        "rows": model.rowCount(),
        "order_ok": ids == [r.id for r in full],
        "pages": pages,
        "fetch_all_ms": all_ms,
    }


def _settle_future(future: Any) -> None:
    if not future.done():
        future.set_result(None)


def _once(signal: Any, fn: Callable[[], None]) -> None:
    """Call `fn` synchronously at `signal`'s next emission, then disconnect."""

    def slot(*_args: Any) -> None:
        signal.disconnect(slot)
        fn()

    signal.connect(slot)


def _arm(watch: PaintWatch, marks: dict[str, float], name: str) -> None:
    marks[name] = time.perf_counter()
    watch.armed = True


def _phases(t0: float, marks: dict[str, float], painted: float) -> dict[str, float]:
    """Milliseconds from the call to the model being filled, and from then to the paint."""
    filled = marks.get("filled", painted)
    return {"to_filled": (filled - t0) * 1000.0, "to_paint": (painted - filled) * 1000.0}


def _insert_threads(conn: Any, n: int) -> None:
    """`n` threads with realistic titles and spread-out activity, in one transaction."""
    import random

    rng = random.Random(7)
    topics = (
        "Refactor the parser",
        "Trip to Lisbon",
        "SQL window functions",
        "Bread starter",
        "Rust lifetimes",
        "Quarterly report draft",
        "Fix flaky test",
        "Birthday ideas",
        "Explain transformers",
        "Budget spreadsheet",
        "Docker networking",
        "Poem about rain",
    )
    now = time.time()
    rows = []
    for i in range(n):
        title = f"{topics[rng.randrange(len(topics))]} #{i}"
        updated = now - rng.uniform(0, 3 * 365 * 86400)
        rows.append((title, "{}", 1 if i % 500 == 0 else 0, updated - 60, updated))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO threads (title, params_json, pinned, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")


async def _bounded(future: Any, timeout: float) -> Any:
    import asyncio

    return await asyncio.wait_for(future, timeout)


SCENARIOS: dict[str, Scenario] = {
    "stream": scenario_stream,
    "open": scenario_open,
    "sidebar": scenario_sidebar,
}


# --- running the app ------------------------------------------------------------------------


def _install(app_main: Any, scenario: Scenario, params: dict[str, Any]) -> None:
    original_main = app_main._main

    async def main(
        args: Any, data_dir: Any, settings: Any, crash: Any, window: Any, first_paint: Any
    ) -> int:
        import asyncio

        async def drive() -> None:
            from app.ui.async_bridge import signal_future

            try:
                if window.ctx is None:  # the services are attached after the first paint
                    await signal_future(window.attached)
                tab = window.chat_tab
                if tab is None or not hasattr(tab, "open_thread"):
                    raise RuntimeError("no Chat tab (is a profile active?)")
                _emit("result", await scenario(window, tab, params))
            except Exception:  # noqa: BLE001 (any failure is reported to the parent)
                _emit("error", traceback.format_exc())
            finally:
                window.close()

        driver = asyncio.ensure_future(drive())
        try:
            return int(await original_main(args, data_dir, settings, crash, window, first_paint))
        finally:
            if not driver.done():
                driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)

    app_main._main = main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._appdriver")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args(argv)

    import app.main as app_main

    _install(app_main, SCENARIOS[args.scenario], json.loads(args.params))
    return app_main.run(["--data-dir", args.data_dir, "--no-detect"])


if __name__ == "__main__":
    sys.exit(main())
