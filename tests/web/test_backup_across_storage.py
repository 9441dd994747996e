"""A backup made on one storage backend restores into the other, byte for byte: local folder to
S3 bucket (a real Ceph RGW) and back."""

import asyncio
import dataclasses

import bson
import pytest

from imagehost.backups.restore import restore
from imagehost.server import build_context
from imagehost.web.app import make_app
from tests.backups import raw_records, read_everything, upload_three
from tests.web.client import serving


async def upload_some(ctx) -> None:
    async with serving(make_app(ctx, ctx.settings.cookie_secret), ctx.settings) as client:
        await upload_three(client)


@pytest.mark.parametrize(("source", "target"), [("local", "s3"), ("s3", "local")])
async def test_a_backup_restores_into_the_other_backend_byte_for_byte(
    settings, s3_prefix_config, source, target
):
    def on(backend: str, db: str):
        s3 = s3_prefix_config if backend == "s3" else None
        return dataclasses.replace(settings, mongodb_db=db, s3=s3)

    async with build_context(on(source, settings.mongodb_db)) as first:
        await first.repo.ensure_indexes()
        await upload_some(first)
        backup = await first.backups.run()
        path = first.backups.path(backup.name)
        records = [bson.decode(r) for r in await raw_records(first)]
        files = await asyncio.to_thread(read_everything, first.storage)
    assert len(files) == 6

    async with build_context(on(target, settings.mongodb_db + "_b")) as second:
        await second.repo.ensure_indexes()
        assert await asyncio.to_thread(read_everything, second.storage) == {}
        report = await restore(path, second.repo, second.storage)
        assert (report.records_added, report.files_written) == (3, 6)
        assert [bson.decode(r) for r in await raw_records(second)] == records
        assert await asyncio.to_thread(read_everything, second.storage) == files
