"""The image threads yield the CPU to the event loop, and each process admits a bounded
number of upload bodies at once."""

import asyncio
import os
import threading

from imagehost.context import upload_slots
from imagehost.tuning import IMAGE_THREAD_NICENESS


def own_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_image_threads_run_below_the_event_loop(ctx):
    loop = asyncio.get_running_loop()
    image_thread = await loop.run_in_executor(ctx.uploads.executor, own_priority)
    assert image_thread >= own_priority() + IMAGE_THREAD_NICENESS or image_thread == 19


async def test_uploads_beyond_the_slots_wait_for_one(ctx):
    uploads = ctx.uploads
    slots = upload_slots(ctx.settings)
    assert slots >= 2
    for _ in range(slots):
        await asyncio.wait_for(uploads.admit(), 1)
    waiting = asyncio.ensure_future(uploads.admit())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    uploads.release()
    await asyncio.wait_for(waiting, 1)
    for _ in range(slots):
        uploads.release()
