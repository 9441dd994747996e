"""Helpers for the backup tests: records with files made quickly, and reading a backup back."""

import asyncio
import gzip
import hashlib
import io
import json
import os
import secrets
import tarfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import bson

from imagehost.backups import writer as writer_module
from imagehost.backups.records import RawRecords, split_documents
from imagehost.database import ImageRecord
from tests import images
from tests.records import image_record

# Real mongodump archives from mongo-tools' test data (origin and licence in its README.md).
MONGODUMP = Path(__file__).resolve().parent / "data" / "mongodump"


def filler_record(index: int, size: int) -> ImageRecord:
    """A record under a fresh random name whose files the test writes itself: set-up for tests
    that copy files as they are and never decode them."""
    stem = secrets.token_urlsafe(12)
    name, thumbnail = f"{stem}.png", f"{stem}.thumb.jpg"
    return image_record(name, original_name=f"r{index}.png", size=size, thumbnail=thumbnail)


async def add_records(ctx, count: int, size: int = 1000) -> list[ImageRecord]:
    """`count` records, each with an image and a thumbnail of random bytes (the backup copies
    files as they are; it never decodes them). Written directly: this is set-up, not the test."""
    records = []
    for index in range(count):
        record = filler_record(index, size)
        ctx.storage.path(record.name).write_bytes(os.urandom(size))
        ctx.storage.path(record.thumbnail).write_bytes(os.urandom(max(1, size // 10)))
        records.append(record)
    await RawRecords(ctx.repo).insert(bson.encode(record.to_document()) for record in records)
    return records


async def raw_records(ctx) -> list[bytes]:
    batches = RawRecords(ctx.repo).batches(100)
    return [raw async for batch in batches for raw in split_documents(batch)]


def stored_files(ctx) -> dict[str, bytes]:
    root = ctx.settings.images_dir
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def read_everything(storage) -> dict[str, bytes]:
    """Every stored file's bytes, through the interface (scan, then the streaming reader)."""
    names = sorted(f.name for f in asyncio.run(storage.scan()) if not f.temp)
    found = {}
    with storage.reader() as open_stored:
        for name in names:
            with closing(open_stored(name)) as stream:
                buffer = memoryview(bytearray(stream.size()))
                assert stream.readinto(buffer) == len(buffer)
                found[name] = bytes(buffer)
    return found


def wipe(ctx) -> None:
    """Lose everything the backup should bring back: the images folder's files (the database
    is emptied by the caller, which is async)."""
    for path in ctx.settings.images_dir.iterdir():
        path.unlink()


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {info.name: tar.extractfile(info).read() for info in tar.getmembers()}


def rewrite_backup(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Rewrite a backup with some members changed and the manifest's sha256s made to match,
    so that only the checks below the manifest can notice."""
    contents = members(path)
    manifest = json.loads(contents["manifest.json"])
    for name in list(contents):
        if name != "manifest.json":
            contents[name] = change(name, contents[name])
            manifest["files"][name] = hashlib.sha256(contents[name]).hexdigest()
    contents["manifest.json"] = json.dumps(manifest).encode()
    write_backup(path, contents)


def write_backup(path: Path, contents: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def regzip(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    return gzip.compress(change(gzip.decompress(data)))


def slow_copy(monkeypatch, seconds_per_record: float) -> None:
    """Make the backup's copy slow (a slow disk), so that other things happen during it."""
    copy_files = writer_module._Copy.record

    def slowly(self, record, entries):
        time.sleep(seconds_per_record)
        return copy_files(self, record, entries)

    monkeypatch.setattr(writer_module._Copy, "record", slowly)


async def upload_three(client) -> list[dict]:
    bodies = []
    for data, name in (
        (images.jpeg((90, 60)), "photo.jpg"),
        (images.png((30, 20), mode="RGBA"), "logo.png"),
        (images.gif(frames=3), "anim.gif"),
    ):
        bodies.append(await client.uploaded(data, name))
    return bodies
