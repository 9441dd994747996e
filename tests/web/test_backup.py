"""Backups and restores with the app and the embedded database: the button, the file, the round
trip, damage, concurrency, crashes, retention and foreign archives."""

import asyncio
import gc
import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import tracemalloc
from concurrent.futures import wait
from pathlib import Path

import bson
import pytest

from imagehost import ROOT
from imagehost.backups import archive as archive_module
from imagehost.backups import restore as restore_module
from imagehost.backups import service as backup_module
from imagehost.backups import status as backup_status
from imagehost.backups import tar as tarwriter
from imagehost.backups import writer as writer_module
from imagehost.backups.archive import ArchiveWriter, CollectionInfo
from imagehost.backups.layout import BACKUP_NAME
from imagehost.backups.restore import RestoreError, restore
from imagehost.database import DatabaseUnavailable
from tests import images
from tests.backups import (
    MONGODUMP,
    add_records,
    members,
    raw_records,
    regzip,
    rewrite_backup,
    slow_copy,
    stored_files,
    upload_three,
    wipe,
    write_backup,
)
from tests.cli import command_env, start_imagehost
from tests.unit.mongodump_reader import FormatError, parse_archive


async def finished_backup(ctx) -> Path:
    backup = await ctx.backups.run()
    return ctx.backups.path(backup.name)


async def backed_up_then_lost(ctx, count: int) -> tuple[list, Path]:
    """`count` records backed up, then the database and the images folder emptied."""
    records = await add_records(ctx, count)
    path = await finished_backup(ctx)
    await ctx.repo.delete_all()
    wipe(ctx)
    return records, path


def backup_files(ctx) -> list[str]:
    return sorted(p.name for p in ctx.settings.backup_dir.iterdir() if BACKUP_NAME.match(p.name))


# -- the button and its progress -------------------------------------------------------------
async def test_the_button_starts_a_backup_whose_progress_reaches_100_and_lists_it(admin, client):
    await upload_three(client)
    response = await admin.request("POST", "/backup/", htmx=True)
    assert response.code == 200 and 'id="backup-status"' in response.body.decode()
    for _ in range(200):
        fragment = await admin.request("GET", "/backup/", htmx=True)
        if "HX-Trigger" in fragment.headers:
            break
        assert 'hx-trigger="every 1s"' in fragment.body.decode()  # still polling itself
        await asyncio.sleep(0.05)
    assert fragment.headers["HX-Trigger"] == "backups-changed"
    done = fragment.body.decode()
    assert 'value="100"' in done and "every 1s" not in done  # polling stops
    listing = (await admin.request("GET", "/admin/backups", htmx=True)).body.decode()
    name = re.search(r"imagehost-\d{8}T\d{6}Z(-\d+)?\.tar", done).group(0)
    assert f'href="/admin/backups/{name}"' in listing


async def test_pressing_again_while_a_backup_runs_shows_that_run(admin, ctx):
    await add_records(ctx, 30, size=512 * 1024)
    first, second = await asyncio.gather(
        admin.request("POST", "/backup/", headers={"Accept": "application/json"}),
        admin.request("POST", "/backup/", headers={"Accept": "application/json"}),
    )
    states = [json.loads(r.body) for r in (first, second)]
    assert [s["state"] for s in states] == ["running", "running"]
    assert states[0]["started"] == states[1]["started"]
    await ctx.backups.wait()
    assert len(backup_files(ctx)) == 1


async def test_a_backup_running_in_another_process_is_shown_not_doubled(admin, ctx):
    settings = ctx.settings
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LEASE, str(settings.backup_dir), settings.mongodb_uri,
        settings.mongodb_db, stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        assert await holder.stdout.readline() == b"locked\n"
        response = await admin.request("POST", "/backup/", headers={"Accept": "application/json"})
        status = json.loads(response.body)
        assert status["state"] == "running" and status["phase"] == "copying"
        assert (status["seen"], status["total"]) == (3, 9)
        fragment = (await admin.request("GET", "/backup/", htmx=True)).body.decode()
        assert "3 images of 9 copied · 33%" in fragment and 'value="33"' in fragment
    finally:
        holder.kill()
        await holder.wait()
    status = json.loads(
        (await admin.request("GET", "/backup/", headers={"Accept": "application/json"})).body
    )
    assert status["state"] == "interrupted"
    assert backup_files(ctx) == []


