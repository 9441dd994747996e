"""Backups: one tar per run in BACKUP_DIR holding the records as a mongodump archive, every image
they reference and a manifest of sha256s. One run at a time across every process of the app.
"""

import asyncio
import fcntl
import gzip
import json
import os
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

import bson
from loguru import logger

from .. import __version__
from ..database import COLLECTION, ImageRepository, split_documents
from ..storage import LocalStorage, sync_folder
from .archive import ArchiveWriter, CollectionInfo
from .tar import FileChanged, TarWriter

BACKUP_NAME = re.compile(r"^imagehost-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar$")
ARCHIVE_MEMBER = "mongodump.archive.gz"
MANIFEST_MEMBER = "manifest.json"
IMAGES_PREFIX = "images/"
MANIFEST_FORMAT = "imagehost-backup"
MANIFEST_VERSION = 1
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

_LOCK = ".backup.lock"
_STATUS = ".backup-status.json"
# Work folders of runs in progress; a crashed run leaves one, removed by the next run.
_PARTIAL = ".partial-"
# Records per read from the database: the thread copies one batch while the next is read.
_BATCH = 2000
_SEGMENTS = "segments.gz"  # the archive's records, written during the copy
_SYNC_EVERY = 64 * 1024 * 1024  # bytes of tar between two background syncs
_STATUS_EVERY = 0.25  # seconds between two progress writes


class BackupBusy(RuntimeError):
    """Another backup is running (in this process or another one)."""


class BackupCancelled(RuntimeError):
    """The app is stopping; the run was abandoned and its work folder removed."""


@dataclass(frozen=True)
class BackupFile:
    name: str
    size: int
    created: datetime


@dataclass(frozen=True)
class BackupStatus:
    """The last run as every worker sees it (BACKUP_DIR/.backup-status.json)."""

    state: str = "idle"  # idle, running, done, failed, interrupted
    phase: str = ""
    percent: int = 0
    file: str = ""
    message: str = ""
    started: str = ""
    finished: str = ""
    pid: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ended(self) -> bool:
        return self.state in ("done", "failed", "interrupted")


def utc_now() -> datetime:
    return datetime.now(UTC)


def backup_time(name: str) -> datetime:
    match = BACKUP_NAME.match(name)
    if not match:
        raise ValueError(f"not a backup file name: {name!r}")
    return datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)


def _order(name: str) -> tuple[str, int]:
    match = BACKUP_NAME.match(name)
    assert match
    return match.group(1), int(match.group(2) or 0)


