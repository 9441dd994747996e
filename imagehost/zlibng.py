"""zlib-ng in place of the system's zlib for the whole process (Pillow's PNG decoding above all),
when the checkout or image has it: build/zlib-ng/libz.so.1, made by scripts/zlib-ng.sh.

Pillow's Linux wheels use the system's libz.so.1 (a manylinux wheel may not bring its own), and
Debian's zlib 1.2.13 inflates a screenshot's 6 MB of pixels in about 13 ms, zlib-ng in about 1.
A library named libz.so.1 that is loaded before any other is the one that every later user of
libz.so.1 gets (Python's zlib module, Pillow), so this runs first thing in `imagehost`. A Python
that links zlib into its executable (Debian's own) has the system's from the start: for the
image, the Dockerfile sets LD_LIBRARY_PATH to the library's folder instead.
"""

import ctypes
import sys
from pathlib import Path

LIBRARY = Path(__file__).resolve().parent.parent / "build" / "zlib-ng" / "libz.so.1"


def load(library: Path = LIBRARY) -> bool:
    """Load `library` for the process when it exists and no zlib is loaded yet; whether it was.

    With a zlib already loaded, a second one would only sit beside it: nothing is loaded then.
    """
    if not sys.platform.startswith("linux") or not library.is_file() or _zlib_loaded():
        return False
    try:
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return False  # not loadable here (another CPU, say): the system's zlib serves
    return True


def _zlib_loaded() -> bool:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return True  # cannot tell: leave it to the system
    return "/libz." in maps  # the system's libz.so.1.2.13, say, or this one