HOLD_LEASE = """
import asyncio, json, os, sys, time
from imagehost.coordination import Lease
from imagehost.database import open_client
folder, uri, db = sys.argv[1:4]
async def hold():
    lease = Lease(open_client(uri, 2000), db, "backup", 60)
    assert await lease.acquire()
asyncio.run(hold())
status = {"state": "running", "phase": "copying", "seen": 3, "total": 9, "percent": 33,
          "started": "2030-01-01T00:00:00+00:00", "pid": os.getpid()}
with open(os.path.join(folder, ".backup-status.json"), "w") as out:
    json.dump(status, out)
print("locked", flush=True)
time.sleep(60)
"""


def write_status(ctx, **fields) -> None:
    """The status file as the process running a backup writes it."""
    ctx.settings.backup_dir.mkdir(parents=True, exist_ok=True)
    (ctx.settings.backup_dir / ".backup-status.json").write_text(json.dumps(fields))


RUSSIAN = {"Accept-Language": "ru"}


async def test_the_admin_panel_shows_a_running_backup_in_the_readers_language(admin, ctx):
    assert await ctx.backups.lease.acquire()  # held by this process: the run is alive
    try:
        write_status(
            ctx, state="running", phase="copying", seen=3, total=5, percent=54, pid=os.getpid()
        )
        page = (await admin.request("GET", "/admin", headers=RUSSIAN)).body.decode()
        assert "скопировано 3 изображения из 5 · 54\xa0%" in page
        fragment = (await admin.request("GET", "/backup/", htmx=True, headers=RUSSIAN)).body
        assert "скопировано 3 изображения из 5 · 54\xa0%" in fragment.decode()
        english = (await admin.request("GET", "/backup/", htmx=True)).body.decode()
        assert "3 images of 5 copied · 54%" in english
        write_status(ctx, state="running", phase="archive", percent=90, pid=os.getpid())
        fragment = (await admin.request("GET", "/backup/", htmx=True, headers=RUSSIAN)).body
        assert "запись архива базы данных · 90\xa0%" in fragment.decode()
    finally:
        await ctx.backups.lease.release()
    interrupted = (await admin.request("GET", "/backup/", htmx=True, headers=RUSSIAN)).body
    assert (
        "Последнее резервное копирование прервано: резервное копирование остановилось, "
        "не закончившись (его процесс завершился)"
    ) in interrupted.decode()


async def test_a_finished_backup_is_counted_in_the_readers_language(admin, ctx):
    await add_records(ctx, 3)
    name = (await ctx.backups.run()).name
    fragment = (await admin.request("GET", "/backup/", htmx=True, headers=RUSSIAN)).body
    assert f"Готово · 100\xa0% · {name} (3 изображения, 6 файлов)" in fragment.decode()
    page = (await admin.request("GET", "/admin")).body.decode()
    assert f"Done · 100% · {name} (3 images, 6 files)" in page


async def test_download_and_delete_a_backup(admin, ctx):
    await add_records(ctx, 2)
    path = await finished_backup(ctx)
    response = await admin.request("GET", f"/admin/backups/{path.name}")
    assert response.code == 200 and response.body == path.read_bytes()
    assert response.headers["Content-Type"] == "application/x-tar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{path.name}"'
    listing = await admin.request("POST", f"/admin/backups/{path.name}/delete", htmx=True)
    assert listing.code == 200 and path.name not in listing.body.decode()
    assert not path.exists()
    missing = await admin.request("GET", f"/admin/backups/{path.name}")
    assert missing.code == 404
    assert (await admin.request("GET", "/admin/backups/..%2Fmanifest.json")).code == 404


