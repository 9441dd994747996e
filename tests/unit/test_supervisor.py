"""The supervisor's stop: a SIGTERM that arrives while a worker is being forked still stops it."""

import subprocess
import sys
import time

from imagehost import ROOT

# The supervisor gets its SIGTERM the moment fork() returns, before it has even recorded the
# new worker, which has not reset its handlers yet either: the narrowest window there is.
SCRIPT = """
import os, signal, sys, time
from imagehost import supervisor

fork = os.fork
def fork_then_stop():
    pid = fork()
    if pid:
        os.kill(os.getpid(), signal.SIGTERM)
    return pid

def work():
    time.sleep(60)  # a worker that missed its stop
    return 7

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
