"""The frozen bundle's entry point (PyInstaller runs this file as `__main__`).

The notes' PDF reader is a multiprocessing "spawn" child (app/core/notes/extract.py): frozen,
that child and multiprocessing's resource tracker are this executable started again with
`--multiprocessing-fork ...` or `-c "from multiprocessing... import main"`. freeze_support(),
which PyInstaller's runtime hook makes work on every OS, runs those and exits; without it they
would start a second app. It is only imported when the arguments can be such a start, so a
normal start does not import multiprocessing before the first paint.
"""

import sys

if __name__ == "__main__" and (sys.argv[1:2] == ["--multiprocessing-fork"] or "-c" in sys.argv[1:]):
    import multiprocessing

    multiprocessing.freeze_support()

from app.main import run

if __name__ == "__main__":
    raise SystemExit(run())
