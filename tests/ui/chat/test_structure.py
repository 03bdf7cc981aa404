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
    allowed = {CHAT / "chat_tab.py", CHAT / "__init__.py"}
    offenders = [
        f"{path.relative_to(CHAT)} imports {module}"
        for path in sorted(CHAT.rglob("*.py"))
        if path not in allowed
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
        f"{path.relative_to(CHAT)}:{number}: {line.strip()}"
        for path in sorted(CHAT.rglob("*.py"))
        if path.name != "chat_tab.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE_OF_TAB.search(line)
    ]
    assert offenders == []


def test_the_chat_package_is_cut_into_its_parts() -> None:
    # Each part of the screen is its own sub-package; the tab's top level stays small.
    parts = {p.name for p in CHAT.iterdir() if (p / "__init__.py").is_file()}
    assert {"sidebar", "messages", "composer"} <= parts
    assert not (CHAT / "message_view.py").exists() and not (CHAT / "thread_list.py").exists()


def test_the_thread_draft_is_plain_python() -> None:
    qt = [m for m, _ in _imports(CHAT / "thread_draft.py") if m.split(".")[0] in ("PySide6", "shiboken6", "qasync")]
    assert qt == []


TESTS = APP.parent / "tests"


def _test_module_imports(root: Path) -> list[str]:
    """Every `module imports test-module` pair under `root` (relative imports resolved)."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        package = ".".join(path.relative_to(root.parent).parent.parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                prefix = f"{base}." if node.level else ""
                modules = [f"{prefix}{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            found.extend(
                f"{path.relative_to(root.parent)}:{node.lineno} imports {module}"
                for module in modules
                if module.split(".")[0] == "tests" and module.rsplit(".", 1)[-1].startswith("test_")
            )
    return found


def test_no_test_module_imports_another_test_module() -> None:
    # Shared helpers live in tests/<dir>/helpers.py: importing a test module runs its
    # collection-time code twice and ties unrelated tests together.
    assert _test_module_imports(TESTS) == []


def test_the_check_sees_absolute_relative_and_plain_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "tests" / "ui"
    pkg.mkdir(parents=True)
    (pkg / "helpers.py").write_text("from tests.ui.other import thing\n", encoding="utf-8")
    (pkg / "test_a.py").write_text(
        "from tests.ui.test_b import make\nfrom .test_c import open_it\nimport tests.test_d\n"
        "from . import test_e\nfrom tests.ui.helpers import fine\n",
        encoding="utf-8",
    )
    found = _test_module_imports(tmp_path / "tests")
    assert [line.split(" imports ")[1] for line in found] == [
        "tests.ui.test_b",
        "tests.ui.test_c",
        "tests.test_d",
        "tests.ui.test_e",
    ]
