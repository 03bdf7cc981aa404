"""What pyinstaller.spec leaves out (packaging/bundle_rules.py) is proven unused:

- every Qt library that a kept Qt plugin or binding module links (ELF DT_NEEDED, followed
  transitively through the installed PySide6 wheels) is kept: dropping one makes its plugin
  fail to load in the frozen app (the FFmpeg media plugin links Qt Quick, Qml and OpenGL);
- the unfrozen `--self-test` passes with every excluded Python module made unimportable, so no
  step of it (chat, images through Pillow, a video played by QtMultimedia, numpy + usearch
  search) reaches one; and app/ itself names none of them;
- in a built bundle (dist/switchboard, when present) every library finds each library it
  needs, inside the bundle or on the system.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.helpers import BUNDLE, ROOT, bundle_rules, is_elf, qt_modules_imported

RULES = bundle_rules()


def _qt_root() -> Path:
    import PySide6

    return Path(PySide6.__file__).resolve().parent


def _dropped_but_needed(pyside: Path, imported: set[str]) -> dict[str, list[str]]:
    """{kept file: [Qt libraries it needs that keep() drops]}, from the binding modules in
    `imported` and every plugin keep() keeps, following DT_NEEDED through PySide6/Qt/lib."""
    libs = {p.name: p for p in (pyside / "Qt" / "lib").glob("*.so*")}
    roots = [p for p in pyside.glob("Qt*.abi3.so") if p.name.split(".")[0] in imported]
    roots += [
        p for p in (pyside / "Qt" / "plugins").rglob("*.so")
        if RULES.keep(f"PySide6/{p.relative_to(pyside).as_posix()}")
    ]
    problems: dict[str, list[str]] = {}
    seen: set[Path] = set()
    todo = list(roots)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in RULES.needed_libraries(path):
            if name not in libs:
                continue  # a system library (libc, libGL...) or one from another wheel
            if not RULES.keep(f"PySide6/Qt/lib/{name}"):
                problems.setdefault(path.name, []).append(name)
            else:
                todo.append(libs[name])
    return problems


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux wheels' ELF files")
def test_every_qt_library_a_kept_plugin_links_is_kept() -> None:
    pyside = _qt_root()
    imported = set(qt_modules_imported(ROOT / "app"))
    assert "QtMultimedia" in imported
    assert not _dropped_but_needed(pyside, imported)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux wheels' ELF files")
def test_the_closure_check_sees_a_dropped_library(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rule as it was: Qt Quick dropped, which left the FFmpeg media plugin unloadable.
    monkeypatch.setattr(RULES, "DROP_LIBS", (*RULES.DROP_LIBS, "Qt6Quick"))
    problems = _dropped_but_needed(_qt_root(), {"QtMultimedia"})
    assert "libQt6Quick.so.6" in problems.get("libffmpegmediaplugin.so", [])


def test_needed_libraries_reads_an_elf_dynamic_section() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux ELF")
    core = next((_qt_root() / "Qt" / "lib").glob("libQt6Widgets.so*"))
    assert {"libQt6Gui.so.6", "libQt6Core.so.6"} <= set(RULES.needed_libraries(core))
    assert RULES.needed_libraries(ROOT / "pyproject.toml") == []


def test_the_dropped_plugins_and_libraries_are_still_dropped() -> None:
    keep = RULES.keep
    assert not keep("PySide6/Qt/plugins/platformthemes/libqgtk3.so")
    assert not keep("PySide6/Qt/plugins/platforms/libqeglfs.so")
    assert not keep("PySide6/Qt/plugins/imageformats/libqtiff.so")
    assert not keep("PySide6/Qt/translations/qtbase_de.qm")
    assert not keep("libgtk-3.so.0")
    assert keep("PySide6/Qt/plugins/platforms/libqxcb.so")
    assert keep("PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so")
    assert keep("PySide6/Qt/lib/libQt6Quick.so.6")
    assert keep("PySide6/Qt/lib/libQt6OpenGL.so.6")


# Run the real app's --self-test with every excluded module unimportable.
BLOCKED_SELF_TEST = """
import importlib.abc, sys
BLOCKED = {blocked!r}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"{{name}} is excluded from the bundle", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from app.main import run
raise SystemExit(run(["--self-test", "--data-dir", {data!r}]))
"""


def test_the_self_test_passes_without_the_excluded_modules(tmp_path: Path) -> None:
    blocked = sorted(set(RULES.EXCLUDES) - {"test"})  # "test" is also a name tests/ may use
    code = BLOCKED_SELF_TEST.format(blocked=blocked, data=str(tmp_path / "data"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=env,
        cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for step in ("image", "video", "playback", "note"):
        assert f"self-test: {step} ok" in done.stdout, done.stdout
    assert "is excluded from the bundle" not in done.stderr, done.stderr[-3000:]


def _names_used(root: Path) -> set[str]:
    """Every module imported anywhere under root, and every `np.<x>` / `numpy.<x>` attribute."""
    names: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
        names.update(f"numpy.{m}" for m in re.findall(r"\b(?:np|numpy)\.([a-z_]+)\b", source))
    return names


def test_app_names_no_excluded_module() -> None:
    used = _names_used(ROOT / "app")
    assert "numpy.linalg" in used and "PIL.Image" in used  # the scan sees both forms
    excluded = [e for e in RULES.EXCLUDES if e not in ("test",)]
    hits = sorted(u for u in used for e in excluded if u == e or u.startswith(e + "."))
    assert not hits, f"app/ uses modules the bundle leaves out: {hits}"


def test_usearch_paths_the_app_calls_need_no_excluded_numpy_module() -> None:
    import inspect

    from usearch import index

    # Code only (docstrings show `np.random` examples): every `np.<x>` attribute read.
    tree = ast.parse(inspect.getsource(index))
    wanted = {"Index", "search"}
    used: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in wanted:
            for sub in ast.walk(node):
                if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                        and sub.value.id == "np"):
                    used.add(sub.attr)
    numpy_excluded = [e.split(".", 1)[1] for e in RULES.EXCLUDES if e.startswith("numpy.")]
    assert used and not used & set(numpy_excluded), used & set(numpy_excluded)


def test_the_built_bundle_finds_every_library_it_links() -> None:
    if not BUNDLE.exists() or not sys.platform.startswith("linux"):
        if os.environ.get("SWITCHBOARD_REQUIRE_BUNDLE") == "1" and sys.platform.startswith("linux"):
            pytest.fail(f"no bundle at {BUNDLE} although scripts/test.sh built one")
        pytest.skip("no Linux bundle in dist/ (bash scripts/bundle.sh)")
    internal = BUNDLE.parent / "_internal"
    present = {p.name for p in internal.rglob("*") if p.is_file()}
    system = subprocess.run(
        ["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=False
    ).stdout
    system_names = set(re.findall(r"^\s*(\S+) \(", system, re.MULTILINE))
    missing: dict[str, list[str]] = {}
    for path in internal.rglob("*"):
        if not path.is_file() or path.is_symlink() or not is_elf(path):
            continue
        for name in RULES.needed_libraries(path):
            if name not in present and name not in system_names and not name.startswith("ld-linux"):
                missing.setdefault(str(path.relative_to(internal)), []).append(name)
    assert not missing, missing


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("strip") is None,
    reason="needs Linux and binutils' strip",
)
def test_debug_info_is_stripped_from_the_libraries_that_carry_it(tmp_path: Path) -> None:
    import usearch.compiled

    with_debug = Path(usearch.compiled.__file__)  # the wheel ships ~7 MB of DWARF
    without = next((_qt_root() / "Qt" / "lib").glob("libQt6Core.so*"))  # already stripped
    assert RULES.debug_info_size(with_debug) > 1_000_000
    assert RULES.debug_info_size(without) == 0
    entries = [("usearch/x.so", str(with_debug), "EXTENSION"), ("lib/core", str(without), "BINARY")]
    out, saved = RULES.strip_debug_info(entries, tmp_path)
    assert out[1] == entries[1]  # untouched: strip is never run on a library without DWARF
    stripped = Path(out[0][1])
    assert stripped.parent.parent == tmp_path and out[0][0] == "usearch/x.so"
    assert RULES.debug_info_size(stripped) == 0
    assert saved == with_debug.stat().st_size - stripped.stat().st_size > 1_000_000
    assert RULES.needed_libraries(stripped) == RULES.needed_libraries(with_debug)
    again, _ = RULES.strip_debug_info(entries, tmp_path)  # cached: the same copy
    assert again[0][1] == str(stripped)


def _deferred_hook_script(tmp_path: Path, hooks: dict[str, str]) -> Path:
    """What pyinstaller.spec writes: `_DEFERRED = {...}` + packaging/deferred_rthooks.py."""
    script = tmp_path / "hook.py"
    body = (ROOT / "packaging" / "deferred_rthooks.py").read_text(encoding="utf-8")
    script.write_text(f"_DEFERRED = {hooks!r}\n\n{body}", encoding="utf-8")
    return script


def test_deferred_runtime_hooks_run_when_their_module_is_first_imported(tmp_path: Path) -> None:
    hooks = {
        "inspect": "import inspect\ninspect.PATCHED = True\n",
        "json": "import json\njson.PATCHED = 'json'\n",
    }
    script = _deferred_hook_script(tmp_path, hooks)
    probe = (
        f"import sys\nexec(open({str(script)!r}).read())\n"
        "before = [m for m in ('inspect', 'json') if m in sys.modules]\n"
        "import json, inspect\n"
        "print(before, inspect.PATCHED, json.PATCHED, type(json.__loader__).__name__,"
        " inspect.getsource(json.dumps).startswith('def dumps'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True", "json", "SourceFileLoader", "True"]



@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux wheels' ELF files")
def test_qt_libraries_nothing_kept_links_are_pruned() -> None:
    pyside = _qt_root()

    def entries(with_multimedia: bool) -> list[tuple[str, str, str]]:
        modules = ["QtCore", "QtGui", "QtWidgets"] + (["QtMultimedia"] if with_multimedia else [])
        found = [p for p in pyside.glob("Qt*.abi3.so") if p.name.split(".")[0] in modules]
        found += (pyside / "Qt" / "lib").glob("*.so*")
        found += [
            p for p in (pyside / "Qt" / "plugins").rglob("*.so")
            if RULES.keep(f"PySide6/{p.relative_to(pyside).as_posix()}")
            and (with_multimedia or "/multimedia/" not in p.as_posix())
        ]
        return [(f"PySide6/{p.relative_to(pyside).as_posix()}", str(p), "BINARY") for p in found]

    def names(kept: list[tuple[str, str, str]]) -> set[str]:
        return {dest.rsplit("/", 1)[-1] for dest, _src, _kind in kept}

    bare, pruned = RULES.prune_unlinked_qt_libraries(entries(with_multimedia=False))
    assert {"libQt6Widgets.so.6", "libQt6Gui.so.6", "libQt6XcbQpa.so.6"} <= names(bare)
    assert "libQt6Quick.so.6" not in names(bare) and "PySide6/Qt/lib/libQt6Quick.so.6" in pruned
    assert "libQt6Multimedia.so.6" not in names(bare)
    app, _ = RULES.prune_unlinked_qt_libraries(entries(with_multimedia=True))
    # The FFmpeg plugin links Quick, which links Qml, QmlModels... all stay.
    assert {"libQt6Multimedia.so.6", "libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6QmlModels.so.6",
            "libQt6OpenGL.so.6", "libQt6FFmpegStub-va.so.2"} <= names(app)
    assert all(dest in names(app) or not dest.startswith("libQt6") for dest in names(bare))


def test_pruning_never_drops_a_file_it_cannot_read_as_elf(tmp_path: Path) -> None:
    framework = tmp_path / "QtCore"  # what a macOS framework binary looks like to the rule
    framework.write_bytes(b"\xcf\xfa\xed\xfe" + bytes(60))
    entries = [("PySide6/Qt/lib/QtCore.framework/Versions/A/QtCore", str(framework), "BINARY")]
    assert RULES.prune_unlinked_qt_libraries(entries) == (entries, [])
