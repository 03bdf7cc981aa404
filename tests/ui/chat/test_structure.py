"""The chat tab's shape, checked on the sources: controllers never import their tab, no module
imports another's private name, and the draft records stay free of Qt. (The import-linter
contracts in pyproject.toml check the layers and cycles; these read the code as written.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[3] / "app"
CHAT = APP / "ui" / "chat"


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in `path`, TYPE_CHECKING blocks included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_no_chat_module_but_the_package_imports_the_tab() -> None:
    allowed = {"chat_tab.py", "__init__.py"}
    offenders = [
        f"{path.name} imports {module}"
        for path in sorted(CHAT.glob("*.py"))
        if path.name not in allowed
        for module, _names in _imports(path)
        if module == "app.ui.chat.chat_tab"
    ]
    assert offenders == []


def test_no_module_imports_a_private_name_of_another() -> None:
    offenders = [
        f"{path.relative_to(APP.parent)}: from {module} import {name}"
        for path in sorted(APP.rglob("*.py"))
        for module, names in _imports(path)
        if module.startswith("app")
        for name in names
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    ]
    assert offenders == []


# The tab's private state reached through an attribute: `tab._stream`, `self._tab._spawn`,
# `self._tab()._closed` (a module's own `self._tab` getter is its business).
PRIVATE_OF_TAB = re.compile(r"(?:\b|_)tab(\(\))?\._\w")


def test_controllers_do_not_reach_into_the_tab() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(CHAT.glob("*.py"))
        if path.name != "chat_tab.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE_OF_TAB.search(line)
    ]
    assert offenders == []


def test_the_thread_draft_is_plain_python() -> None:
    qt = [m for m, _ in _imports(CHAT / "thread_draft.py") if m.split(".")[0] in ("PySide6", "shiboken6", "qasync")]
    assert qt == []
