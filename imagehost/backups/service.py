"""Backups: one tar per run in BACKUP_DIR holding the records as a mongodump archive, every image
they reference and a manifest of sha256s. One run at a time across every process and replica of
the app: the run holds a lease in MongoDB.
"""

import asyncio
import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from loguru import logger

from ..coordination import Lease
from ..database import DatabaseUnavailable, ImageRepository
from ..storage import Storage, sync_folder
from .archive import SERVER_VERSION
from .layout import BACKUP_NAME, backup_name, backup_order, backup_time
from .records import SIDE_COLLECTIONS, RawCollection, RawRecords
from .status import (
    APP_STOPPED,
    DONE,
    ERROR,
    FINISHING,
    INTERRUPTED,
    LEASE_LOST,
    STARTING,
    BackupStatus,
    outcome_text,
)
from .writer import TAR, BackupCancelled, Counts, Source, check_cancel, write_backup

# How long a run's lease outlives its last renewal: a replica that dies mid-backup (its host
# gone) holds up the next backup this long. Renewed three times in that span.
LEASE_SECONDS = 30.0
_STATUS = ".backup-status.json"
# Work folders of runs in progress; a crashed run leaves one, removed by the next run.
_PARTIAL = ".partial-"
# Records per read from the database: the thread copies one batch while the next is read.
_BATCH = 2000


class BackupBusy(RuntimeError):
    """Another backup is running (in this process or another one)."""


@dataclass(frozen=True)
class BackupFile:
    name: str
    size: int
    created: datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class BackupReader:
    """An open backup file whose reads run on the executor."""

    def __init__(self, stream: BinaryIO, size: int, io: Callable) -> None:
        self.stream = stream
        self.size = size
        self._io = io

    async def read(self, size: int) -> bytes:
        return await self._io(self.stream.read, size)

    def close(self) -> None:
        self.stream.close()


