"""The log file never holds a registered key: not in the message, not in the traceback, not in
the masked or other forms `errors.redact` knows (the formatter redacts the finished text)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import forget_secret, redact, register_secret
from app.log_setup import setup_logging

KEY = "sk-test-Zq81LmN0pQrStUvWxYz1234567890abc"


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Path, logging.Handler]]:
    root = logging.getLogger()
    before = list(root.handlers)
    last_resort = logging.lastResort
    register_secret(KEY)
    setup = setup_logging(tmp_path / "logs", redact)
    added = [h for h in root.handlers if h not in before]
    assert setup.path is not None and setup.problem is None and len(added) == 1
    try:
        yield setup.path, added[0]
    finally:
        forget_secret(KEY)
        for handler in added:
            root.removeHandler(handler)
            handler.close()
        logging.lastResort = last_resort


def _raise_with_key() -> None:
    api_key = KEY  # a local in the frame: tracebacks with locals would show it too
    raise RuntimeError(f"request failed with Authorization: Bearer {api_key}")


def test_an_exception_carrying_a_key_is_logged_without_it(
    logged: tuple[Path, logging.Handler],
) -> None:
    path, handler = logged
    log = logging.getLogger("switchboard.test")
    try:
        _raise_with_key()
    except RuntimeError:
        log.exception("call with key %s failed", KEY)
    log.error("stack too", stack_info=True, extra={})
    log.warning("upper %s", KEY.upper())
    handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError" in text and "[redacted]" in text
    assert KEY not in text
    for form in redact_forms():
        assert form not in text, form


def redact_forms() -> list[str]:
    """The forms of KEY that `redact` removes (the core may extend it; test what it covers)."""
    candidates = [
        KEY,
        KEY.upper(),
        KEY[:8] + "..." + KEY[-4:],
        base64.b64encode(KEY.encode()).decode(),
    ]
    return [c for c in candidates if c not in redact(f"x {c} y")]


def test_an_unwritable_log_folder_falls_back_instead_of_raising(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    root = logging.getLogger()
    before = list(root.handlers)
    last_resort = logging.lastResort
    try:
        setup = setup_logging(tmp_path / "logs", redact)
        assert setup.problem is not None and "cannot be written" in setup.problem
        assert setup.path is None or not setup.path.is_relative_to(tmp_path)
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        logging.lastResort = last_resort


def test_the_stderr_last_resort_handler_redacts_tracebacks_too(
    logged: tuple[Path, logging.Handler],
) -> None:
    import sys

    assert logging.lastResort is not None
    try:
        _raise_with_key()
    except RuntimeError:
        record = logging.LogRecord(
            "switchboard", logging.ERROR, __file__, 1, "failed with %s", (KEY,), sys.exc_info()
        )
    text = logging.lastResort.format(record)
    assert "Traceback" in text and KEY not in text
