"""The consistency check and its repair, on a real store, and `python -m imagehost check`."""

import dataclasses
import os
import subprocess
import time

from PIL import Image

from imagehost.consistency import check_consistency, repair
from imagehost.dev.devstack import free_port
from imagehost.server import build_context
from tests import images
from tests.cli import command_env, run_imagehost


async def store(ctx, count: int):
    return [
        (await ctx.uploads.accept(images.jpeg((40 + i, 30)), f"{i}.jpg")).record
        for i in range(count)
    ]


async def damage(ctx):
    """One of each problem; returns (orphan, temp, record without image, without thumbnail)."""
    first, second, third, _ = await store(ctx, 4)
    folder = ctx.settings.images_dir
    orphan = "AAAAAAAAAAAAAAAA.png"
    (folder / orphan).write_bytes(images.png())
    temp = ".tmp-0123456789abcdef"
    (folder / temp).write_bytes(b"half an upl")
    (folder / first.name).unlink()
    (folder / second.thumbnail).unlink()
    (folder / third.thumbnail).rename(folder / "BBBBBBBBBBBBBBBB.thumb.jpg")
    return orphan, temp, first, second, "BBBBBBBBBBBBBBBB.thumb.jpg", third


async def test_a_clean_store_is_consistent(ctx):
    await store(ctx, 3)
    report = await check_consistency(ctx.repo, ctx.storage)
    assert report.ok
    assert (report.records, report.files) == (3, 6)
    assert "3 records, 6 files: 0 files without a record" in report.summary()


async def test_every_kind_of_damage_is_found_and_repaired(ctx):
    orphan, temp, lost_image, lost_thumb, moved_thumb, third = await damage(ctx)
    folder = ctx.settings.images_dir

    report = await check_consistency(ctx.repo, ctx.storage)
    assert not report.ok
    assert sorted(report.orphan_files) == sorted([orphan, moved_thumb])
    assert report.temp_files == [temp]
    assert report.missing_images == [lost_image.name]
    assert sorted(report.missing_thumbnails) == sorted([lost_thumb.name, third.name])
    assert any(orphan in line for line in report.details())

    actions = await repair(ctx.uploads, report)
    assert len(actions) == 6, actions
    after = await check_consistency(ctx.repo, ctx.storage)
    assert after.ok, after.details()
    assert await ctx.repo.get(lost_image.name) is None
    assert not (folder / orphan).exists() and not (folder / temp).exists()
    assert not (folder / lost_image.thumbnail).exists()
    for record in (lost_thumb, third):
        with Image.open(folder / record.thumbnail) as thumb:
            thumb.load()
            assert thumb.size == (record.width, record.height)
    assert (after.records, after.files) == (3, 6)


async def test_young_files_are_not_judged_within_the_grace(ctx):
    await store(ctx, 1)
    (ctx.settings.images_dir / "CCCCCCCCCCCCCCCC.png").write_bytes(images.png())
    (ctx.settings.images_dir / ".tmp-fresh").write_bytes(b"x")
    report = await check_consistency(ctx.repo, ctx.storage, grace=60)
    assert report.ok and report.recent == 2
    old = time.time() - 120
    os.utime(ctx.settings.images_dir / "CCCCCCCCCCCCCCCC.png", (old, old))
    report = await check_consistency(ctx.repo, ctx.storage, grace=60)
    assert report.orphan_files == ["CCCCCCCCCCCCCCCC.png"] and report.recent == 1


async def test_files_that_are_not_ours_are_left_alone(ctx):
    (ctx.settings.images_dir / "notes.txt").write_text("mine")
    (ctx.settings.images_dir / "sub").mkdir()
    report = await check_consistency(ctx.repo, ctx.storage)
    assert report.ok
    await repair(ctx.uploads, report)
    assert (ctx.settings.images_dir / "notes.txt").exists()


def run_check(settings, *args: str, env=None) -> subprocess.CompletedProcess:
    return run_imagehost({**command_env(settings), **(env or {})}, "check", *args)


async def test_the_check_command_reports_then_fixes(ctx):
    orphan, temp, lost_image, *_ = await damage(ctx)

    # The defaults leave files alone that may belong to an upload in flight.
    young = run_check(ctx.settings)
    assert young.returncode == 1
    assert "records without their image" in young.stdout and "not judged" in young.stdout

    found = run_check(ctx.settings, "--grace", "0")
    assert found.returncode == 1, found.stderr
    assert f"file without a record: {orphan}" in found.stdout
    assert f"leftover temp file: {temp}" in found.stdout
    assert f"record without its image: {lost_image.name}" in found.stdout
    assert (ctx.settings.images_dir / orphan).exists()  # reporting changes nothing

    fixed = run_check(ctx.settings, "--fix", "--grace", "0")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"fixed: removed file without a record: {orphan}" in fixed.stdout
    assert "after the repair: 3 records, 6 files" in fixed.stdout

    clean = run_check(ctx.settings, "--grace", "0")
    assert clean.returncode == 0 and "0 files without a record" in clean.stdout


def test_the_check_command_says_when_the_database_is_down(settings):
    down = dataclasses.replace(settings, mongodb_uri=f"mongodb://127.0.0.1:{free_port()}/")
    result = run_check(down, env={"DB_TIMEOUT_MS": "300"})
    assert result.returncode == 2
    assert "the database is unavailable" in result.stderr


async def test_on_object_storage_the_check_lists_the_bucket_and_repairs_it(
    settings, s3_prefix_config
):
    async with build_context(dataclasses.replace(settings, s3=s3_prefix_config)) as ctx:
        await ctx.repo.ensure_indexes()
        first, second, _ = await store(ctx, 3)
        orphan = "AAAAAAAAAAAAAAAA.png"
        await ctx.storage.put(orphan, images.png())
        await ctx.storage.delete(first.name)
        await ctx.storage.delete(second.thumbnail)
        report = await check_consistency(ctx.repo, ctx.storage)
        assert (report.records, report.files) == (3, 5)
        assert report.orphan_files == [orphan] and report.temp_files == []
        assert report.missing_images == [first.name]
        assert report.missing_thumbnails == [second.name]

        await repair(ctx.uploads, report)
        after = await check_consistency(ctx.repo, ctx.storage)
        assert after.ok, after.details()
        assert not await ctx.storage.exists(orphan)
        assert await ctx.storage.exists(second.thumbnail)
        assert not list(ctx.settings.images_dir.iterdir())  # nothing went to the folder
