"""The composition root: parse arguments, build the services and the window, run the qasync loop.

Everything Switchboard writes goes to the data directory (`--data-dir`, default the platform's
user data dir): `switchboard.db`, `profiles.json`, `logs/switchboard.log`, `ui.ini`.
There are no global singletons: the services built here are handed to the UI in an AppContext.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__

if TYPE_CHECKING:  # asyncio is imported after the first paint: it is slow to import
    import asyncio

log = logging.getLogger("switchboard")

# Fallback for "seconds since process start" where /proc is not available.
_IMPORT_TIME = time.time()


def process_start_time() -> float:
    """Epoch seconds at which this process started (best effort)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat; two fields precede this slice
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return time.time() - uptime + start_ticks / ticks
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil  # type: ignore[import-untyped]  # optional

        return float(psutil.Process().create_time())
    except (ImportError, OSError):
        return _IMPORT_TIME


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("Switchboard", "Switchboard"))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="A desktop chat and media studio for OpenAI-compatible and Gemini endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None, help="where everything is stored")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in offline demo server and use it for this session",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PATH",
        help="save a PNG of the main window after its first paint, then quit",
    )
    parser.add_argument(
        "--quit-after-paint",
        action="store_true",
        default=bool(os.environ.get("SWITCHBOARD_QUIT_AFTER_PAINT")),
        help="print 'painted <seconds since process start> rss <bytes>' after the first paint and quit",
    )
    parser.add_argument("--theme", choices=("system", "light", "dark"), default="system")
    parser.add_argument(
        "--no-detect", action="store_true", help="do not probe loopback for local model servers"
    )
    return parser.parse_args(list(argv) if argv is not None else None)


def setup_logging(data_dir: Path) -> Path:
    """Rotating log file in data_dir/logs; returns its path. Keys are redacted by a filter."""
    import logging.handlers

    from app.core.errors import redact

    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "switchboard.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    class RedactFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            return True

    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    # httpx logs full request lines at INFO; keep them out (URLs may carry `?key=`).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path


