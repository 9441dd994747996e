"""loguru to LOGS_DIR/app.log: rotated, kept across restarts, one line per event."""

import os
import re
import sys
from pathlib import Path

from loguru import logger

LOG_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS ZZ} | {level: <7} | pid={process} | {message}"


def setup_logging(logs_dir: Path, level: str = "INFO", *, console: bool = True) -> Path:
    """Send the app's log to `logs_dir/app.log` (and stderr); returns the file's path."""
    path = Path(logs_dir) / "app.log"
    logger.remove()
    # diagnose=False: a traceback must not print variable values (tokens, passwords).
    if console:
        logger.add(sys.stderr, level=level, format=LOG_FORMAT, diagnose=False)
    # enqueue=True: forked worker processes hand their lines to one writer, so rotation
    # happens in one place and lines never interleave mid-line.
    logger.add(
        path,
        level=level,
        format=LOG_FORMAT,
        rotation="10 MB",
        retention=10,
        enqueue=True,
        encoding="utf-8",
        diagnose=False,
    )
    return path


def one_line(value: object) -> str:
    """A user-supplied value made safe for a log line: quoted, newlines and controls escaped."""
    text = str(value)
    return repr(text[:300]) if text else "''"


# The links that carry a secret in their path: delete links and invites.
_LINK_TOKEN = re.compile(r"(/(?:delete/[^/?#]+|invite)/)[^/?#]+")


def redact(uri: str) -> str:
    """A request URI fit for a log line: a delete link's or an invite's token is cut out."""
    return _LINK_TOKEN.sub(r"\1[token]", uri)


def tail_lines(path: Path, count: int, block: int = 64 * 1024) -> list[str]:
    """The last `count` lines of a text file, read from its end (the file may be 10 MB)."""
    data = b""
    try:
        with open(path, "rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            while end > 0 and data.count(b"\n") <= count:
                start = max(0, end - block)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-count:]