async def test_only_the_newest_backup_keep_backups_stay(ctx):
    ctx.backups.keep = 2
    made = [(await ctx.backups.run()).name for _ in range(3)]
    assert backup_files(ctx) == sorted(made[1:])
    assert [b.name for b in await ctx.backups.list_files()] == made[:0:-1]


# -- what is in the file ---------------------------------------------------------------------
async def test_the_archive_passes_the_independent_reader_and_the_manifest_is_right(client, ctx):
    await upload_three(client)
    path = await finished_backup(ctx)
    contents = members(path)
    manifest = json.loads(contents.pop("manifest.json"))
    assert manifest["format"] == "imagehost-backup" and manifest["app_version"]
    assert manifest["counts"]["records"] == 3 and manifest["counts"]["image_files"] == 6
    assert set(manifest["files"]) == set(contents)
    for name, data in contents.items():
        assert manifest["files"][name] == hashlib.sha256(data).hexdigest()

    parsed = parse_archive(contents["mongodump.archive.gz"])  # checks every CRC
    namespace = f"{ctx.settings.mongodb_db}.images"
    albums = [f"{ctx.settings.mongodb_db}.{name}" for name in ("albums", "album_images")]
    accounts = [f"{ctx.settings.mongodb_db}.{name}" for name in ("users", "api_tokens", "invites")]
    assert list(parsed.metadata) == [namespace, *albums, *accounts] and parsed.crcs[namespace] != 0
    assert all(parsed.documents.get(side, []) == [] for side in albums)  # no albums made
    assert parsed.documents[namespace] == await raw_records(ctx)
    assert parsed.prelude[0]["size"] == sum(len(d) for d in parsed.documents[namespace])
    indexes = {i["name"]: i for i in parsed.metadata[namespace]["indexes"]}
    assert set(indexes) == {
        "_id_", "name_unique", "owner_created_ms", "created_ms", "expires_ms"
    }  # fmt: skip
    assert indexes["name_unique"]["unique"] is True
    assert indexes["created_ms"]["key"] == {"created_ms": {"$numberInt": "-1"},
                                            "name": {"$numberInt": "-1"}}  # fmt: skip
    for raw in parsed.documents[namespace]:
        record = bson.decode(raw)
        assert f"images/{record['name']}" in contents
        assert f"images/{record['thumbnail']}" in contents
        assert hashlib.sha256(contents[f"images/{record['name']}"]).hexdigest() == record["sha256"]


async def test_a_record_whose_files_vanished_is_left_out(ctx):
    records = await add_records(ctx, 3)
    (ctx.settings.images_dir / records[1].thumbnail).unlink()
    path = await finished_backup(ctx)
    contents = members(path)
    manifest = json.loads(contents["manifest.json"])
    assert manifest["counts"]["left_out"] == 1 and manifest["counts"]["records"] == 2
    parsed = parse_archive(contents["mongodump.archive.gz"])
    names = [bson.decode(d)["name"] for d in parsed.documents[f"{ctx.settings.mongodb_db}.images"]]
    assert records[1].name not in names and len(names) == 2
    assert f"images/{records[1].name}" not in contents
    status = await ctx.backups.status()
    assert (status.records, status.files, status.left_out) == (2, 4, 1)


async def test_a_file_that_grows_during_its_copy_leaves_its_record_out_of_a_whole_backup(
    ctx, monkeypatch
):
    # Larger than the tar writer's buffer: copied by length from a stat, so a change shows.
    records = await add_records(ctx, 3, size=3 * 1024 * 1024)
    grown = ctx.storage.path(records[1].name)
    add_file = tarwriter.TarWriter.add_file

    def growing(self, name, stream, size, mtime, mode=0o644):
        if name == f"images/{grown.name}":
            with open(grown, "ab") as more:  # after the stat, before the copy
                more.write(b"more")
        return add_file(self, name, stream, size, mtime, mode)

    monkeypatch.setattr(tarwriter.TarWriter, "add_file", growing)
    path = await finished_backup(ctx)
    contents = members(path)
    manifest = json.loads(contents["manifest.json"])
    assert manifest["counts"]["left_out"] == 1 and manifest["counts"]["records"] == 2
    assert set(contents) == {"manifest.json", "mongodump.archive.gz"} | {
        f"images/{name}" for r in (records[0], records[2]) for name in (r.name, r.thumbnail)
    }
    for name, data in contents.items():
        if name != "manifest.json":
            assert hashlib.sha256(data).hexdigest() == manifest["files"][name]
    assert (await ctx.backups.status()).left_out == 1

    await ctx.repo.delete_all()
    wipe(ctx)
    report = await restore(path, ctx.repo, ctx.storage)
    assert (report.records_added, report.files_written) == (2, 4)


