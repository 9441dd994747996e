"""Image bytes behind a small interface (`Storage`): put, streaming reads, delete, listing.

Uploads, deletes, backups, restores and the consistency check use the interface alone, so an
object-store backend can sit beside `LocalStorage`, which keeps the files in one folder, and
run the same contract tests (tests/unit/test_storage_contract.py).
"""

import asyncio
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

# An image's public name, as routes and the API document match it, and its stem (the name of
# its page, /v/<stem>).
IMAGE_STEM = r"[A-Za-z0-9_-]{16}"
IMAGE_EXTENSIONS = (".jpg", ".png", ".gif")
IMAGE_NAME = IMAGE_STEM + r"\.(?:jpg|png|gif)"
# Names the backend generates: 16 URL-safe characters, an optional `.thumb`, an extension.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16}(\.thumb)?\.(jpg|png|gif)$")
_TEMP_PREFIX = ".tmp-"


class StorageFull(OSError):
    """The disk (or quota) is full; nothing was written."""


@dataclass(frozen=True)
class StoredFile:
    """One entry of the images folder, as the consistency check sees it."""

    name: str
    age: float  # seconds since it was last written
    temp: bool  # the leftover of an interrupted write: never served, safe to remove


class Readable(Protocol):
    """A file open for reading, read on a worker thread (the backup's, the restore's)."""

    def readinto(self, buffer: memoryview, /) -> int:
        """Fill `buffer` unless the file ends first; the count read (0 at its end)."""
        ...

    def size(self) -> int:
        """The whole file's length."""
        ...

    def close(self) -> None: ...


# Opens a stored file by name for reading; FileNotFoundError when there is none of that name.
OpenStored = Callable[[str], Readable]


class Storage(Protocol):
    """The only door to image bytes. Async methods are for the event loop; `reader` is for a
    worker thread that reads many files (backups, restores)."""

    async def put(self, name: str, data: bytes, *, replace: bool = False) -> None:
        """Store `data` under `name`, all or nothing; FileExistsError if the name is taken,
        unless `replace`; StorageFull when there is no room."""
        ...

    async def open(self, name: str) -> BinaryIO:
        """The stored file to read; FileNotFoundError when there is none."""
        ...

    async def delete(self, name: str) -> bool:
        """Remove a stored file; False when there was none."""
        ...

    async def exists(self, name: str) -> bool: ...

    async def scan(self) -> list[StoredFile]:
        """Every stored file and leftover temp file, with its age."""
        ...

    async def delete_temp(self, name: str) -> bool: ...

    async def free_bytes(self) -> int: ...

    def reader(self) -> AbstractContextManager[OpenStored]:
        """A function that opens stored files for reading, for a thread that reads many."""
        ...


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"not a stored image name: {name!r}")
    return name


class LocalStorage:
    """A flat folder of files; writes are atomic (temp file, fsync, hard link into place)."""

    def __init__(self, root: Path, executor: Executor | None = None) -> None:
        self.root = Path(root)
        self.executor = executor

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    @contextmanager
    def reader(self) -> Iterator[OpenStored]:
        """Opens stored files for reading (backups, restores): names resolve from an open
        descriptor of the folder."""
        folder = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        # Reading leaves access times alone: with relatime, a daily backup would otherwise
        # rewrite every file's inode. Only the files' owner may ask for that.
        flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)

        def open_stored(name: str) -> Readable:
            nonlocal flags
            try:
                return _OpenFile(os.open(check_name(name), flags, dir_fd=folder))
            except PermissionError:
                if flags == os.O_RDONLY:
                    raise
                flags = os.O_RDONLY
                return _OpenFile(os.open(name, flags, dir_fd=folder))

        try:
            yield open_stored
        finally:
            os.close(folder)

    async def _run(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def put(self, name: str, data: bytes, *, replace: bool = False) -> None:
        """Write `data` under `name`; FileExistsError if the name is taken, unless `replace`."""
        await self._run(self.put_sync, name, data, replace)

    async def open(self, name: str) -> BinaryIO:
        return await self._run(self.path(name).open, "rb")

    async def delete(self, name: str) -> bool:
        return await self._run(self.delete_sync, name)

    async def exists(self, name: str) -> bool:
        return await self._run(self.path(name).is_file)

    async def scan(self) -> list[StoredFile]:
        return await self._run(self.scan_sync)

    async def delete_temp(self, name: str) -> bool:
        return await self._run(self.delete_temp_sync, name)

    async def free_bytes(self) -> int:
        """Free space on the images volume, for this user."""
        return (await self._run(shutil.disk_usage, self.root)).free

    def put_sync(self, name: str, data: bytes, replace: bool = False) -> None:
        final = self.path(name)
        temp = self.root / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(temp, final)
            else:
                # link() refuses to replace an existing name, unlike rename(): a name clash
                # can never overwrite another upload.
                os.link(temp, final)
            self._sync_folder()
        except OSError as exc:
            if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                raise StorageFull(exc.errno, "no space left on the images volume") from exc
            raise
        finally:
            temp.unlink(missing_ok=True)

    def delete_sync(self, name: str) -> bool:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            return False
        self._sync_folder()
        return True

    def scan_sync(self) -> list[StoredFile]:
        """Every stored file and temp file with its age; anything else in the folder is ignored."""
        now = time.time()
        found = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                temp = entry.name.startswith(_TEMP_PREFIX)
                if not (temp or NAME_PATTERN.match(entry.name)):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:  # removed while we looked: an upload or delete ran
                    continue
                found.append(StoredFile(entry.name, max(age, 0.0), temp))
        return found

    def delete_temp_sync(self, name: str) -> bool:
        if not name.startswith(_TEMP_PREFIX) or "/" in name:
            raise ValueError(f"not a temp file name: {name!r}")
        try:
            (self.root / name).unlink()
        except FileNotFoundError:
            return False
        return True

    def _sync_folder(self) -> None:
        sync_folder(self.root)


class _OpenFile:
    """A stored file open for reading: one read per readinto, as a short read of a regular file
    is its end."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def readinto(self, buffer: memoryview, /) -> int:
        return os.readv(self.fd, [buffer])

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        os.close(self.fd)


def sync_folder(path: Path) -> None:
    """fsync a folder, so a file just linked or renamed into it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
