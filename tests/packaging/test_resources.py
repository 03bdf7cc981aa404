"""`app.resources.resource_dir()` finds the top-level resources/ folder in each kind of
install: the checkout, an editable install, a wheel, and the frozen bundle (when built)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from app.resources import MARKER, ResourcesMissing, icon_path, resource_dir
from tests.packaging.helpers import BUNDLE, ROOT, require_bundle

# Run with -S: the test venv's own editable install of some other checkout must not answer.
PROBE = (
    "import site, sys; {setup}; import app.resources as r; "
    "print(r.__file__); print(r.resource_dir()); print(r.icon_path().is_file())"
)


def _build(hook: str, out: Path) -> Path:
    """Run setuptools' PEP 517/660 hook on the checkout; returns the wheel made."""
    code = f"import setuptools.build_meta as b; print(b.{hook}({str(out)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


def _probe(setup: str, cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-S", "-c", PROBE.format(setup=setup)],
        cwd=cwd, capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_checkout_finds_the_top_level_folder() -> None:
    assert resource_dir() == ROOT / "resources"
    assert icon_path() == ROOT / "resources" / MARKER
    assert icon_path().read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_wheel_carries_resources_inside_the_package(tmp_path: Path) -> None:
    wheel = _build("build_wheel", tmp_path / "wheel")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"app/_resources/{MARKER.as_posix()}" in names
    site_dir = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site_dir)
    module, found, has_icon = _probe(f"sys.path.insert(0, {str(site_dir)!r})", tmp_path)
    assert Path(module).parent == site_dir / "app"
    assert Path(found) == site_dir / "app" / "_resources"
    assert has_icon == "True"


def test_editable_install_uses_the_checkout(tmp_path: Path) -> None:
    wheel = _build("build_editable", tmp_path / "wheel")
    site_dir = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site_dir)
    assert not any("_resources" in n for n in zipfile.ZipFile(wheel).namelist())
    module, found, has_icon = _probe(f"site.addsitedir({str(site_dir)!r})", tmp_path)
    assert Path(module).resolve() == ROOT / "app" / "resources.py"
    assert Path(found) == ROOT / "resources"
    assert has_icon == "True"


def test_a_folder_without_the_marker_is_not_taken(tmp_path: Path) -> None:
    fake = tmp_path / "app"
    fake.mkdir()
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "resources.py").write_bytes((ROOT / "app" / "resources.py").read_bytes())
    (tmp_path / "resources").mkdir()  # an unrelated folder of that name
    done = subprocess.run(
        [sys.executable, "-S", "-c",
         f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import app.resources as r\n"
         "try:\n    r.resource_dir()\nexcept r.ResourcesMissing as e:\n    print('missing', e)"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.stdout.startswith("missing"), done.stderr
    assert issubclass(ResourcesMissing, FileNotFoundError)


def test_frozen_bundle_finds_its_resources(tmp_path: Path) -> None:
    require_bundle()
    internal = BUNDLE.parent / "_internal" / "app" / "_resources"
    assert (internal / MARKER).is_file()
    assert (internal / "licenses.json").is_file()
    done = subprocess.run(
        [str(BUNDLE), "--self-test", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=180,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    assert "self-test: resources ok" in done.stdout, done.stdout + done.stderr
    assert "self-test: log ok" in done.stdout
    assert (tmp_path / "data" / "logs" / "switchboard.log").is_file()


def test_nothing_in_app_looks_for_resources_beside_its_own_file() -> None:
    """Every resource is found through app.resources (a folder next to a module's __file__ is
    not in a wheel or the bundle: the Images icons and the demo's sample notes once were)."""
    import re

    offenders = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path.name == "resources.py" and path.parent.name == "app":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""__file__[^\n]*["'](_?resources)["']""", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert not (ROOT / "app" / "resources").exists()  # the resources live in resources/ only


def test_the_images_icons_and_the_sample_notes_are_resources() -> None:
    import ast

    names: set[str] = set()
    for path in (ROOT / "app" / "ui" / "images").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "icon" and node.args and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    assert {"copy", "star", "star-outline", "send-to-chat", "zoom-fit"} <= names
    for name in names:
        assert (resource_dir() / "icons" / f"{name}.svg").is_file(), name
    from app.core.services.notes import sample_notes_dir

    assert sample_notes_dir() == resource_dir() / "notes"
    assert sum(1 for p in sample_notes_dir().rglob("*") if p.is_file()) >= 20
