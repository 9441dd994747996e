"""How the process uses the OS: image threads yield the CPU to the event loop, and big buffers
go back to the OS when freed."""

import ctypes
import os
import threading

from .settings import MIB

IMAGE_THREAD_NICENESS = 10
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number


def lower_thread_priority() -> None:
    """Run the calling thread (an image thread) at a lower CPU priority than the event loop.

    Linux schedules threads one by one: when the cores are busy decoding images, a request
    that needs no image work (/healthz, a page) still gets a core at once.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IMAGE_THREAD_NICENESS)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: same priority as the loop


def return_big_buffers_to_the_os() -> None:
    """Keep glibc's mmap threshold at 1 MiB, so upload bodies and decoded images go back to
    the OS when freed. By default the threshold rises after the first big free, and later
    big buffers then come from the heap, which does not shrink: RSS would ratchet up."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MIB)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator decides