def run(argv: Sequence[str] | None = None) -> int:
    """Start Switchboard; returns the process exit code."""
    try:
        args = parse_args(argv)  # --version and --help end here, before any Qt is loaded
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    data_dir: Path = (args.data_dir or default_data_dir()).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Logging is set up right after the first paint (its imports cost start-up time); until then
    # nothing is logged, and Python's default hook prints any error to stderr.
    log_path = data_dir / "logs" / "switchboard.log"

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui.theme import ThemeManager

    from app.ui.theme import STYLE_ARGS

    app = QApplication.instance() or QApplication(
        [sys.argv[0] if sys.argv else "switchboard", *STYLE_ARGS]
    )
    assert isinstance(app, QApplication)
    app.setApplicationName("Switchboard")
    app.setOrganizationName("Switchboard")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.switchboard.Switchboard")
    app.setQuitOnLastWindowClosed(False)
    theme = ThemeManager(app, args.theme, follow=False, style_from_args=True)
    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)

    # Step 1: paint the window shell before anything slow is imported or opened. The services
    # (qasync, SQLite, the keychain, httpx, the chat tab) load right after, into the same window.
    window, first_paint = _show_shell(app, settings, log_path)
    setup_logging(data_dir)
    log.info("Switchboard %s starting; data dir %s", __version__, data_dir)
    theme.follow_system()

    # Step 2: the asyncio loop on Qt, the services, the tabs.
    import asyncio

    import qasync  # type: ignore[import-untyped]

    from app.ui.crash import CrashHandler
    from app.ui.gc_guard import GuiThreadGC

    gc_guard = GuiThreadGC(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # qasync does not install these; without them breaking out of an SSE stream early warns
    # "async generator ignored GeneratorExit".
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    crash = CrashHandler(log_path, lambda: window)
    crash.install(loop)

    try:
        with loop:
            code = int(
                loop.run_until_complete(
                    _main(args, data_dir, settings, crash, window, first_paint)
                )
            )
            _drain(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            return code
    finally:
        gc_guard.stop()
        crash.uninstall()
        logging.getLogger().handlers.clear()


def _show_shell(app: Any, settings: Any, log_path: Path) -> tuple[Any, dict[str, float]]:
    """Show the main window's shell and wait (in a plain Qt loop, no asyncio yet) for its first
    paint. Returns the window and {"at": epoch seconds of the first paint, "rss": bytes then}."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    from app.diagnostics import current_rss
    from app.ui.main_window import MainWindow

    window = MainWindow(settings=settings, log_path=log_path)
    first_paint: dict[str, float] = {}
    waiter = QEventLoop()

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint and not first_paint:
                first_paint["at"] = time.time()
                # Let the rest of this paint cycle finish, then go on.
                QTimer.singleShot(0, waiter.quit)
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    # A bound, in case a platform never paints a hidden or minimised window.
    QTimer.singleShot(5000, waiter.quit)
    waiter.exec()
    window.removeEventFilter(watcher)
    first_paint.setdefault("at", time.time())
    first_paint["rss"] = float(current_rss())
    return window, first_paint


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await anything still scheduled (as `asyncio.run` does before closing)."""
    import asyncio

    for _ in range(3):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _main(
    args: argparse.Namespace,
    data_dir: Path,
    settings: Any,
    crash: Any,
    window: Any,
    first_paint: dict[str, float],
) -> int:
    import asyncio

    from app.core.providers import detect_local_servers
    from app.ui.demo_session import activate_demo, stop_demo

    ctx = build_context(
        data_dir,
        settings,
        on_task_error=lambda exc: crash.excepthook(type(exc), exc, exc.__traceback__),
    )

    async def shutdown_services() -> None:
        await shutdown_context(ctx, before_db=lambda: stop_demo(ctx))

    quit_after_paint = args.quit_after_paint or args.screenshot is not None
    # Before the chat tab reads anything: replies left `streaming` by a crash or a kill become
    # `interrupted` (one indexed UPDATE on the database thread), and old deleted threads go.
    await _recover(ctx)
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: _resolve(closed, None))
    window.attach(
        ctx,
        services_shutdown=shutdown_services,
        detect_local=None
        if (args.no_detect or quit_after_paint)
        else (lambda: detect_local_servers()),
    )
    if args.demo:
        await activate_demo(ctx)
    window.start_background_checks()
    ready_at = time.time()

    if quit_after_paint:
        if args.quit_after_paint:
            start = process_start_time()
            print(
                f"painted {first_paint['at'] - start:.3f} rss {int(first_paint['rss'])} "
                f"ready {ready_at - start:.3f} at {first_paint['at']:.6f} ready_at {ready_at:.6f}",
                flush=True,
            )
        if args.screenshot is not None:
            # Let the attached tabs lay out and paint before grabbing.
            await asyncio.sleep(0.3)
            path = Path(args.screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(path), "PNG"):
                log.error("could not save the screenshot to %s", path)
                await window.aclose()
                return 1
        window.close()

    await closed
    return 0


async def _recover(ctx: Any) -> None:
    n = await ctx.chat.recover_interrupted()
    if n:
        log.info("marked %d interrupted replies", n)
    # Threads deleted in an earlier session (their Undo has long expired) go for good now;
    # ones deleted from now on stay restorable until the next start.
    purged = await ctx.threads.purge_deleted(older_than=time.time())
    if purged:
        log.info("purged %d deleted threads", purged)


def build_context(
    data_dir: Path, settings: Any, *, on_task_error: Any = None, secrets: Any = None
) -> Any:
    """Build every service over `data_dir` and the AppContext holding them."""
    from app.core.errors import ConfigError
    from app.core.providers import ProfileRepository
    from app.core.secrets import SecretStore
    from app.core.services.chat import ChatService
    from app.core.services.clients import ClientPool
    from app.core.services.tasks import TaskOwner
    from app.core.store.db import Database
    from app.core.store.personas import PersonaRepository
    from app.core.store.settings import SettingsRepository
    from app.core.store.threads import ThreadRepository
    from app.ui.context import AppContext, AppEvents

    events = AppEvents()
    db = Database.open(data_dir / "switchboard.db")
    threads = ThreadRepository(db)
    profiles = ProfileRepository(data_dir / "profiles.json")
    secret_store = secrets if secrets is not None else SecretStore()
    # A weak reference: the pool must not keep the context alive in a reference cycle (a cycle
    # would leave its QObjects to the cyclic GC, which may run on a worker thread).
    ctx_ref: list[weakref.ref[AppContext]] = []

    def lookup(profile_id: str) -> Any:
        ctx = ctx_ref[0]() if ctx_ref else None
        return ctx.profile(profile_id) if ctx is not None else None

    clients = ClientPool(
        lookup,
        secret_store,
        on_rate_limit=lambda pid, info: events.rateLimitChanged.emit(pid, info),
    )
    chat = ChatService(threads, clients.get)
    tasks = TaskOwner("app", on_error=on_task_error)

    try:
        profile_list = profiles.load()
        active = profiles.active_id or ""
    except ConfigError as exc:
        log.warning("profiles could not be loaded: %s", exc)
        profile_list, active = [], ""
        events_msg = exc.user_message
    else:
        events_msg = ""
    if not active and profile_list:
        active = profile_list[0].id
    ctx = AppContext(
        data_dir=data_dir,
        db=db,
        threads=threads,
        chat=chat,
        profiles=profiles,
        secrets=secret_store,
        clients=clients,
        tasks=tasks,
        settings=settings,
        events=events,
        personas=PersonaRepository(db),
        app_settings=SettingsRepository(db),
        profile_list=profile_list,
        active_profile_id=active,
    )
    ctx_ref.append(weakref.ref(ctx))
    if events_msg:
        _post_status(events, events_msg)
    return ctx


def _post_status(events: Any, text: str) -> None:
    """Post a status message once the window is listening."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(500, lambda: events.statusMessage.emit(text))


async def shutdown_context(ctx: Any, *, before_db: Any = None) -> None:
    """Staged shutdown of the services: tasks, HTTP clients, (the demo server), database.

    Each stage runs even if an earlier one failed; the first failure is re-raised at the end.
    """
    import asyncio

    stages = [ctx.tasks.aclose, ctx.clients.aclose]
    if before_db is not None:
        stages.append(before_db)
    errors: list[BaseException] = []
    for stage in stages:
        try:
            await stage()
        except Exception as exc:  # keep shutting down; report afterwards
            log.exception("shutdown stage %s failed", getattr(stage, "__qualname__", stage))
            errors.append(exc)
    await asyncio.to_thread(ctx.db.close)
    ctx.settings.sync()
    if errors:
        raise errors[0]
