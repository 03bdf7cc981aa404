"""The declared PySide6 wheels hold every Qt module app/ imports (scanned with ast, checked
against each wheel's RECORD), and the full `pyside6` meta-package is not what is declared."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from tests.packaging.helpers import qt_modules_imported

ROOT = Path(__file__).resolve().parents[2]


def declared_pyside_wheels() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0] for d in project["dependencies"]]
    return [n for n in names if n.lower().startswith(("pyside6", "shiboken6"))]


def modules_in(wheels: list[str]) -> set[str]:
    """Qt binding modules (PySide6/QtX.abi3.so, .pyd, ...) listed in these wheels' RECORD."""
    modules: set[str] = set()
    for wheel in wheels:
        for file in metadata.distribution(wheel).files or []:
            parts = file.parts
            if len(parts) == 2 and parts[0] == "PySide6" and parts[1].startswith("Qt"):
                if parts[1].endswith((".so", ".pyd")):
                    modules.add(parts[1].split(".")[0])
    return modules


def missing_modules(imported: dict[str, str], wheels: list[str]) -> dict[str, str]:
    have = modules_in(wheels)
    return {m: where for m, where in imported.items() if m not in have}


def test_every_imported_qt_module_is_in_a_declared_wheel() -> None:
    wheels = declared_pyside_wheels()
    assert wheels, "pyproject declares no PySide6 wheel"
    imported = qt_modules_imported(ROOT / "app")
    assert {"QtCore", "QtGui", "QtWidgets"} <= set(imported)
    missing = missing_modules(imported, wheels)
    assert not missing, (
        f"app/ imports Qt modules that {wheels} do not contain: {missing}; declare the wheel "
        "that has them (pyside6-addons, ...) in pyproject.toml"
    )


def test_the_check_sees_a_module_the_wheels_lack() -> None:
    # QtWebEngineCore is only in pyside6-webengine, QtMultimedia only in pyside6-addons.
    imported = {"QtWebEngineCore": "x.py", "QtMultimedia": "y.py", "QtCore": "z.py"}
    assert missing_modules(imported, ["PySide6_Essentials"]) == {
        "QtWebEngineCore": "x.py",
        "QtMultimedia": "y.py",
    }
    assert missing_modules(imported, ["PySide6_Essentials", "PySide6_Addons"]) == {
        "QtWebEngineCore": "x.py"
    }


def test_the_scan_reads_every_import_form(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "import PySide6.QtSvg\nfrom PySide6 import QtNetwork, __version__\n"
        "def f():\n    from PySide6.QtMultimedia import QMediaPlayer\n",
        encoding="utf-8",
    )
    assert set(qt_modules_imported(pkg)) == {"QtSvg", "QtNetwork", "QtMultimedia"}


def test_the_full_pyside6_package_is_not_declared() -> None:
    wheels = [w.lower() for w in declared_pyside_wheels()]
    assert "pyside6" not in wheels
    assert "pyside6-essentials" in wheels