async def test_uploads_and_deletes_during_a_backup_leave_it_consistent(client, ctx, monkeypatch):
    existing = await add_records(ctx, 40, size=256 * 1024)
    slow_copy(monkeypatch, 0.005)
    await ctx.backups.start()
    overlapped = 0
    # Upload and delete for as long as it runs (or records are left to delete: a loaded
    # machine can make the backup outlast them).
    while (await ctx.backups.status()).running and existing:
        await client.uploaded(images.png(), f"during{overlapped}.png")
        await ctx.uploads.delete(existing.pop())
        overlapped += (await ctx.backups.status()).running
    await ctx.backups.wait()
    assert overlapped >= 1  # at least one upload and one delete began and ended mid-backup
    status = await ctx.backups.status()
    assert status.state == "done", status
    contents = members(ctx.backups.path(status.file))
    manifest = json.loads(contents["manifest.json"])
    parsed = parse_archive(contents["mongodump.archive.gz"])
    docs = [bson.decode(d) for d in parsed.documents[f"{ctx.settings.mongodb_db}.images"]]
    assert len(docs) == manifest["counts"]["records"]
    assert set(contents) == {"manifest.json", "mongodump.archive.gz"} | {
        f"images/{doc[key]}" for doc in docs for key in ("name", "thumbnail")
    }  # every record in the dump has its files in the tar, and no file is there without one
    for name, data in contents.items():
        if name != "manifest.json":
            assert hashlib.sha256(data).hexdigest() == manifest["files"][name]


async def test_memory_stays_flat_with_six_times_the_records(ctx, monkeypatch):
    # Small fixed buffers, so that what does not depend on the count is filled at both sizes.
    monkeypatch.setattr(backup_module, "_BATCH", 50)
    monkeypatch.setattr(archive_module, "_WRITE_BUFFER_SIZE", 16 * 1024)

    async def peak_for(count: int) -> int:
        await ctx.repo.delete_all()
        wipe(ctx)
        await add_records(ctx, count, size=64)
        tracemalloc.start()
        try:
            await ctx.backups.run()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # The lower of two runs each: what a loaded machine adds (buffers queued behind a slow
    # disk thread) comes and goes, what the count adds is there in both runs.
    small = min([await peak_for(200) for _ in range(2)])
    large = min([await peak_for(1200) for _ in range(2)])
    # 1000 more records are 2000 more files: keeping their names, hashes or tar entries in
    # memory would add 300 KB to 2 MB here.
    assert large - small < 150_000, (small, large)


async def test_the_tar_is_synced_during_the_copy_and_a_failed_sync_fails_the_backup(
    ctx, monkeypatch
):
    await add_records(ctx, 30, size=64 * 1024)
    monkeypatch.setattr(backup_module, "_BATCH", 5)
    monkeypatch.setattr(writer_module, "_SYNC_EVERY", 100_000)
    synced = []
    fdatasync = os.fdatasync

    def counted(fd: int) -> None:
        synced.append(fd)
        fdatasync(fd)

    monkeypatch.setattr(writer_module.os, "fdatasync", counted)
    # A disk whose syncs end before the next batch is copied: on a loaded machine one sync can
    # outlast the whole copy, and the copy rightly starts no second sync while one runs.
    behind = writer_module._Syncer.behind

    def behind_on_a_quick_disk(self) -> None:
        behind(self)
        if self.syncing is not None:
            wait([self.syncing], timeout=60)

    monkeypatch.setattr(writer_module._Syncer, "behind", behind_on_a_quick_disk)
    first = await finished_backup(ctx)
    assert len(synced) >= 2 and len(members(first)) == 62

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writer_module.os, "fdatasync", failing)
    with pytest.raises(OSError, match="Input/output error"):
        await ctx.backups.run()
    assert backup_files(ctx) == [first.name]
    assert (await ctx.backups.status()).state == "failed"
    assert list(ctx.settings.backup_dir.glob(".partial-*")) == []


