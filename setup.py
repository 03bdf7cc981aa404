"""Build hook: copy the top-level `resources/` folder into wheels as `app/_resources`.

Everything else is declared in pyproject.toml. An editable install needs no copy:
`app.resources.resource_dir()` finds `resources/` beside `app/` in the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's resources/ is used in place
        target = Path(self.build_lib) / "app" / "_resources"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "resources", target)


setup(cmdclass={"build_py": BuildWithResources})
