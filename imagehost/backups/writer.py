"""One backup's tar, written on the backup thread from plain inputs: the records in raw batches,
a function that opens stored files, a cancel event and a progress callback. It returns the counts;
the service names the file and writes every status."""

import gzip
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO

import bson
from loguru import logger

from .. import __version__
from ..database import COLLECTION, record_files
from ..storage import OpenStored, Readable
from .archive import ArchiveWriter, CollectionInfo
from .layout import (
    ARCHIVE_MEMBER,
    IMAGES_PREFIX,
    MANIFEST_FORMAT,
    MANIFEST_MEMBER,
    MANIFEST_VERSION,
)
from .records import split_documents
from .status import ARCHIVE, COPYING, MANIFEST
from .tar import FileChanged, TarWriter

TAR = "backup.tar"  # in the work folder, until the service links it into place
_SEGMENTS = "segments.gz"  # the archive's records, written during the copy
_ENTRIES = "entries.txt"  # the manifest's files, written during the copy
_SYNC_EVERY = 64 * 1024 * 1024  # bytes of tar between two background syncs
_STATUS_EVERY = 0.25  # seconds between two progress reports


class Progress(Protocol):
    """Told a phase (a key of backups.status) and its percent; while copying, at most every
    _STATUS_EVERY seconds, with the records seen of the total expected."""

    def __call__(self, phase: str, percent: int, seen: int = 0, total: int = 0) -> None: ...


class BackupCancelled(RuntimeError):
    """The app is stopping; the run was abandoned and its work folder removed."""


@dataclass(frozen=True)
class Source:
    """What the manifest and the archive say about the database the records come from."""

    db: str
    server_version: str
    indexes: list[dict]
    total: int  # the records expected, for progress only (an estimate)
    # The side collections (records.SIDE_COLLECTIONS) and their indexes, in archive order.
    side_indexes: Mapping[str, list[dict]] = field(default_factory=dict)


@dataclass
class Counts:
    records: int = 0
    image_files: int = 0
    image_bytes: int = 0
    left_out: int = 0
    record_bytes: int = 0  # the kept records' BSON, which the archive's prelude states
    collections: dict[str, int] = field(default_factory=dict)  # side documents, by collection
    side_bytes: dict[str, int] = field(default_factory=dict)  # and their BSON's size


def check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise BackupCancelled("the app is stopping")


