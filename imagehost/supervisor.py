"""WORKERS processes on shared sockets: forked, restarted when they crash, stopped together."""

import ctypes
import os
import signal
import traceback
from collections.abc import Callable

from loguru import logger

_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def stop_with_parent(parent: int) -> None:
    """SIGTERM this worker when the supervisor dies, even by SIGKILL (Linux), so no orphan
    keeps serving on the port that a restarted app must bind again."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl() took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _stop_starting_worker(signum, frame) -> None:
    """A stop signal that reaches a worker before its event loop handles them (at start-up)
    ends it through an exception, not the default action: killed outright, it could die
    holding the lock of the log's queue, which it shares with the other workers, and hang
    them at their next log line."""
    raise SystemExit(128 + signum)


def supervise(workers: int, sockets: list, work: Callable[[], int]) -> int:
    """Fork `workers` processes that each run `work()` (its result is their exit status);
    forward SIGTERM/SIGINT; restart crashes."""
    children: dict[int, int] = {}
    stopping = False
    supervisor = os.getpid()

    def spawn(slot: int) -> None:
        # A stop signal that reached a new child before it reset its handlers would be lost
        # (Python clears its pending signals after a fork) and leave a worker that never stops;
        # blocked, it waits in the kernel until the child's own handler can take it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGTERM, _stop_starting_worker)
                signal.signal(signal.SIGINT, _stop_starting_worker)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                stop_with_parent(supervisor)
                code = work()
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                # The log may be a queue that os._exit() cuts off: stderr keeps the reason.
                traceback.print_exc()
            finally:
                os._exit(code)
        children[pid] = slot
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def forward(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        # The workers close their listening sockets when they stop; once the supervisor's
        # copies are closed too, new connections are refused instead of queueing unserved.
        for sock in sockets:
            sock.close()
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for signum in _STOP_SIGNALS:
        signal.signal(signum, forward)
    for slot in range(workers):
        spawn(slot)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, None)
        if slot is None:
            continue
        exit_code = os.waitstatus_to_exitcode(code)
        if exit_code != 0:
            status = 1
            if not stopping:
                logger.error(f"worker {pid} exited with {exit_code}; starting another")
                spawn(slot)
    return 0 if stopping else status