async def test_losing_the_database_halfway_fails_the_backup_and_leaves_nothing(ctx, monkeypatch):
    await add_records(ctx, 30)
    monkeypatch.setattr(backup_module, "_BATCH", 10)
    raw_batches = ctx.backups.records.batches

    async def then_lost(size: int):
        async for batch in raw_batches(size):
            yield batch
            raise DatabaseUnavailable("connection closed")

    monkeypatch.setattr(ctx.backups.records, "batches", then_lost)
    with pytest.raises(DatabaseUnavailable, match="connection closed"):
        await ctx.backups.run()
    status = await ctx.backups.status()
    assert status.state == "failed" and status.message == backup_status.ERROR
    assert status.detail == "DatabaseUnavailable: connection closed"
    assert backup_files(ctx) == []
    assert list(ctx.settings.backup_dir.glob(".partial-*")) == []
    monkeypatch.undo()
    assert len(members(await finished_backup(ctx))) == 62


async def test_a_failed_background_backup_leaves_no_unretrieved_task_error(ctx, monkeypatch):
    async def lost(size: int):
        raise DatabaseUnavailable("connection closed")
        yield b""

    monkeypatch.setattr(ctx.backups.records, "batches", lost)
    loop = asyncio.get_running_loop()
    unretrieved = []
    loop.set_exception_handler(lambda loop, context: unretrieved.append(context["message"]))
    try:
        for _ in range(2):  # the second run's task replaces the first one's, which is freed
            await ctx.backups.start()
            await asyncio.wait([ctx.backups._task])  # unlike wait(), this retrieves nothing
            status = await ctx.backups.status()
            assert status.state == "failed" and "connection closed" in status.detail
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert unretrieved == []


async def test_stopping_the_app_during_a_backup_abandons_it_cleanly(ctx, monkeypatch):
    await add_records(ctx, 200)
    monkeypatch.setattr(backup_module, "_BATCH", 10)
    slow_copy(monkeypatch, 0.01)
    await ctx.backups.start()
    for _ in range(500):  # until it copies
        if "copying" in (await ctx.backups.status()).phase:
            break
        await asyncio.sleep(0.01)
    began = time.monotonic()
    await ctx.backups.close()  # what the app does when it stops
    assert time.monotonic() - began < 5
    status = await ctx.backups.status()
    assert status.state == "failed" and status.message == backup_status.APP_STOPPED
    assert backup_files(ctx) == []
    assert list(ctx.settings.backup_dir.glob(".partial-*")) == []


# -- a crash ---------------------------------------------------------------------------------
async def test_a_backup_killed_halfway_leaves_no_finished_looking_file(ctx):
    await add_records(ctx, 60, size=2 * 1024 * 1024)
    folder = ctx.settings.backup_dir
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = await start_imagehost(command_env(ctx.settings), "backup", **quiet)
    written = 0
    deadline = time.monotonic() + 60
    while written < 8 * 1024 * 1024:
        assert process.returncode is None, "the backup ended before it could be killed"
        assert time.monotonic() < deadline
        written = sum(p.stat().st_size for p in folder.glob(".partial-*/backup.tar"))
        await asyncio.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert written < 100 * 1024 * 1024  # killed halfway, not at the end
    assert backup_files(ctx) == []
    assert list(folder.glob("*.tar")) == []
    assert (await ctx.backups.status()).state == "interrupted"
    # The next run cleans up after the dead one and works.
    backup = await ctx.backups.run()
    assert backup_files(ctx) == [backup.name]
    assert list(folder.glob(".partial-*")) == []


