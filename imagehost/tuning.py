"""How the process uses the OS: image threads yield the CPU to the event loop, big buffers
go back to the OS when freed, and Pillow keeps a few image blocks for the next image."""

import ctypes
import os
import threading

from PIL import Image

from .settings import MIB

IMAGE_THREAD_NICENESS = 10
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number
# Pillow allocates an image's pixels in blocks of at most IMAGE_BLOCK_SIZE and keeps up to
# IMAGE_BLOCKS_KEPT freed ones for the next image (so at most 16 MiB per process between uploads).
IMAGE_BLOCK_SIZE = 2 * MIB
IMAGE_BLOCKS_KEPT = 8


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


def reuse_image_blocks() -> None:
    """Let Pillow reuse the blocks of freed images (its default keeps none).

    Otherwise every upload maps, faults in and zeroes its decoded frame and the resize's
    buffers anew: for a 1920x1080 screenshot 2,800 page faults and about 6 ms of system time
    per upload; with blocks kept, 500 and 1 ms. The blocks kept are bounded (see above), so
    RSS cannot ratchet up as the heap would (return_big_buffers_to_the_os).
    """
    Image.core.set_block_size(IMAGE_BLOCK_SIZE)
    Image.core.set_blocks_max(IMAGE_BLOCKS_KEPT)
