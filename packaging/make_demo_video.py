"""Make the demo server's sample video, resources/demo/demo.mp4, and its poster, poster.jpg.

    python packaging/make_demo_video.py            # rewrite both files in resources/demo/
    python packaging/make_demo_video.py OUT_DIR    # write them elsewhere (tests compare)

A 1 s 320x180 test pattern at 12 fps, H.264 (yuv420p, `+faststart` so the index comes first),
about 6 KB; the poster is its first frame as a JPEG. Both files are committed: the app reads
them (app/core/demo/video.py) and never runs ffmpeg, so neither the runtime dependencies nor
the bundle carry an ffmpeg binary (imageio-ffmpeg's is 77 MB). This script needs the `dev`
extra (`pip install -e .[dev]`, which brings imageio-ffmpeg) and is only run to change them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "testsrc=size=320x180:rate=12:duration=1"
# bitexact and no metadata: the same ffmpeg makes the same bytes (no encoder-version string).
QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
EXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags", "+bitexact"]


def make(out_dir: Path) -> tuple[Path, Path]:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    out_dir.mkdir(parents=True, exist_ok=True)
    video, poster = out_dir / "demo.mp4", out_dir / "poster.jpg"
    subprocess.run(
        [exe, *QUIET, "-f", "lavfi", "-i", SOURCE, "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-preset", "veryslow", "-crf", "23", "-movflags", "+faststart", *EXACT, str(video)],
        check=True, timeout=120,
    )
    subprocess.run(
        [exe, *QUIET, "-i", str(video), "-frames:v", "1", "-q:v", "4", *EXACT, str(poster)],
        check=True, timeout=120,
    )
    return video, poster


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "demo"
    for path in make(target):
        print(f"{path} ({path.stat().st_size} bytes)")
