"""Runtime hook of the frozen bundle: PySide6's first import takes shiboken's compiled support
code from the data folder's cache (app/codegen_cache.py), as `python -m app` does in run().

PyInstaller's own PySide6 hook (pyi_rth_pyside6) imports PySide6.QtCore before the entry
script runs, so run()'s `pyside_import` came too late in the bundle and shiboken compiled its 14
modules at every start (~150 M instructions). pyinstaller.spec runs this hook just before that
one. It reads only --data-dir from the arguments (app.main.early_code_cache_folder); run()
saves the cache after start-up, to the folder it really uses.
"""


def _pyi_rth_pyside_code_cache() -> None:
    import sys

    from app.main import early_code_cache_folder

    folder = early_code_cache_folder(sys.argv[1:])
    if folder is None:
        return
    from app import codegen_cache

    with codegen_cache.pyside_import(folder):
        import PySide6.QtCore  # noqa: F401


_pyi_rth_pyside_code_cache()
del _pyi_rth_pyside_code_cache
