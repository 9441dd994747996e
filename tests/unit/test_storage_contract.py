"""The Storage contract: what uploads, deletes, backups, restores and the consistency check rely
on. Every backend runs these tests: LocalStorage on a temp folder, S3Storage on a real Ceph RGW."""

import asyncio
import os
from contextlib import closing

import pytest

from imagehost.s3storage import S3Storage
from imagehost.storage import LocalStorage, Storage

NAME = "AAAAAAAAAAAAAAAA.jpg"
THUMB = "AAAAAAAAAAAAAAAA.thumb.jpg"
OTHER = "BBBBBBBBBBBBBBBB.png"


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> Storage:
    if request.param == "s3":
        return S3Storage(request.getfixturevalue("s3_prefix_config"))
    return LocalStorage(tmp_path)


def read_all(storage: Storage, name: str, chunk: int = 7) -> bytes:
    """A stored file through the thread-side reader, `chunk` bytes at a time."""
    parts = []
    with storage.reader() as open_stored, closing(open_stored(name)) as stream:
        buffer = memoryview(bytearray(chunk))
        while got := stream.readinto(buffer):
            parts.append(bytes(buffer[:got]))
    return b"".join(parts)


async def test_what_is_put_reads_back_through_open_and_the_reader(storage):
    data = os.urandom(3000)
    await storage.put(NAME, data)
    assert await storage.exists(NAME)
    with await storage.open(NAME) as stream:
        assert stream.read() == data
    assert await asyncio.to_thread(read_all, storage, NAME) == data


async def test_a_taken_name_is_refused_and_keeps_its_bytes_unless_replaced(storage):
    await storage.put(NAME, b"first")
    with pytest.raises(FileExistsError):
        await storage.put(NAME, b"second")
    assert await asyncio.to_thread(read_all, storage, NAME) == b"first"
    await storage.put(NAME, b"third", replace=True)
    assert await asyncio.to_thread(read_all, storage, NAME) == b"third"


async def test_of_two_puts_racing_for_one_name_one_wins_whole(storage):
    first, second = os.urandom(300_000), os.urandom(300_000)
    results = await asyncio.gather(
        storage.put(NAME, first), storage.put(NAME, second), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, FileExistsError)]
    assert len(refused) == 1 and results.count(None) == 1
    winner = first if results[0] is None else second
    assert await asyncio.to_thread(read_all, storage, NAME, 65536) == winner


async def test_delete_says_whether_there_was_a_file(storage):
    await storage.put(NAME, b"x")
    assert await storage.delete(NAME) is True
    assert await storage.delete(NAME) is False
    assert not await storage.exists(NAME)
    with pytest.raises(FileNotFoundError):
        await storage.open(NAME)


async def test_the_listing_holds_every_stored_name_and_no_temp_file(storage):
    for name in (NAME, THUMB, OTHER):
        await storage.put(name, name.encode())
    await storage.delete(OTHER)
    listed = await storage.scan()
    assert sorted(f.name for f in listed) == sorted([NAME, THUMB])
    assert all(not f.temp and f.age >= 0 for f in listed)


def test_the_reader_fills_each_buffer_unless_the_file_ends_and_knows_its_size(storage):
    data = os.urandom(10_000)
    asyncio.run(storage.put(NAME, data))
    with storage.reader() as open_stored, closing(open_stored(NAME)) as stream:
        assert stream.size() == len(data)
        buffer = memoryview(bytearray(4096))
        counts = []
        while got := stream.readinto(buffer):
            counts.append(got)
    assert counts == [4096, 4096, len(data) - 8192]


def test_the_reader_says_when_a_file_is_missing(storage):
    with storage.reader() as open_stored, pytest.raises(FileNotFoundError):
        open_stored(NAME)


def test_a_file_opened_by_the_reader_stays_readable_after_its_delete(storage):
    # A backup opens a record's files first and copies them second.
    data = os.urandom(2000)
    asyncio.run(storage.put(NAME, data))
    with storage.reader() as open_stored, closing(open_stored(NAME)) as stream:
        assert asyncio.run(storage.delete(NAME))
        buffer = memoryview(bytearray(len(data) + 1))
        assert stream.readinto(buffer) == len(data) and buffer[: len(data)] == data


@pytest.mark.parametrize("bad", ["../x.jpg", "AAAAAAAAAAAAAAAA.exe", "short.jpg", ""])
async def test_names_the_backend_never_makes_are_refused(storage, bad):
    with pytest.raises(ValueError):
        await storage.put(bad, b"x")
    with pytest.raises(ValueError):
        await storage.open(bad)
    with storage.reader() as open_stored, pytest.raises(ValueError):
        open_stored(bad)
