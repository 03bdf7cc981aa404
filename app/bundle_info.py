"""What the About dialog and `--self-test` say about this build: versions, where it runs from,
and the licences of the libraries it bundles.

The licences come from `licenses.json` in the resources folder when the bundle build wrote one
(`packaging/licences.py`, run by scripts/bundle.sh with pip-licenses); in a development install
they are read from the installed distributions' metadata (importlib.metadata) when asked.
No Qt here: the Qt version is passed in by the caller.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata

from app.resources import resource_path

LICENCES_FILE = "licenses.json"
# Requirements with a marker such as `extra == "test"` are not part of the app.
_EXTRA_MARKER = re.compile(r"extra\s*==")


@dataclass(frozen=True)
class Licence:
    name: str
    version: str
    licence: str
    url: str = ""


def is_frozen() -> bool:
    """True in the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def python_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


def runtime_distributions(root: str = "switchboard") -> list[str]:
    """The names of `root`'s run-time dependency closure (no extras), sorted; `root` itself
    excluded. Distributions that are not installed are skipped."""
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = _normal(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist.metadata["Name"]
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            if marker and _EXTRA_MARKER.search(marker):
                continue
            todo.append(re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0])
    seen.pop(_normal(root), None)
    return sorted(seen.values(), key=str.lower)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def licences_from_metadata(root: str = "switchboard") -> list[Licence]:
    """The dependency closure's licences as their metadata states them."""
    found: list[Licence] = []
    for name in runtime_distributions(root):
        meta = metadata.metadata(name)
        text = meta.get("License-Expression") or ""
        if not text:
            classifiers = [
                c.split("::")[-1].strip()
                for c in meta.get_all("Classifier") or []
                if c.startswith("License ::")
            ]
            # The free-text License field is often the whole licence: keep its first line.
            first_line = next(iter((meta.get("License") or "").splitlines()), "")
            text = "; ".join(classifiers) or first_line
        url = meta.get("Home-page") or ""
        if not url:
            for entry in meta.get_all("Project-URL") or []:
                url = entry.split(",", 1)[-1].strip()
                break
        found.append(Licence(meta["Name"], meta["Version"], text or "UNKNOWN", url))
    return found


def bundled_licences() -> tuple[list[Licence], str]:
    """(licences, where they came from): the build's licenses.json when present, else the
    installed metadata."""
    try:
        path = resource_path(LICENCES_FILE)
        raw = path.read_text(encoding="utf-8")
    except OSError:
        return licences_from_metadata(), "installed package metadata"
    rows = json.loads(raw)
    return [
        Licence(r.get("Name", "?"), r.get("Version", "?"), r.get("License", "UNKNOWN"), r.get("URL", ""))
        for r in rows
    ], f"generated at build time ({path.name})"
