"""The stop signals (SIGTERM, SIGINT) of `serve`'s processes: noted until the process can act on
them, then set an event of its loop; never raised as an exception into whatever code runs.

An exception raised from a signal handler lands on any line: right after a lock was taken and
before the `with` that releases it (seen: a future's lock, so the loop's executor thread never
finished and asyncio.run waited 300 s), or between two writes of a log line that the workers'
log queue shares.
"""

import asyncio
import os
import signal
from collections.abc import Awaitable, Coroutine
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_noted = False
# Processes a noted stop is passed on to (the start-up check's, while the app waits for it).
_passed_on: set[int] = set()


def _note(signum, frame) -> None:
    global _noted
    _noted = True
    for pid in _passed_on:
        pass_on(pid)


def note_stops() -> None:
    """From now on a stop signal is only noted: `noted()` says so, `watch()` acts on it."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _note)


def noted() -> bool:
    return _noted


def pass_on(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def waiting_for(pid: int | None) -> None:
    """Pass a stop on to `pid` while it runs (None: to no one); one noted already, at once."""
    _passed_on.clear()
    if pid is not None:
        _passed_on.add(pid)
        if _noted:
            pass_on(pid)


def watch() -> asyncio.Event:
    """The running loop's stop: an event set by a stop signal from now on, or at once if one
    was noted before the loop could take them."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if _noted:
        stop.set()
    return stop


async def unless_stopped(work: Awaitable, stop: asyncio.Event) -> bool:
    """Await `work`; if `stop` is set first, cancel it (at one of its awaits) and return False.
    Its exception, if it raised one, is raised here."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run(main), the stop signals noted again once its loop is closed (closing gives
    them back their default action, which would kill the process on any line)."""
    try:
        return asyncio.run(main)
    finally:
        note_stops()
