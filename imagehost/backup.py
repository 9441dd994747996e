"""Backups: one tar per run in BACKUP_DIR holding the records as a mongodump archive, every image
they reference and a manifest of sha256s. One run at a time across every process of the app.
"""

import asyncio
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from bson.raw_bson import RawBSONDocument
from loguru import logger

from . import __version__
from .archive import ArchiveWriter, CollectionInfo
from .database import COLLECTION, ImageRepository
from .storage import NAME_PATTERN, LocalStorage, sync_folder

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
_CHUNK = 256 * 1024
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


def read_raw_documents(stream: BinaryIO) -> Iterator[bytes]:
    """The raw BSON documents of a file that holds them back to back."""
    while head := stream.read(4):
        size = int.from_bytes(head, "little")
        body = stream.read(size - 4)
        if len(head) < 4 or len(body) != size - 4:
            raise ValueError("truncated BSON document in a work file")
        yield head + body


class _HashingReader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data


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
        total = await self.repo.count()
        records = work / "records.bson"
        count = await self._dump_records(records, total, status)
        copy = _Copy(self, work, status, count, server_version)
        backup = await asyncio.get_running_loop().run_in_executor(self._worker, copy.run)
        await self._io(self.prune)
        return backup

    async def _dump_records(self, path: Path, total: int, status: BackupStatus) -> int:
        """Stream every record into a work file: the archive's prelude needs their size first."""
        out = await self._io(open, path, "wb")
        count = 0
        buffer = bytearray()
        try:
            async for raw in self.repo.raw_documents():
                buffer += raw
                count += 1
                if len(buffer) >= _CHUNK:
                    self._check_cancel()
                    await self._io(out.write, bytes(buffer))
                    buffer.clear()
                    percent = min(9, 10 * count // max(total, 1))
                    await self._io(self.progress, status, "reading the records", percent, False)
            await self._io(out.write, bytes(buffer))
        finally:
            await self._io(out.close)
        return count

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


class _Copy:
    """The part of a run on the backup thread: images into the tar, the archive, the manifest."""

    def __init__(
        self,
        service: BackupService,
        work: Path,
        status: BackupStatus,
        count: int,
        server_version: str,
    ) -> None:
        self.service = service
        self.work = work
        self.status = status
        self.count = count
        self.server_version = server_version or "7.0.0"
        self.hashes: TextIO | None = None
        self.image_files = 0
        self.image_bytes = 0
        self.kept = 0
        self.kept_bytes = 0
        self.skipped = 0

    def run(self) -> BackupFile:
        created = utc_now()
        temp_tar = self.work / "backup.tar"
        with open(temp_tar, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                with open(self.work / "hashes.jsonl", "w", encoding="utf-8") as self.hashes:
                    self.copy_images(tar)
                    self.add_archive(tar)
                self.add_manifest(tar, created)
            raw.flush()
            os.fsync(raw.fileno())
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
            text += f"; {self.skipped} deleted during the backup were left out"
        return text

    def copy_images(self, tar: tarfile.TarFile) -> None:
        """Every record whose files can be opened goes in with them; the others are left out.

        Uploads write their files before their record, and deletes remove the record first:
        a record read from the database has its files, unless it was deleted since.
        """
        kept_path = self.work / "kept.bson"
        service = self.service
        with open(self.work / "records.bson", "rb") as records, open(kept_path, "wb") as kept:
            for index, raw in enumerate(read_raw_documents(records)):
                service._check_cancel()
                if self.copy_record_files(tar, raw):
                    kept.write(raw)
                    self.kept += 1
                    self.kept_bytes += len(raw)
                else:
                    self.skipped += 1
                percent = 10 + 80 * (index + 1) // max(self.count, 1)
                phase = f"copying images ({index + 1} of {self.count})"
                service.progress(self.status, phase, percent, force=False)
                # TarFile remembers every member it wrote; nothing here reads them back.
                tar.members.clear()

    def copy_record_files(self, tar: tarfile.TarFile, raw: bytes) -> bool:
        record = RawBSONDocument(raw)
        names = [record.get("name", ""), record.get("thumbnail", "")]
        if not names[0]:
            return False
        names = [n for n in names if n]
        if not all(isinstance(n, str) and NAME_PATTERN.match(n) for n in names):
            logger.warning(f"backup: record {record.get('_id')} has a malformed file name")
            return False
        opened: list[BinaryIO] = []
        try:
            for name in names:
                try:
                    opened.append(self.service.storage.path(name).open("rb"))
                except FileNotFoundError:
                    return False
            # Open first, copy second: a file deleted now is still readable through its handle.
            for name, stream in zip(names, opened, strict=True):
                self.add_stream(tar, IMAGES_PREFIX + name, stream, os.fstat(stream.fileno()))
                self.image_files += 1
        finally:
            for stream in opened:
                stream.close()
        return True

    def add_stream(self, tar: tarfile.TarFile, member: str, stream: BinaryIO, stat) -> None:
        info = tarfile.TarInfo(member)
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        info.mode = 0o644
        reader = _HashingReader(stream)
        tar.addfile(info, reader)
        assert self.hashes is not None
        self.hashes.write(json.dumps([member, reader.sha256.hexdigest()]) + "\n")
        if member.startswith(IMAGES_PREFIX):
            self.image_bytes += info.size

    def add_archive(self, tar: tarfile.TarFile) -> None:
        service = self.service
        service.progress(self.status, "writing the database archive", 90)
        path = self.work / ARCHIVE_MEMBER
        db = service.repo.db_name
        info = CollectionInfo(db, COLLECTION, service.repo.index_specs(), self.kept_bytes)
        with open(path, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped:
            writer = ArchiveWriter(
                zipped, server_version=self.server_version, tool_version=f"imagehost {__version__}"
            )
            writer.write_prelude([info])
            with open(self.work / "kept.bson", "rb") as kept:
                writer.write_segment(db, COLLECTION, read_raw_documents(kept))
            writer.close()
        with open(path, "rb") as stream:
            self.add_stream(tar, ARCHIVE_MEMBER, stream, os.fstat(stream.fileno()))

    def add_manifest(self, tar: tarfile.TarFile, created: datetime) -> None:
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
            with open(self.work / "hashes.jsonl", encoding="utf-8") as hashes:
                for index, line in enumerate(hashes):
                    member, digest = json.loads(line)
                    out.write(("," if index else "") + f'\n  {json.dumps(member)}: "{digest}"')
            out.write("\n }\n}\n")
        with open(path, "rb") as stream:
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size = os.fstat(stream.fileno()).st_size
            info.mtime = int(created.timestamp())
            info.mode = 0o644
            tar.addfile(info, stream)
