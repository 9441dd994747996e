"""WORKERS processes on shared sockets: forked, restarted when they crash, stopped together."""

import ctypes
import os
import signal
import traceback
from collections.abc import Callable

from loguru import logger

from . import stopsignals

_PR_SET_PDEATHSIG = 1


def stop_with_parent(parent: int) -> None:
    """SIGTERM this worker when the supervisor dies, even by SIGKILL (Linux), so no orphan
    keeps serving on the port that a restarted app must bind again."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl() took effect
        os.kill(os.getpid(), signal.SIGTERM)


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
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, stopsignals.STOP_SIGNALS)
        try:
            if stopping:  # a stop came while a worker was being restarted: none is started
                return
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    # The worker's loop takes its stop signals once it runs; till then noted.
                    stopsignals.note_stops()
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
            # Python runs a handler a little after its signal came, so `forward` may have run
            # after the check above yet before this worker was in `children`.
            if stopping:
                stopsignals.pass_on(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def forward(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        # The workers close their listening sockets when they stop; once the supervisor's
        # copies are closed too, new connections are refused instead of queueing unserved.
        for sock in sockets:
            sock.close()
        for pid in children:
            stopsignals.pass_on(pid)

    for signum in stopsignals.STOP_SIGNALS:
        signal.signal(signum, forward)
    if stopsignals.noted():  # before `forward` could take it
        forward(signal.SIGTERM, None)
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