class BackupService:
    """Start, follow, list, open and delete backups of the records and their images."""

    def __init__(
        self,
        repo: ImageRepository,
        storage: Storage,
        backup_dir: Path,
        keep: int,
        executor: Executor | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.repo = repo
        self.records = RawRecords(repo)
        self.lease = Lease(repo.client, repo.db_name, "backup", lease_seconds)
        self.storage = storage
        self.dir = Path(backup_dir)
        self.keep = keep
        self.executor = executor
        # The long copy runs on its own thread so uploads keep the shared executor.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="backup")
        self._status_path = self.dir / _STATUS
        self._cancel = threading.Event()
        self._closing = False
        self._lease_lost = False
        self._task: asyncio.Task | None = None

    async def _io(self, func: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    # -- status ----------------------------------------------------------------------------
    async def status(self) -> BackupStatus:
        status = await self._io(self._read_status)
        if status.running and not await self.lease.held():
            # Re-read: the run may have finished between the two looks.
            status = await self._io(self._read_status)
            if status.running:
                return replace(status, state="interrupted", message=INTERRUPTED)
        return status

    def _read_status(self) -> BackupStatus:
        try:
            data = json.loads(self._status_path.read_text())
        except (OSError, ValueError):
            return BackupStatus()
        known = {f.name for f in fields(BackupStatus)}
        if not isinstance(data, dict):
            return BackupStatus()
        return BackupStatus(**{k: v for k, v in data.items() if k in known})

    def _write_status(self, status: BackupStatus) -> None:
        temp = self._status_path.with_name(f"{_STATUS}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(asdict(status)))
        os.replace(temp, self._status_path)

    # -- running ---------------------------------------------------------------------------
    async def start(self) -> BackupStatus:
        """Start a backup in the background, or return the status of the one already running."""
        if not await self.lease.acquire():
            return await self._running_elsewhere()
        status = await self._io(self._begin)
        self._task = asyncio.create_task(self._in_background(status))
        return status

    async def _in_background(self, status: BackupStatus) -> None:
        # Nobody awaits this run: its failure is logged and in its status, so it ends here
        # rather than as "Task exception was never retrieved".
        with contextlib.suppress(Exception):
            await self._run_locked(status)

    async def _running_elsewhere(self) -> BackupStatus:
        # The run holding the lease may not have written its status yet: give it a moment.
        for _ in range(20):
            status = await self.status()
            if status.running:
                return status
            await asyncio.sleep(0.025)
        return BackupStatus(state="running", phase=STARTING)

    async def run(self) -> BackupFile:
        """Make a backup now and return it (the command line); BackupBusy if one is running."""
        if not await self.lease.acquire():
            holder = await self.lease.current() or {}
            where = f"on {holder.get('host', '?')}, pid {holder.get('pid', '?')}"
            raise BackupBusy(f"a backup is already running ({where})")
        status = await self._io(self._begin)
        return await self._run_locked(status)

    async def wait(self) -> None:
        """Wait for the background run this process started, if any (tests, shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        """Abandon a run in progress (the app is stopping) and stop the backup thread."""
        self._closing = True
        self._cancel.set()
        await self.wait()
        self._worker.shutdown(wait=True)

    def _begin(self) -> BackupStatus:
        self.dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.dir.glob(f"{_PARTIAL}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        status = BackupStatus(
            state="running", phase=STARTING, started=utc_now().isoformat(), pid=os.getpid()
        )
        self._write_status(status)
        return status

    async def _run_locked(self, status: BackupStatus) -> BackupFile:
        started = time.monotonic()
        work = self.dir / f"{_PARTIAL}{os.getpid()}-{int(time.time() * 1000)}"
        if not self._closing:
            self._cancel.clear()
        self._lease_lost = False
        renewing = asyncio.create_task(self._keep_lease())
        try:
            backup = await self._make(work, status)
        except BaseException as exc:
            if self._lease_lost:
                failed = replace(status, message=LEASE_LOST)
            elif isinstance(exc, BackupCancelled | asyncio.CancelledError):
                failed = replace(status, message=APP_STOPPED)
            else:
                failed = replace(status, message=ERROR, detail=f"{type(exc).__name__}: {exc}")
            logger.error(f"backup failed: {outcome_text(failed, 'en')}")
            await asyncio.shield(self._io(self._fail, work, failed))
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(DatabaseUnavailable):
                await asyncio.shield(self.lease.release())
        seconds = time.monotonic() - started
        logger.info(f"backup written file={backup.name} size={backup.size} seconds={seconds:.1f}")
        return backup

    async def _keep_lease(self) -> None:
        """Renew the run's lease while it runs; stop the run if another replica took it."""
        while True:
            await asyncio.sleep(self.lease.seconds / 3)
            try:
                ours = await self.lease.renew()
            except DatabaseUnavailable:
                continue  # the next try may reach it; the lease has two more renewals' time
            if not ours:
                self._lease_lost = True
                self._cancel.set()
                return

    def _fail(self, work: Path, status: BackupStatus) -> None:
        shutil.rmtree(work, ignore_errors=True)
        self._write_status(replace(status, state="failed", finished=utc_now().isoformat()))

    async def _make(self, work: Path, status: BackupStatus) -> BackupFile:
        await self._io(work.mkdir)
        source = Source(
            db=self.repo.db_name,
            server_version=await self.records.server_version() or SERVER_VERSION,
            indexes=self.records.index_specs(),
            total=await self.repo.estimated_count(),
            side_indexes={
                name: self.records.index_specs(specs) for name, specs in SIDE_COLLECTIONS.items()
            },
        )
        created = utc_now()
        loop = asyncio.get_running_loop()
        # The records are read while the thread copies the files of those read before.
        records = _Prefetch(self.records.batches(_BATCH), loop, self._cancel)
        # Each side collection is read when the thread comes to it, after the images: a cursor
        # opened now would sit idle (and could time out) through a long copy.
        sides = {
            name: _Prefetch(
                RawCollection(self.repo.client, self.repo.db_name, name).batches(_BATCH),
                loop, self._cancel, lazy=True,
            )
            for name in SIDE_COLLECTIONS
        }  # fmt: skip
        try:
            counts = await loop.run_in_executor(
                self._worker, self._write, work, records, source, created, status, sides
            )
        finally:
            for prefetch in (records, *sides.values()):
                await prefetch.aclose()
        await self._io(self.progress, status, FINISHING, 99)
        backup = await self._io(self._keep, work, created)
        done = replace(
            status, state="done", phase=DONE, percent=100, file=backup.name,
            records=counts.records, files=counts.image_files, left_out=counts.left_out,
            finished=utc_now().isoformat(),
        )  # fmt: skip
        await self._io(self._write_status, done)
        await self._io(self.prune)
        return backup

    def _write(
        self,
        work: Path,
        records: "_Prefetch",
        source: Source,
        created: datetime,
        status: BackupStatus,
        sides: dict[str, "_Prefetch"],
    ) -> Counts:
        """On the backup thread."""

        def progress(phase: str, percent: int, seen: int = 0, total: int = 0) -> None:
            self.progress(status, phase, percent, seen, total)

        with self.storage.reader() as open_stored:
            return write_backup(
                work, records, source, created,
                open_stored=open_stored, cancel=self._cancel, progress=progress, sides=sides,
            )  # fmt: skip

    def _keep(self, work: Path, created: datetime) -> BackupFile:
        """Put the finished tar in place under its final name."""
        name = self.final_name(created)
        final = self.dir / name
        # link(), not rename(): it never replaces a backup that appeared under the same name.
        os.link(work / TAR, final)
        sync_folder(self.dir)
        shutil.rmtree(work, ignore_errors=True)
        return BackupFile(name, final.stat().st_size, backup_time(name))

    def progress(
        self, status: BackupStatus, phase: str, percent: int, seen: int = 0, total: int = 0
    ) -> None:
        self._write_status(replace(status, phase=phase, percent=percent, seen=seen, total=total))

    # -- the files -------------------------------------------------------------------------
    def list_files_sync(self) -> list[BackupFile]:
        """Finished backups, newest first."""
        found = []
        with os.scandir(self.dir) as entries:
            for entry in entries:
                if BACKUP_NAME.match(entry.name) and entry.is_file():
                    found.append(entry.name)
        found.sort(key=backup_order, reverse=True)
        backups = []
        for name in found:
            try:
                size = (self.dir / name).stat().st_size
            except FileNotFoundError:
                continue  # deleted meanwhile
            backups.append(BackupFile(name, size, backup_time(name)))
        return backups

    async def list_files(self) -> list[BackupFile]:
        return await self._io(self.list_files_sync)

    def path(self, name: str) -> Path:
        if not BACKUP_NAME.match(name):
            raise ValueError(f"not a backup file name: {name!r}")
        return self.dir / name

    async def open(self, name: str) -> "BackupReader":
        """The backup file to read; FileNotFoundError when there is none of that name."""
        stream = await self._io(self.path(name).open, "rb")
        return BackupReader(stream, os.fstat(stream.fileno()).st_size, self._io)

    async def delete(self, name: str) -> bool:
        return await self._io(self.delete_sync, name)

    def delete_sync(self, name: str) -> bool:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            return False
        logger.info(f"backup deleted file={name}")
        return True

    def prune(self) -> list[str]:
        """Delete all but the newest `keep` backups; returns the names deleted."""
        old = [b.name for b in self.list_files_sync()[self.keep :]]
        for name in old:
            self.delete_sync(name)
        return old

    def final_name(self, when: datetime) -> str:
        name, suffix = backup_name(when), 0
        while (self.dir / name).exists():
            suffix += 1
            name = backup_name(when, suffix)
        return name


class _Prefetch:
    """The records in batches for the backup thread, read ahead on the event loop: the database
    produces the next batches while the thread copies the files of this one."""

    def __init__(
        self,
        batches: AsyncIterator[bytes],
        loop: asyncio.AbstractEventLoop,
        cancel: threading.Event,
        depth: int = 4,
        lazy: bool = False,
    ) -> None:
        """`lazy`: start reading when the thread first asks, not now."""
        self.batches = batches
        self.loop = loop
        self.cancel = cancel
        self.queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(depth)
        self.reading: asyncio.Task | None = None
        if not lazy:
            self._start()

    def _start(self) -> None:
        self.reading = self.loop.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for batch in self.batches:
                await self.queue.put(batch)
        except Exception as exc:  # the thread raises it in turn
            await self.queue.put(exc)
        else:
            await self.queue.put(b"")

    def __iter__(self) -> Iterator[bytes]:
        """The batches; runs on the backup thread."""
        if self.reading is None:
            self.loop.call_soon_threadsafe(self._start)  # runs before the get() below
        while True:
            future = asyncio.run_coroutine_threadsafe(self.queue.get(), self.loop)
            batch = self._wait(future)
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield batch

    def _wait(self, future: Future) -> bytes | BaseException:
        while True:
            try:
                return future.result(timeout=0.5)
            except TimeoutError:
                check_cancel(self.cancel)

    async def aclose(self) -> None:
        """On the event loop, once the thread is done: stop reading and close the cursor."""
        if self.reading is not None:
            self.reading.cancel()
            await asyncio.gather(self.reading, return_exceptions=True)
        await self.batches.aclose()
