"""`migrate-storage --to s3`: copy every image and thumbnail of the images folder into the bucket.

Resumable (an object already there with the same bytes is kept), each object is read back and
checked (size, sha256), and the folder is only read.
"""

import asyncio
import hashlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field

from .storage import Storage

CONCURRENT = 8


@dataclass
class MigrationReport:
    copied: int = 0
    present: int = 0  # already in the target with the same bytes (an earlier, resumed run)
    failed: list[str] = field(default_factory=list)  # "NAME: why"

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{self.copied} copied, {self.present} already there and identical, "
            f"{len(self.failed)} failed"
        )


def digest(storage: Storage, name: str) -> tuple[int, str] | None:
    """(size, sha256) of a stored file, streamed through the reader; None when there is none.
    Runs on a worker thread."""
    hasher, size = hashlib.sha256(), 0
    buffer = memoryview(bytearray(256 * 1024))
    with storage.reader() as open_stored:
        try:
            stream = open_stored(name)
        except FileNotFoundError:
            return None
        with closing(stream):
            while got := stream.readinto(buffer):
                hasher.update(buffer[:got])
                size += got
    return size, hasher.hexdigest()


async def migrate(
    source: Storage, target: Storage, say: Callable[[str], None] = lambda line: None
) -> MigrationReport:
    """Copy every stored file of `source` that `target` lacks; verify every one."""
    names = sorted(f.name for f in await source.scan() if not f.temp)
    report = MigrationReport()
    slots = asyncio.Semaphore(CONCURRENT)

    async def one(name: str) -> None:
        async with slots:
            try:
                outcome = await _copy(source, target, name)
            except OSError as exc:
                outcome = f"failed: {exc}"
        if outcome == "copied":
            report.copied += 1
        elif outcome == "present":
            report.present += 1
        else:
            report.failed.append(f"{name}: {outcome}")
            say(f"  {name}: {outcome}")

    await asyncio.gather(*(one(name) for name in names))
    return report


async def _copy(source: Storage, target: Storage, name: str) -> str:
    with await source.open(name) as stream:
        data = stream.read()
    wanted = (len(data), hashlib.sha256(data).hexdigest())
    try:
        await target.put(name, data)
        outcome = "copied"
    except FileExistsError:
        outcome = "present"
    found = await asyncio.to_thread(digest, target, name)
    if found != wanted:
        what = "differs from the folder's file" if outcome == "present" else "read back wrong"
        return f"the target's object {what} (size/sha256 {found} instead of {wanted})"
    return outcome
