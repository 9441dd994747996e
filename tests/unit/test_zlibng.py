"""The app's processes inflate with zlib-ng (build/zlib-ng, made by `make`), and the check's
verdicts and pixels are those of the system's zlib.

The test process itself keeps the system's zlib (pytest loads it before imagehost), so each
case runs a fresh interpreter that imports imagehost first, as `python -m imagehost` does.
"""

import json
import subprocess
import sys
import zlib

from imagehost import ROOT
from imagehost.zlibng import LIBRARY, load

# Every PNG and GIF of the hostile corpus and of the tricky files: each one's verdict
# (status and code) and, for an accepted one, a digest of its decoded frame's pixels.
VERDICTS = """
import imagehost, hashlib, json, sys, zlib
from PIL import features
from imagehost.images.check import ImageRejected, decode_image
from tests import hostile, tricky

files = [(c.id, c.data()) for c in hostile.CASES if c.data is not None]
files += [(t.name, t.data) for t in tricky.cases()]
verdicts = {}
for name, data in files:
    if not data.startswith((b"\\x89PNG", b"GIF8")):
        continue
    try:
        _, frame = decode_image(data, max_bytes=hostile.LIMIT, max_pixels=40_000_000)
    except ImageRejected as exc:
        verdicts[name] = [exc.status, exc.code]
    else:
        with frame:
            verdicts[name] = [200, hashlib.sha256(frame.tobytes()).hexdigest()]
print(json.dumps({"zlib": zlib.ZLIB_RUNTIME_VERSION, "pillow": features.version("zlib"),
                  "verdicts": verdicts}))
"""


def fresh_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_library_is_built() -> None:
    assert LIBRARY.is_file(), f"{LIBRARY} is missing: `make` builds it (scripts/zlib-ng.sh)"


def test_python_and_pillow_inflate_with_zlib_ng_once_imagehost_is_imported() -> None:
    found = json.loads(fresh_python(VERDICTS))
    assert found["zlib"].endswith(".zlib-ng")
    assert found["pillow"].endswith(".zlib-ng")


def test_every_verdict_and_frame_is_the_system_zlibs() -> None:
    assert not zlib.ZLIB_RUNTIME_VERSION.endswith(".zlib-ng")  # this process: the system's
    here = json.loads(fresh_python(VERDICTS.replace("import imagehost, ", "import zlib, ")))
    there = json.loads(fresh_python(VERDICTS))
    assert here["zlib"] == zlib.ZLIB_RUNTIME_VERSION
    assert there["zlib"].endswith(".zlib-ng")
    assert len(here["verdicts"]) > 30
    assert {status for status, _ in here["verdicts"].values()} >= {200, 422}
    assert there["verdicts"] == here["verdicts"]


def test_no_second_zlib_is_loaded_beside_one_already_loaded() -> None:
    out = fresh_python(
        "import zlib, imagehost, pathlib\n"
        "maps = pathlib.Path('/proc/self/maps').read_text().splitlines()\n"
        "print(zlib.ZLIB_RUNTIME_VERSION, len({l.split()[-1] for l in maps if '/libz.' in l}))"
    )
    version, loaded = out.split()
    assert not version.endswith(".zlib-ng")
    assert loaded == "1"


def test_a_missing_library_is_passed_over(tmp_path) -> None:
    assert load(tmp_path / "libz.so.1") is False
