"""The embedded database: an nx-27017 MongoDB wire-protocol server run as a subprocess.

Used when MONGODB_URI is unset (local runs and tests); the app then talks to it with the
same PyMongo code it uses against a real MongoDB. `database_for()` decides which one runs.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from loguru import logger

from .settings import Settings

_LISTENING = re.compile(r"Listening on ([\d.]+):(\d+)")
# The server stops when the thread that started it goes (Linux PR_SET_PDEATHSIG): an app killed
# with SIGKILL must not leave a database running on the folder its restart will open again.
_LAUNCH = """
import ctypes, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass
from nx_27017.nx_27017 import main
sys.argv[0] = 'nx-27017'
sys.exit(main())
"""


EMBEDDED_URI_FILE = "embedded.uri"


class EmbeddedMongoError(RuntimeError):
    pass


def write_embedded_uri(db_dir: Path, uri: str) -> None:
    """Record the URI of the server the app started on `db_dir`, for the other commands."""
    temp = db_dir / f"{EMBEDDED_URI_FILE}.{os.getpid()}"
    temp.write_text(uri + "\n")
    os.replace(temp, db_dir / EMBEDDED_URI_FILE)


def running_embedded_uri(db_dir: Path) -> str:
    """The URI of the app's embedded server on `db_dir` if it answers, else ""."""
    try:
        uri = (db_dir / EMBEDDED_URI_FILE).read_text().strip()
    except OSError:
        return ""
    match = re.fullmatch(r"mongodb://([\d.]+):(\d+)/", uri)
    if not match:
        return ""
    try:
        with socket.create_connection((match.group(1), int(match.group(2))), timeout=1):
            return uri
    except OSError:
        return ""


class EmbeddedMongo:
    """Start with `start()`, read `uri`, stop with `stop()` (also a context manager); `process`
    is the server's while it runs.

    Start it from a thread that outlives it (the main thread): the server stops with that thread.
    """

    def __init__(self, db_dir: Path | None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.db_dir = db_dir
        self.host = host
        self.port = port
        self.uri = ""
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> str:
        if self.db_dir is None:
            data_dir, log_dir = "memory", Path("/tmp")
        else:
            self.db_dir.mkdir(parents=True, exist_ok=True)
            data_dir, log_dir = str(self.db_dir), self.db_dir
        # --data-dir keeps one SQLite file per database; with --db every database name
        # would share one file and so the same collections.
        tag = f"nx-27017-{id(self):x}"
        command = [
            sys.executable, "-c", _LAUNCH,
            "--host", self.host, "-p", str(self.port), "--data-dir", data_dir,
            "--log-file", str(log_dir / f"{tag}.log"), "--pid-file", str(log_dir / f"{tag}.pid"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        found = threading.Event()
        lines: list[str] = []

        def watch(stream) -> None:
            # Keep draining stderr for the server's whole life so its pipe never fills.
            for line in stream:
                if not found.is_set():
                    lines.append(line)
                    match = _LISTENING.search(line)
                    if match:
                        self.uri = f"mongodb://{match.group(1)}:{match.group(2)}/"
                        found.set()

        threading.Thread(target=watch, args=(self.process.stderr,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "".join(lines[-10:]).strip()
                raise EmbeddedMongoError(f"nx-27017 did not start: {tail or 'no output'}")
        return self.uri

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "EmbeddedMongo":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def database_for(settings: Settings, *, reuse_running: bool = False) -> Iterator[Settings]:
    """`settings` with a database URI: MONGODB_URI, or an embedded nx-27017 run meanwhile.

    With `reuse_running` (the maintenance commands) the embedded server of an app running on
    the same DB_DIR is used: two servers on one data folder must never run at once.
    """
    if settings.mongodb_uri:
        yield settings
        return
    if reuse_running and (uri := running_embedded_uri(settings.db_dir)):
        yield replace(settings, mongodb_uri=uri)
        return
    embedded = EmbeddedMongo(settings.db_dir)
    uri = embedded.start()
    logger.info(f"embedded database (nx-27017) at {uri} in {settings.db_dir}")
    write_embedded_uri(settings.db_dir, uri)
    try:
        yield replace(settings, mongodb_uri=uri)
    finally:
        (settings.db_dir / EMBEDDED_URI_FILE).unlink(missing_ok=True)
        embedded.stop()
