"""Helpers shared by the packaging tests: the Qt-import scan, the bundle's rules, ELF reading."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "switchboard" / ("switchboard.exe" if os.name == "nt" else "switchboard")


def qt_modules_imported(root: Path) -> dict[str, str]:
    """{"QtWidgets": "app/ui/x.py", ...}: every PySide6.Qt* module imported anywhere in root."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "PySide6":
                    names = [f"PySide6.{a.name}" for a in node.names]
                else:
                    names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "PySide6" and len(parts) > 1 and parts[1].startswith("Qt"):
                    found.setdefault(parts[1], str(path.relative_to(root.parent)))
    return found


def bundle_rules() -> ModuleType:
    """packaging/bundle_rules.py, the lists and `keep()` that pyinstaller.spec applies."""
    spec = importlib.util.spec_from_file_location(
        "switchboard_bundle_rules", ROOT / "packaging" / "bundle_rules.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def require_bundle() -> None:
    """Skip when dist/ holds no bundle, or fail when scripts/test.sh built one
    (SWITCHBOARD_REQUIRE_BUNDLE=1) and it is missing."""
    import pytest

    if BUNDLE.exists():
        return
    if os.environ.get("SWITCHBOARD_REQUIRE_BUNDLE") == "1":
        pytest.fail(f"no bundle at {BUNDLE} although scripts/test.sh built one")
    pytest.skip("no bundle in dist/ (bash scripts/bundle.sh)")