# -- restoring -------------------------------------------------------------------------------
async def test_round_trip_brings_back_identical_records_and_files(client, ctx):
    bodies = await upload_three(client)
    before_records = await raw_records(ctx)
    before_files = stored_files(ctx)
    path = await finished_backup(ctx)

    await ctx.repo.delete_all()
    wipe(ctx)
    assert await raw_records(ctx) == [] and stored_files(ctx) == {}

    report = await restore(path, ctx.repo, ctx.storage)
    assert (report.records_added, report.files_written) == (3, 6)
    after = await raw_records(ctx)
    assert [bson.decode(r) for r in after] == [bson.decode(r) for r in before_records]
    assert stored_files(ctx) == before_files
    for body in bodies:  # the delete links (token hashes) work again
        path_only = body["delete_url"].replace(client.base, "")
        response = await client.request("DELETE", path_only, headers={"Accept": "application/json"})
        assert response.code == 200
    assert stored_files(ctx) == {}


async def test_records_are_restored_in_batches_without_losing_any(ctx, monkeypatch):
    monkeypatch.setattr(restore_module, "BATCH", 3)
    await add_records(ctx, 10)
    records = await raw_records(ctx)
    path = await finished_backup(ctx)
    await ctx.repo.delete_all()
    report = await restore(path, ctx.repo, ctx.storage)
    assert report.records_added == 10 and await raw_records(ctx) == records
    await ctx.repo.delete_all()
    await add_records(ctx, 1)
    with pytest.raises(RestoreError, match="1 records that are not in this backup"):
        await restore(path, ctx.repo, ctx.storage)


async def test_restoring_twice_is_harmless(ctx):
    await add_records(ctx, 5)
    path = await finished_backup(ctx)
    records, files = await raw_records(ctx), stored_files(ctx)
    await ctx.repo.delete_all()
    wipe(ctx)
    first = await restore(path, ctx.repo, ctx.storage)
    second = await restore(path, ctx.repo, ctx.storage)
    assert (first.records_added, first.files_written) == (5, 10)
    assert (second.records_added, second.records_present, second.files_written) == (0, 5, 0)
    assert await raw_records(ctx) == records and stored_files(ctx) == files


async def test_a_non_empty_database_is_refused_without_replace(ctx):
    kept = await add_records(ctx, 3)
    path = await finished_backup(ctx)
    extra = await add_records(ctx, 1)
    before, files = await raw_records(ctx), stored_files(ctx)
    with pytest.raises(RestoreError, match="1 records that are not in this backup"):
        await restore(path, ctx.repo, ctx.storage)
    assert await raw_records(ctx) == before and stored_files(ctx) == files

    report = await restore(path, ctx.repo, ctx.storage, replace=True)
    assert (report.records_removed, report.records_added) == (4, 3)
    names = {bson.decode(r)["name"] for r in await raw_records(ctx)}
    assert names == {r.name for r in kept}
    assert extra[0].name in stored_files(ctx)  # files outside the backup are left alone


async def test_a_file_that_differs_is_refused_without_replace_and_replaced_with_it(ctx):
    records = await add_records(ctx, 2)
    path = await finished_backup(ctx)
    good = stored_files(ctx)
    (ctx.settings.images_dir / records[0].name).write_bytes(b"changed since the backup")
    with pytest.raises(RestoreError, match="differ from the backup"):
        await restore(path, ctx.repo, ctx.storage)
    assert (ctx.settings.images_dir / records[0].name).read_bytes() == b"changed since the backup"
    report = await restore(path, ctx.repo, ctx.storage, replace=True)
    assert report.files_written == 1 and stored_files(ctx) == good


@pytest.mark.parametrize("where", ["image", "manifest-listed archive", "tar header"])
async def test_a_damaged_backup_is_refused_and_nothing_is_touched(ctx, where):
    records, path = await backed_up_then_lost(ctx, 3)
    with tarfile.open(path) as tar:
        target = next(
            m for m in tar.getmembers()
            if (where == "image" and m.name.startswith("images/"))
            or (where != "image" and m.name == "mongodump.archive.gz")
        )  # fmt: skip
    data = bytearray(path.read_bytes())
    offset = target.offset if where == "tar header" else target.offset_data + target.size // 2
    data[offset + (5 if where == "tar header" else 0)] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(RestoreError) as refused:
        await restore(path, ctx.repo, ctx.storage)
    assert "damaged" in str(refused.value) or "backup" in str(refused.value)
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}


