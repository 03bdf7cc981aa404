"""Write the licences of what the bundle ships (Switchboard's run-time dependency closure) to a
JSON file, with pip-licenses, for Help -> About.

    python packaging/licences.py OUT.json

Run by scripts/bundle.sh in the build venv before PyInstaller; pyinstaller.spec bundles OUT.json
as app/_resources/licenses.json. Only the closure is listed, not the build tools (PyInstaller,
pip-licenses itself), which are not shipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.bundle_info import runtime_distributions  # noqa: E402


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    names = runtime_distributions()
    result = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--format=json", "--with-urls",
         "--from=mixed", "--packages", *names],
        check=True, capture_output=True, text=True,
    )
    rows = json.loads(result.stdout)
    rows.append({
        "Name": "Python", "Version": ".".join(map(str, sys.version_info[:3])),
        "License": "PSF-2.0", "URL": "https://www.python.org/",
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"licences: {len(rows)} entries -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