def write_backup(
    work: Path,
    records: Iterable[bytes],
    source: Source,
    created: datetime,
    *,
    open_stored: OpenStored,
    cancel: threading.Event,
    progress: Progress,
    sides: Mapping[str, Iterable[bytes]] | None = None,
) -> Counts:
    """Write `work`/backup.tar: every record whose files can be read, with them, then the
    mongodump archive of those records and of the side collections (`sides`: each one's raw
    batches, read once the images are copied), then the manifest. Returns what went in."""
    counts = Counts()
    fd = os.open(work / TAR, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        tar = TarWriter(fd)
        with (
            open(work / _ENTRIES, "w", encoding="utf-8") as listing,
            ThreadPoolExecutor(1, thread_name_prefix="backup-sync") as syncer,
        ):
            copy = _Copy(tar, listing, open_stored, counts, int(created.timestamp()))
            copy.images(
                work / _SEGMENTS, records, source, cancel, _Syncer(tar, syncer), progress,
                sides or {},
            )  # fmt: skip
            progress(ARCHIVE, 90)
            archive = _write_archive(work, source, counts)
            listing.write(_entry(ARCHIVE_MEMBER, _add_work_file(tar, ARCHIVE_MEMBER, archive)))
        progress(MANIFEST, 97)
        manifest = work / MANIFEST_MEMBER
        with (
            open(manifest, "w", encoding="utf-8") as out,
            open(work / _ENTRIES, encoding="utf-8") as listing,
        ):
            write_manifest(out, manifest_head(source, created, counts), listing)
        _add_work_file(tar, MANIFEST_MEMBER, manifest, int(created.timestamp()))
        tar.close()
        os.fsync(fd)
    finally:
        os.close(fd)
    return counts


class _Syncer:
    """Has the tar written to disk during the copy, so the final fsync has little left."""

    def __init__(self, tar: TarWriter, pool: ThreadPoolExecutor) -> None:
        self.tar = tar
        self.pool = pool
        self.syncing: Future | None = None
        self.synced = 0  # the tar's length when the last background sync began

    def behind(self) -> None:
        if self.syncing is not None:
            if not self.syncing.done():
                return
            # Raised here or never: the kernel reports a write error to one sync only.
            self.syncing.result()
        if self.tar.mark() - self.synced >= _SYNC_EVERY:
            self.synced = self.tar.mark()
            self.syncing = self.pool.submit(os.fdatasync, self.tar.fd)

    def finish(self) -> None:
        if self.syncing is not None:
            self.syncing.result()  # its error, if any


class _Copy:
    """The records' files into the tar, their entries into the listing, the counts kept."""

    def __init__(
        self,
        tar: TarWriter,
        listing: TextIO,
        open_stored: OpenStored,
        counts: Counts,
        mtime: int,
    ) -> None:
        self.tar = tar
        self.listing = listing
        self.open_stored = open_stored
        self.counts = counts
        self.mtime = mtime  # for a record without an upload time

    def images(
        self,
        segments_path: Path,
        records: Iterable[bytes],
        source: Source,
        cancel: threading.Event,
        syncer: _Syncer,
        progress: Progress,
        sides: Mapping[str, Iterable[bytes]],
    ) -> None:
        """Every record whose files can be opened goes in with them; the others are left out.
        Then the side collections' documents, as they are.

        Uploads write their files before their record, and deletes remove the record first:
        a record read from the database has its files, unless it was deleted since.
        """
        seen, next_report = 0, 0.0
        with (
            open(segments_path, "wb") as out,
            # Level 1: a tenth of level 9's time, for 10% more bytes (a few % of a backup).
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped,
        ):
            # The records go into the archive a batch at a time; its prelude, which holds their
            # total size, is put in front at the end (_write_archive).
            segments = ArchiveWriter(zipped)
            names = [COLLECTION, *source.side_indexes]
            infos = [CollectionInfo(source.db, name, [], 0) for name in names]
            segments.write_prelude(infos, elsewhere=True)
            for batch in records:
                left_out, entries = set(), []
                for index, record in enumerate(bson.decode_all(batch)):
                    check_cancel(cancel)
                    if not self.record(record, entries):
                        left_out.add(index)
                    seen += 1
                    if time.monotonic() >= next_report:
                        next_report = time.monotonic() + _STATUS_EVERY
                        total = max(source.total, seen)
                        progress(COPYING, 90 * seen // total, seen, total)
                segments.write_segment(source.db, COLLECTION, self.kept(batch, left_out))
                syncer.behind()
                self.listing.writelines(entries)
            for name in source.side_indexes:
                self.counts.collections[name] = self.counts.side_bytes[name] = 0
                for batch in sides.get(name, ()):
                    check_cancel(cancel)
                    docs = list(split_documents(batch))
                    segments.write_segment(source.db, name, docs)
                    self.counts.collections[name] += len(docs)
                    self.counts.side_bytes[name] += len(batch)
            segments.close()
        syncer.finish()

    def kept(self, batch: bytes, left_out: set[int]) -> Iterator[bytes]:
        """The records of a batch whose files are in the tar (counted)."""
        for index, raw in enumerate(split_documents(batch)):
            if index in left_out:
                self.counts.left_out += 1
            else:
                self.counts.records += 1
                self.counts.record_bytes += len(raw)
                yield raw

    def record(self, record: dict, entries: list[str]) -> bool:
        """Copy a record's files, adding their manifest entries; False when it is left out."""
        name = record.get("name")
        if not name:
            return False
        names = record_files(name, record.get("thumbnail"))
        opened: list[Readable] = []
        try:
            # Open first, copy second: a file deleted now is still readable through its handle.
            for stored in names:
                opened.append(self.open_stored(stored))
        except FileNotFoundError:
            return _close(opened, False)
        except (ValueError, TypeError):
            logger.warning(f"backup: record {record.get('_id')} has a malformed file name")
            return _close(opened, False)
        # The upload's time, which is the files' (they are never modified): no stat needed.
        created_ms = record.get("created_ms")
        mtime = created_ms // 1000 if isinstance(created_ms, int) else self.mtime
        mark, before, total = self.tar.mark(), len(entries), 0
        try:
            for stored, stream in zip(names, opened, strict=True):
                member = IMAGES_PREFIX + stored
                size, digest = self.tar.add_open_file(member, stream, mtime)
                entries.append(_entry(member, digest))
                total += size
        except FileChanged as exc:
            self.tar.undo(mark)
            del entries[before:]
            logger.warning(f"backup: {exc}; record {record.get('_id')} is left out")
            return _close(opened, False)
        self.counts.image_files += len(names)
        self.counts.image_bytes += total
        return _close(opened, True)


def _close(streams: list[Readable], result: bool) -> bool:
    for stream in streams:
        stream.close()
    return result


def _entry(member: str, digest: str) -> str:
    """One line of the manifest's files, each with the comma that comes before it."""
    # Valid JSON without escaping: stored names are letters, digits and "_-.", as are ours.
    return f',\n  "{member}": "{digest}"'


def _add_work_file(tar: TarWriter, member: str, path: Path, mtime: int | None = None) -> str:
    """Add a file of the work folder; its sha256."""
    with open(path, "rb", buffering=0) as stream:
        stat = os.fstat(stream.fileno())
        when = int(stat.st_mtime) if mtime is None else mtime
        return tar.add_file(member, stream, stat.st_size, when)


def _write_archive(work: Path, source: Source, counts: Counts) -> Path:
    """The mongodump archive: its prelude, then the segments written during the copy."""
    path = work / ARCHIVE_MEMBER
    infos = [CollectionInfo(source.db, COLLECTION, source.indexes, counts.record_bytes)] + [
        CollectionInfo(source.db, name, indexes, counts.side_bytes.get(name, 0))
        for name, indexes in source.side_indexes.items()
    ]
    with open(path, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped:
            ArchiveWriter(
                zipped,
                server_version=source.server_version,
                tool_version=f"imagehost {__version__}",
            ).write_prelude(infos)
        # The segments follow as a second gzip member: gzip readers (Python's, Go's in
        # mongorestore) read a file of several members as one stream.
        with open(work / _SEGMENTS, "rb") as segments:
            shutil.copyfileobj(segments, out)
    return path


def manifest_head(source: Source, created: datetime, counts: Counts) -> dict:
    """The manifest's fields before its files."""
    totals = asdict(counts)
    del totals["record_bytes"], totals["side_bytes"]
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "app": "imagehost",
        "app_version": __version__,
        "created": created.isoformat(),
        "database": {
            "db": source.db,
            "collection": COLLECTION,
            "server_version": source.server_version,
            "archive": ARCHIVE_MEMBER,
        },
        "counts": totals,
    }


def write_manifest(out: TextIO, head: Mapping, listing: TextIO) -> None:
    """The manifest as `json.dumps(..., indent=1)` writes it, with "files" last and copied from
    the listing (entries each with the comma before it): the files are never all in memory."""
    out.write("{\n")
    for key, value in head.items():
        nested = json.dumps(value, indent=1).replace("\n", "\n ")  # one level deeper
        out.write(f" {json.dumps(key)}: {nested},\n")
    out.write(' "files": {')
    if listing.read(1):  # the first entry's comma
        shutil.copyfileobj(listing, out)
        out.write("\n ")
    out.write("}\n}\n")
