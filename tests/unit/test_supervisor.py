"""The supervisor's stop: a SIGTERM that arrives while a worker is being forked, or restarted,
still stops it; a stop is never raised into a starting worker's code; and a worker that fails
says why."""

import subprocess
import sys
import time

from imagehost import ROOT

# The supervisor gets its SIGTERM the moment fork() returns, before it has even recorded the
# new worker, which has not reset its handlers yet either: the narrowest window there is.
SCRIPT = """
import os, signal, sys, time
from imagehost import stopsignals, supervisor

fork = os.fork
def fork_then_stop():
    pid = fork()
    if pid:
        os.kill(os.getpid(), signal.SIGTERM)
    return pid

def work():
    deadline = time.monotonic() + 60  # a worker that missed its stop
    while not stopsignals.noted() and time.monotonic() < deadline:
        time.sleep(0.01)
    return 0 if stopsignals.noted() else 7

os.fork = fork_then_stop
sys.exit(supervisor.supervise(1, [], work))
"""


def test_a_stop_during_the_fork_still_stops_the_worker_and_the_supervisor():
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 20  # not the worker's 60 s


# Worker 0 has taken over its stop signals (as the app's event loop does) and logs once told to
# stop; worker 1 is still starting and logging when the supervisor stops them both. Killed by
# the default action, worker 1 could die holding the lock of the log's queue (enqueue=True,
# shared by every worker), and worker 0 would hang at its next line: the supervisor too.
LOGGING_SCRIPT = """
import os, signal, sys, threading, time
from pathlib import Path
from loguru import logger
from imagehost import stopsignals, supervisor
from imagehost.logsetup import setup_logging

folder = Path(sys.argv[1])
setup_logging(folder, console=False)
fork, slot = os.fork, None

def fork_for(slot_number):
    def forked():
        global slot
        slot = slot_number
        return fork()
    return forked

def work():
    ready = folder / f"ready-{slot}"
    if slot == 0:
        told = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: told.set())
        ready.touch()
        told.wait()
        threading.Timer(20, os._exit, (1,)).start()  # hung: gone anyway, not left behind
        logger.info("worker 0 stopping")
        return 0
    while not stopsignals.noted():
        logger.info("worker 1 starting " + "x" * 200)
        ready.touch()
    return 0

def stop_when_ready():
    while not all((folder / f"ready-{n}").exists() for n in (0, 1)):
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)

for round in range(5):
    slots = iter(range(2))
    os.fork = lambda: fork_for(next(slots))()
    for n in (0, 1):
        (folder / f"ready-{n}").unlink(missing_ok=True)
    threading.Thread(target=stop_when_ready).start()
    assert supervisor.supervise(2, [], work) == 0
logger.complete()
"""


def test_a_worker_stopped_while_it_logs_does_not_hang_the_others(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", LOGGING_SCRIPT, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "app.log").read_text().count("worker 0 stopping") == 5


# A worker fails; the supervisor is told to stop while it logs so, just before it would start
# another: it must not start one (nobody would ever tell that one to stop).
RESTART_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from loguru import logger
from imagehost import stopsignals, supervisor

first = Path(sys.argv[1]) / "first-failed"

def stop_as_it_restarts(message):
    if "starting another" in message:
        os.kill(os.getpid(), signal.SIGTERM)

logger.remove()
logger.add(stop_as_it_restarts)

def work():
    if not first.exists():
        first.touch()
        return 1
    deadline = time.monotonic() + 60
    while not stopsignals.noted() and time.monotonic() < deadline:
        time.sleep(0.01)
    return 0 if stopsignals.noted() else 7

sys.exit(supervisor.supervise(1, [], work))
"""


def test_a_stop_while_a_failed_worker_is_restarted_starts_no_worker_that_never_stops(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RESTART_SCRIPT, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (tmp_path / "first-failed").exists(), done.stderr
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 20  # not the restarted worker's 60 s


# The stop comes while a worker is in the middle of starting: it is noted, and the worker acts
# on it where it chooses to. Raised as an exception on whatever line was running, it could
# leave a lock taken but not yet guarded by its `with` (which hung asyncio.run for 300 s).
STARTING_SCRIPT = """
import os, signal, sys, threading, time
from pathlib import Path
from imagehost import stopsignals, supervisor

folder = Path(sys.argv[1])

def work():
    try:
        (folder / "starting").touch()
        time.sleep(2)  # start-up work that a stop must not cut short
    except BaseException as exc:
        (folder / "interrupted").write_text(repr(exc))
        raise
    return 0 if stopsignals.noted() else 5

def stop_once_starting():
    while not (folder / "starting").exists():
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=stop_once_starting, daemon=True).start()
sys.exit(supervisor.supervise(1, [], work))
"""


def test_a_stop_is_never_raised_into_a_starting_worker(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", STARTING_SCRIPT, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (tmp_path / "starting").exists(), done.stderr
    assert not (tmp_path / "interrupted").exists(), (tmp_path / "interrupted").read_text()
    assert done.returncode == 0, done.stderr


FAILING_SCRIPT = """
import os, signal, sys
from imagehost import supervisor

def work():
    # Stop the supervisor, or it starts the worker again and again; the stop it forwards back
    # waits (blocked) until this worker has failed.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    os.kill(os.getppid(), signal.SIGTERM)
    raise LookupError("no catalogue for 'ru'")

sys.exit(supervisor.supervise(1, [], work))
"""


def test_a_worker_that_fails_at_start_up_prints_its_traceback():
    done = subprocess.run(
        [sys.executable, "-c", FAILING_SCRIPT], cwd=ROOT, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert "Traceback" in done.stderr, done.stderr
    assert "LookupError: no catalogue for 'ru'" in done.stderr
