"""Run PyInstaller's runtime hooks for `inspect`, `pkgutil` and `multiprocessing` when the app
first imports that module, not before the app's first line.

PyInstaller runs each runtime hook before the entry script, and those three import their
module at once to patch it (`inspect.getsourcefile` for frozen paths, `pkgutil.iter_modules`
for frozen packages, `multiprocessing.freeze_support`). pkgutil (never imported by the app) and
multiprocessing + subprocess (imported by the notes service, after the first paint) cost about
30 ms of CPU before the window can paint; inspect is imported by shiboken6 itself while PySide6
loads, so deferring its hook only keeps the three alike. pyinstaller.spec leaves the
three hooks out of the start-up scripts and prepends `_DEFERRED = {module: hook source}` to
this file, which becomes one runtime hook: a meta-path finder that wraps the loader of each of
those modules so the original hook, unchanged, runs right after the module has executed.
"""


def _pyi_deferred_rthooks() -> None:
    import sys

    hooks: dict = dict(_DEFERRED)  # type: ignore[name-defined]  # noqa: F821 (prepended)

    def run_hook(name: str) -> None:
        source = hooks.pop(name)
        code = compile(source, f"<pyinstaller runtime hook for {name}>", "exec")
        exec(code, {"__name__": name})  # noqa: S102 (PyInstaller's own hook, from the build)

    class PatchingLoader:
        def __init__(self, loader: object, name: str) -> None:
            self._loader = loader
            self._name = name

        def create_module(self, spec: object) -> object:
            return self._loader.create_module(spec)  # type: ignore[attr-defined]

        def exec_module(self, module: object) -> None:
            self._loader.exec_module(module)  # type: ignore[attr-defined]
            module.__loader__ = self._loader  # type: ignore[attr-defined]
            spec = getattr(module, "__spec__", None)
            if spec is not None:
                spec.loader = self._loader
            run_hook(self._name)

        def __getattr__(self, attr: str) -> object:
            return getattr(self._loader, attr)

    class AfterImport:
        def find_spec(self, name: str, path: object = None, target: object = None) -> object:
            if name not in hooks:
                return None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            if spec.loader is not None:
                spec.loader = PatchingLoader(spec.loader, name)
            return spec

    for name in [n for n in hooks if n in sys.modules]:  # already imported: patch now
        run_hook(name)
    sys.meta_path.insert(0, AfterImport())


_pyi_deferred_rthooks()
del _pyi_deferred_rthooks