class _Lock:
    """An fcntl lock on BACKUP_DIR/.backup.lock: held by the process running a backup."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None

    def is_held(self) -> bool:
        """True while a run (in this process or another one) holds the lock."""
        probe = _Lock(self.path)
        if probe.acquire():
            probe.release()
            return False
        return True


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
        storage: LocalStorage,
        backup_dir: Path,
        keep: int,
        executor: Executor | None = None,
    ) -> None:
        self.repo = repo
        self.storage = storage
        self.dir = Path(backup_dir)
        self.keep = keep
        self.executor = executor
        # The long copy runs on its own thread so uploads keep the shared executor.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="backup")
        self._lock_path = self.dir / _LOCK
        self._status_path = self.dir / _STATUS
        self._cancel = threading.Event()
        self._task: asyncio.Task | None = None
        self._last_write = 0.0

    async def _io(self, func: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    # -- status ----------------------------------------------------------------------------
    async def status(self) -> BackupStatus:
        return await self._io(self.status_sync)

    def status_sync(self) -> BackupStatus:
        status = self._read_status()
        if status.running and not _Lock(self._lock_path).is_held():
            # Re-read: the run may have finished between the two looks.
            status = self._read_status()
            if status.running:
                message = "the backup stopped before it finished (its process ended)"
                return replace(status, state="interrupted", message=message)
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

    def _write_status(self, status: BackupStatus, *, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < _STATUS_EVERY:
            return
        self._last_write = now
        temp = self._status_path.with_name(f"{_STATUS}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(asdict(status)))
        os.replace(temp, self._status_path)

    # -- running ---------------------------------------------------------------------------
    async def start(self) -> BackupStatus:
        """Start a backup in the background, or return the status of the one already running."""
        lock = _Lock(self._lock_path)
        if not await self._io(lock.acquire):
            return await self._running_elsewhere()
        status = await self._io(self._begin)
        self._task = asyncio.create_task(self._run_locked(lock, status))
        return status

    async def _running_elsewhere(self) -> BackupStatus:
        # The run holding the lock may not have written its status yet: give it a moment.
        for _ in range(20):
            status = await self.status()
            if status.running:
                return status
            await asyncio.sleep(0.025)
        return BackupStatus(state="running", phase="starting")

    async def run(self) -> BackupFile:
        """Make a backup now and return it (the command line); BackupBusy if one is running."""
        lock = _Lock(self._lock_path)
        if not await self._io(lock.acquire):
            raise BackupBusy(f"a backup is already running (pid {self._read_status().pid})")
        status = await self._io(self._begin)
        return await self._run_locked(lock, status)

    async def wait(self) -> None:
        """Wait for the background run this process started, if any (tests, shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        """Abandon a run in progress (the app is stopping) and stop the backup thread."""
        self._cancel.set()
        await self.wait()
        self._worker.shutdown(wait=True)

    def _begin(self) -> BackupStatus:
        self.dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.dir.glob(f"{_PARTIAL}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        status = BackupStatus(
            state="running", phase="starting", started=utc_now().isoformat(), pid=os.getpid()
        )
        self._write_status(status)
        return status

    async def _run_locked(self, lock: _Lock, status: BackupStatus) -> BackupFile:
        started = time.monotonic()
        work = self.dir / f"{_PARTIAL}{os.getpid()}-{int(time.time() * 1000)}"
        try:
            backup = await self._make(work, status)
        except BaseException as exc:
            if isinstance(exc, BackupCancelled | asyncio.CancelledError):
                message = "the app stopped during the backup"
            else:
                message = f"{type(exc).__name__}: {exc}"
            logger.error(f"backup failed: {message}")
            await asyncio.shield(self._io(self._fail, work, status, message))
            raise
        finally:
            lock.release()
        seconds = time.monotonic() - started
        logger.info(f"backup written file={backup.name} size={backup.size} seconds={seconds:.1f}")
        return backup

    def _fail(self, work: Path, status: BackupStatus, message: str) -> None:
        shutil.rmtree(work, ignore_errors=True)
        finished = utc_now().isoformat()
        self._write_status(replace(status, state="failed", message=message, finished=finished))

    async def _make(self, work: Path, status: BackupStatus) -> BackupFile:
        await self._io(work.mkdir)
        server_version = await self.repo.server_version()
        total = await self.repo.estimated_count()
        loop = asyncio.get_running_loop()
        # The records are read while the thread copies the files of those read before.
        records = _Prefetch(self.repo.raw_batches(_BATCH), loop, self._check_cancel)
        try:
            copy = _Copy(self, work, status, total, server_version, records)
            backup = await loop.run_in_executor(self._worker, copy.run)
        finally:
            await records.aclose()
        await self._io(self.prune)
        return backup

    def progress(self, status: BackupStatus, phase: str, percent: int, force: bool = True) -> None:
        self._write_status(replace(status, phase=phase, percent=percent), force=force)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise BackupCancelled("the app is stopping")

    # -- the files -------------------------------------------------------------------------
    def list_files_sync(self) -> list[BackupFile]:
        """Finished backups, newest first."""
        found = []
        with os.scandir(self.dir) as entries:
            for entry in entries:
                if BACKUP_NAME.match(entry.name) and entry.is_file():
                    found.append(entry.name)
        found.sort(key=_order, reverse=True)
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
        stamp = when.strftime(STAMP_FORMAT)
        name, suffix = f"imagehost-{stamp}.tar", 0
        while (self.dir / name).exists():
            suffix += 1
            name = f"imagehost-{stamp}-{suffix}.tar"
        return name


class _Prefetch:
    """The records in batches for the backup thread, read ahead on the event loop: the database
    produces the next batches while the thread copies the files of this one."""

    def __init__(
        self,
        batches: AsyncIterator[bytes],
        loop: asyncio.AbstractEventLoop,
        check_cancel: Callable[[], None],
        depth: int = 4,
    ) -> None:
        self.batches = batches
        self.loop = loop
        self.check_cancel = check_cancel
        self.queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(depth)
        self.reading = loop.create_task(self._read())

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
                self.check_cancel()

    async def aclose(self) -> None:
        """On the event loop, once the thread is done: stop reading and close the cursor."""
        self.reading.cancel()
        await asyncio.gather(self.reading, return_exceptions=True)
        await self.batches.aclose()


def _entry(member: str, digest: str) -> str:
    """One line of the manifest's files, each with the comma that comes before it."""
    # Valid JSON without escaping: stored names are letters, digits and "_-.", as are ours.
    return f',\n  "{member}": "{digest}"'


class _Copy:
    """The part of a run on the backup thread: images into the tar, the archive, the manifest."""

    def __init__(
        self,
        service: BackupService,
        work: Path,
        status: BackupStatus,
        total: int,
        server_version: str,
        records: Iterable[bytes],
    ) -> None:
        self.service = service
        self.work = work
        self.status = status
        self.total = total
        self.records = records
        self.server_version = server_version or "7.0.0"
        self.listing: TextIO | None = None
        self.image_files = 0
        self.image_bytes = 0
        self.kept = 0
        self.kept_bytes = 0
        self.skipped = 0
        self._next_status = 0.0
        self.created = utc_now()
        self.mtime = int(self.created.timestamp())
        self.entries: list[str] = []  # the manifest's lines for the files of this batch
        self.open_stored: Callable[[str], int] | None = None
        self.syncer: ThreadPoolExecutor | None = None
        self.syncing: Future | None = None
        self.synced = 0  # the tar's length when the last background sync began

    def run(self) -> BackupFile:
        created = self.created
        temp_tar = self.work / "backup.tar"
        fd = os.open(temp_tar, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            tar = TarWriter(fd)
            with (
                ThreadPoolExecutor(1, thread_name_prefix="backup-sync") as self.syncer,
                open(self.work / "entries.txt", "w", encoding="utf-8") as self.listing,
            ):
                self.copy_images(tar)
                self.add_archive(tar)
                if self.syncing is not None:
                    self.syncing.result()  # its error, if any
            self.add_manifest(tar, created)
            tar.close()
            os.fsync(fd)
        finally:
            os.close(fd)
        service = self.service
        service.progress(self.status, "finishing", 99)
        name = service.final_name(created)
        final = service.dir / name
        # link(), not rename(): it never replaces a backup that appeared under the same name.
        os.link(temp_tar, final)
        sync_folder(service.dir)
        shutil.rmtree(self.work, ignore_errors=True)
        size = final.stat().st_size
        done = replace(
            self.status, state="done", phase="done", percent=100, file=name,
            finished=utc_now().isoformat(), message=self.summary(),
        )  # fmt: skip
        service._write_status(done)
        return BackupFile(name, size, backup_time(name))

    def summary(self) -> str:
        text = f"{self.kept} image{'s' * (self.kept != 1)}, {self.image_files} files"
        if self.skipped:
            text += f"; {self.skipped} deleted or changed during the backup were left out"
        return text

    def copy_images(self, tar: TarWriter) -> None:
        """Every record whose files can be opened goes in with them; the others are left out.

        Uploads write their files before their record, and deletes remove the record first:
        a record read from the database has its files, unless it was deleted since.
        """
        check_cancel = self.service._check_cancel
        seen = 0
        db = self.service.repo.db_name
        with (
            open(self.work / _SEGMENTS, "wb") as out,
            # Level 1: a tenth of level 9's time, for 10% more bytes (a few % of a backup).
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped,
            self.service.storage.reader() as self.open_stored,
        ):
            # The records go into the archive a batch at a time; its prelude, which holds their
            # total size, is put in front at the end (add_archive).
            segments = ArchiveWriter(zipped)
            segments.write_prelude([CollectionInfo(db, COLLECTION, [], 0)], elsewhere=True)
            for batch in self.records:
                left_out = set()
                for index, record in enumerate(bson.decode_all(batch)):
                    check_cancel()
                    if not self.copy_record_files(tar, record):
                        left_out.add(index)
                    seen += 1
                    if time.monotonic() >= self._next_status:
                        self.show_progress(seen)
                segments.write_segment(db, COLLECTION, self.kept_records(batch, left_out))
                self.sync_behind(tar)
                assert self.listing is not None
                self.listing.writelines(self.entries)
                self.entries.clear()
            segments.close()

    def sync_behind(self, tar: TarWriter) -> None:
        """Have the tar written to disk during the copy, so the final fsync has little left."""
        if self.syncing is not None:
            if not self.syncing.done():
                return
            # Raised here or never: the kernel reports a write error to one sync only.
            self.syncing.result()
        if tar.mark() - self.synced >= _SYNC_EVERY:
            assert self.syncer is not None
            self.synced = tar.mark()
            self.syncing = self.syncer.submit(os.fdatasync, tar.fd)

    def kept_records(self, batch: bytes, left_out: set[int]) -> Iterator[bytes]:
        """The records of a batch whose files are in the tar (counted)."""
        for index, raw in enumerate(split_documents(batch)):
            if index in left_out:
                self.skipped += 1
            else:
                self.kept += 1
                self.kept_bytes += len(raw)
                yield raw

    def show_progress(self, seen: int) -> None:
        self._next_status = time.monotonic() + _STATUS_EVERY
        total = max(self.total, seen)
        phase = f"copying images ({seen} of {total})"
        self.service.progress(self.status, phase, 90 * seen // total)

    def copy_record_files(self, tar: TarWriter, record: dict) -> bool:
        name, thumbnail = record.get("name"), record.get("thumbnail")
        if not name:
            return False
        names = (name, thumbnail) if thumbnail else (name,)
        opened: list[int] = []
        assert self.open_stored is not None
        try:
            # Open first, copy second: a file deleted now is still readable through its handle.
            for stored in names:
                opened.append(self.open_stored(stored))
        except FileNotFoundError:
            return self._close(opened, False)
        except (ValueError, TypeError):
            logger.warning(f"backup: record {record.get('_id')} has a malformed file name")
            return self._close(opened, False)
        # The upload's time, which is the files' (they are never modified): no stat needed.
        created_ms = record.get("created_ms")
        mtime = created_ms // 1000 if isinstance(created_ms, int) else self.mtime
        mark = tar.mark()
        entries = len(self.entries)
        total = 0
        try:
            for stored, fd in zip(names, opened, strict=True):
                member = IMAGES_PREFIX + stored
                size, digest = tar.add_open_file(member, fd, mtime)
                self.entries.append(_entry(member, digest))
                total += size
        except FileChanged as exc:
            tar.undo(mark)
            del self.entries[entries:]
            logger.warning(f"backup: {exc}; record {record.get('_id')} is left out")
            return self._close(opened, False)
        self.image_files += len(names)
        self.image_bytes += total
        return self._close(opened, True)

    @staticmethod
    def _close(fds: list[int], result: bool) -> bool:
        for fd in fds:
            os.close(fd)
        return result

    @staticmethod
    def add_path(tar: TarWriter, member: str, path: Path, mtime: int | None = None) -> str:
        """Add a work file; its sha256."""
        fd = os.open(path, os.O_RDONLY)
        try:
            stat = os.fstat(fd)
            when = int(stat.st_mtime) if mtime is None else mtime
            return tar.add_file(member, fd, stat.st_size, when)
        finally:
            os.close(fd)

    def add_archive(self, tar: TarWriter) -> None:
        service = self.service
        service.progress(self.status, "writing the database archive", 90)
        path = self.work / ARCHIVE_MEMBER
        db = service.repo.db_name
        info = CollectionInfo(db, COLLECTION, service.repo.index_specs(), self.kept_bytes)
        with open(path, "wb") as out:
            with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped:
                ArchiveWriter(
                    zipped,
                    server_version=self.server_version,
                    tool_version=f"imagehost {__version__}",
                ).write_prelude([info])
            # The segments follow as a second gzip member: gzip readers (Python's, Go's in
            # mongorestore) read a file of several members as one stream.
            with open(self.work / _SEGMENTS, "rb") as segments:
                shutil.copyfileobj(segments, out)
        assert self.listing is not None
        self.listing.write(_entry(ARCHIVE_MEMBER, self.add_path(tar, ARCHIVE_MEMBER, path)))

    def add_manifest(self, tar: TarWriter, created: datetime) -> None:
        """manifest.json, written entry by entry from the work file (never all in memory)."""
        self.service.progress(self.status, "writing the manifest", 97)
        head = {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "app": "imagehost",
            "app_version": __version__,
            "created": created.isoformat(),
            "database": {
                "db": self.service.repo.db_name,
                "collection": COLLECTION,
                "server_version": self.server_version,
                "archive": ARCHIVE_MEMBER,
            },
            "counts": {
                "records": self.kept,
                "image_files": self.image_files,
                "image_bytes": self.image_bytes,
                "left_out": self.skipped,
            },
        }
        path = self.work / MANIFEST_MEMBER
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps(head, indent=1)[:-2] + ',\n "files": {')
            with open(self.work / "entries.txt", encoding="utf-8") as entries:
                entries.read(1)  # the first entry's comma
                shutil.copyfileobj(entries, out)
            out.write("\n }\n}\n")
        self.add_path(tar, MANIFEST_MEMBER, path, int(created.timestamp()))
