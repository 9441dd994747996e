"""clients/imagehost-upload run as a person runs it: its own environment, no display."""

import os
import subprocess
from pathlib import Path

from imagehost import ROOT

SCRIPT = ROOT / "clients" / "imagehost-upload"


def run_script(*args: str, stdin: bytes = b"", env=None, path_first: Path | None = None):
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    base.pop("IMAGEHOST_URL", None)
    if path_first is not None:
        base["PATH"] = f"{path_first}:{base['PATH']}"
    return subprocess.run(
        [str(SCRIPT), *args], input=stdin, env={**base, **(env or {})},
        capture_output=True, timeout=60,
    )  # fmt: skip
