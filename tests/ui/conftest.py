"""Fixtures for UI tests: a qasync loop on pytest-qt's QApplication, and a real AppContext.

- `qloop`: a qasync QEventLoop over the `qapp`, with asyncio's async-generator hooks installed.
- `arun(coro, timeout=10)`: run a coroutine on that loop with `wait_for` (see `run_on`).
  Tests drive the UI from inside coroutines and await signals/futures; nothing nests a loop.
- `app_ctx`: an AppContext built by `app.main.build_context` over a temporary data dir: real
  SQLite, a SecretStore over the in-memory keyring below, and a real DemoServer on loopback.
- `window`: a MainWindow over `app_ctx`, built inside the loop (the chat tab spawns work).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

# Must be set before the QApplication exists (pytest-qt creates it lazily in `qapp`).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from keyring.backend import KeyringBackend

from tests.memory_keyring import MemoryKeyring


def run_on[T](
    loop: asyncio.AbstractEventLoop, coro: Awaitable[T], timeout: float | None = None
) -> T:
    """Run `coro` on the (already running) qasync loop until it is done; return its result.

    The loop is made with `already_running=True`, so asyncio sees it as running for the whole
    test: pytest-qt's own `processEvents()` between test phases may step tasks, and they must
    find a running loop. Here a plain Qt event loop spins until the future is done; this is
    called from synchronous test code only, never from inside a coroutine.
    """
    from PySide6.QtCore import QEventLoop

    fut = asyncio.ensure_future(
        asyncio.wait_for(coro, timeout) if timeout is not None else coro, loop=loop
    )
    if not fut.done():
        spin = QEventLoop()
        fut.add_done_callback(lambda _f: spin.quit())
        spin.exec()
    return fut.result()


def drain_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await whatever is still scheduled, as `asyncio.run` does before closing.

    A task that was created but never stepped would otherwise be garbage-collected later as
    "coroutine ... was never awaited", in some other test.
    """
    for _ in range(3):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        run_on(loop, asyncio.gather(*pending, return_exceptions=True))


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    old_hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    try:
        yield loop
    finally:
        try:
            drain_loop(loop)
            run_on(loop, loop.shutdown_asyncgens())
            run_on(loop, loop.shutdown_default_executor())
        finally:
            sys.set_asyncgen_hooks(*old_hooks)
            # Not loop.stop(): it calls QApplication.exit(), which with no exec() running makes
            # the next test's first QEventLoop.exec() return at once. Clear qasync's flag instead.
            loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    qapp.aboutToQuit.disconnect(loop._after_run_forever)  # type: ignore[attr-defined]
                except (RuntimeError, TypeError):
                    pass
            asyncio.events._set_running_loop(None)
            loop.close()
            asyncio.set_event_loop(None)
            # Collect cycles now, on the GUI thread: left to chance, the cyclic GC may run on
            # a worker thread (the database's, the demo server's) and destroy QObjects there.
            gc.collect()


@pytest.fixture
def arun(qloop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Run a coroutine on the qasync loop, failing after `timeout` seconds."""

    def run[T](coro: Awaitable[T], timeout: float = 10.0) -> T:
        return run_on(qloop, coro, timeout)

    return run


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def secret_store(keyring_backend: KeyringBackend) -> Any:
    from app.core.secrets import SecretStore

    return SecretStore("switchboard-test", keyring_backend=keyring_backend, environ={})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def demo_server() -> Iterator[Any]:
    from app.core.demo.server import DemoServer

    server = DemoServer(host="127.0.0.1", port=0, token_rate=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_ctx(
    data_dir: Path, secret_store: Any, demo_server: Any, arun: Callable[..., Any]
) -> Iterator[Any]:
    from PySide6.QtCore import QSettings

    from app.main import build_context, shutdown_context

    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    ctx = build_context(data_dir, settings, secrets=secret_store)
    ctx.demo = demo_server
    try:
        yield ctx
    finally:
        arun(shutdown_context(ctx))
        ctx.demo = None  # the demo_server fixture stops it


@pytest.fixture
def make_window(app_ctx: Any, arun: Callable[..., Any], qtbot: Any) -> Iterator[Callable[..., Any]]:
    """Build MainWindows inside the loop; each is closed (staged) at teardown."""
    from app.ui.main_window import MainWindow

    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        async def build() -> Any:
            return MainWindow(app_ctx, **kwargs)

        win = arun(build())
        # Not qtbot.addWidget: pytest-qt would close and delete it before this fixture's
        # teardown, in the middle of the staged (async) close.
        made.append(win)
        return win

    yield make
    for win in made:
        arun(win.aclose())
        win.deleteLater()


@pytest.fixture
def window(make_window: Callable[..., Any]) -> Any:
    return make_window()


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: Any) -> Iterator[str]:
    """Each screenshot test once in the light and once in the dark theme."""
    from tests.ui.helpers import applied_theme

    with applied_theme(qapp, request.param) as mode:
        yield mode


# --- leak check (as napari's conftest does) ----------------------------------------------------
# A UI test that leaves a top-level widget or a running QTimer behind fails: a leaked widget keeps
# its tab's services alive into the next test, and a leaked timer fires into a closed window.


@pytest.fixture(autouse=True)
def _track_timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    from PySide6.QtCore import QTimer

    started: list[Any] = []
    original_start = QTimer.start

    def start(self: QTimer, *args: Any) -> None:
        started.append(self)
        original_start(self, *args)

    monkeypatch.setattr(QTimer, "start", start)
    yield started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    from PySide6.QtWidgets import QApplication

    from tests.ui.helpers import find_leaks

    timers = getattr(item, "funcargs", {}).get("_track_timers", [])
    result = yield  # every fixture is torn down here: widgets closed, windows deleteLater'd
    app = QApplication.instance()
    if isinstance(app, QApplication):
        problems = find_leaks(app, timers, clean_up=True)
        if problems:
            pytest.fail(f"{item.nodeid} " + "; ".join(problems), pytrace=False)
    return result
