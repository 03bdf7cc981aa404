"""Where the files in the top-level `resources/` folder are found at run time: one function.

Three installs, one answer:
- a checkout or an editable install: `resources/` beside the `app/` package;
- a wheel: setup.py's build step copies `resources/` into the package as `app/_resources`;
- the frozen bundle: pyinstaller.spec puts it at the same `app/_resources` inside the bundle
  (PyInstaller sets each module's `__file__` inside the bundle, so the wheel rule finds it).

Only `pathlib` is imported: app.main calls this before the first paint.
"""

from __future__ import annotations

from pathlib import Path

# A file every complete resources folder has: a folder without it is not the one we want (an
# unrelated `resources/` directory next to an installed `app/`, a half-copied bundle).
MARKER = Path("icons") / "io.github.switchboard.Switchboard.svg"
APP_ID = "io.github.switchboard.Switchboard"


class ResourcesMissing(FileNotFoundError):
    """The install is incomplete (a packaging bug, not something a user did)."""


_found: list[Path] = []  # the folder once found (it does not move while the app runs)


def resource_dir() -> Path:
    """The folder holding the resources; raises ResourcesMissing when the install lacks it.
    (Found once: each icon of the chat tab asks, and the look-up resolves paths on disk.)"""
    if _found:
        return _found[0]
    here = Path(__file__).resolve().parent
    for candidate in (here / "_resources", here.parent / "resources"):
        if (candidate / MARKER).is_file():
            _found.append(candidate)
            return candidate
    raise ResourcesMissing(
        f"Switchboard's resources folder is missing (looked in {here / '_resources'} and "
        f"{here.parent / 'resources'}); reinstall Switchboard."
    )


def resource_path(*parts: str) -> Path:
    """A file or folder inside the resources folder (it may not exist, e.g. licenses.json in a
    development checkout)."""
    return resource_dir().joinpath(*parts)


def icon_path() -> Path:
    """The app icon's SVG source (Qt renders it at any size)."""
    return resource_dir() / MARKER