async def test_a_crc_mismatch_inside_the_archive_is_refused(ctx):
    records, path = await backed_up_then_lost(ctx, 3)
    victim = records[1].original_name.encode()  # same length, so the BSON stays valid

    def change(name: str, data: bytes) -> bytes:
        if name != "mongodump.archive.gz":
            return data
        return regzip(data, lambda raw: raw.replace(victim, victim.upper()))

    rewrite_backup(path, change)
    with pytest.raises(FormatError, match="CRC mismatch"):
        parse_archive(members(path)["mongodump.archive.gz"])
    with pytest.raises(RestoreError, match="CRC mismatch"):
        await restore(path, ctx.repo, ctx.storage)
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}


async def test_a_backup_whose_record_lacks_its_file_is_refused(ctx):
    records, path = await backed_up_then_lost(ctx, 2)
    contents = members(path)
    del contents[f"images/{records[0].thumbnail}"]
    manifest = json.loads(contents["manifest.json"])
    del manifest["files"][f"images/{records[0].thumbnail}"]
    contents["manifest.json"] = json.dumps(manifest).encode()
    write_backup(path, contents)
    with pytest.raises(RestoreError, match=f"no file {records[0].thumbnail}"):
        await restore(path, ctx.repo, ctx.storage)
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}


# -- archives made by mongodump --------------------------------------------------------------
@pytest.mark.parametrize("name", ["test.bar.archive.gz", "test.bar.archive"])
async def test_a_real_mongodump_archive_is_read_and_its_foreign_data_refused(ctx, name):
    with pytest.raises(RestoreError) as refused:
        await restore(MONGODUMP / name, ctx.repo, ctx.storage)
    message = str(refused.value)
    assert "no `images` collection" in message
    assert "test.bar" in message and "admin.system.version" in message
    assert await ctx.repo.count() == 0


async def test_a_malformed_mongodump_archive_is_refused_clearly(ctx):
    with pytest.raises(RestoreError, match="not valid JSON"):
        await restore(MONGODUMP / "bad-format.archive", ctx.repo, ctx.storage)


async def test_a_mongodump_archive_of_an_imagehost_database_restores_its_records(ctx, tmp_path):
    """What `mongodump --archive --gzip --db=prod` of a production database looks like: the
    records come back (renamed into MONGODB_DB); the files must come from elsewhere."""
    await add_records(ctx, 4)
    raws = await raw_records(ctx)
    files = stored_files(ctx)
    archive = tmp_path / "prod.archive.gz"
    version = bson.encode({"_id": "featureCompatibilityVersion", "version": "7.0"})
    junk = bson.encode({"_id": 1, "hello": "not an image record"})

    with gzip.open(archive, "wb") as out:
        writer = ArchiveWriter(out, server_version="7.0.14", tool_version="100.9.4")
        writer.write_prelude(
            [
                CollectionInfo("prod", "images", [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
                               sum(map(len, raws)) + len(junk)),
                CollectionInfo("admin", "system.version", [], len(version)),
            ]
        )  # fmt: skip
        writer.write_segment("prod", "images", raws[:2])
        writer.write_segment("admin", "system.version", [version])
        writer.write_segment("prod", "images", [*raws[2:], junk])
        writer.close()
    await ctx.repo.delete_all()
    (ctx.settings.images_dir / bson.decode(raws[0])["name"]).unlink()

    report = await restore(archive, ctx.repo, ctx.storage)
    assert report.source == "mongodump archive"
    assert report.records_added == 4 and report.files_written == 0
    assert await raw_records(ctx) == raws
    assert report.missing_files == 1
    notes = " ".join(report.notes)
    assert "admin.system.version" in notes and "1 documents are not image records" in notes
    assert "1 records have no image file" in notes
    assert len(stored_files(ctx)) == len(files) - 1
