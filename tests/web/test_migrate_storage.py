"""`python -m imagehost migrate-storage --to s3`: the folder's files into a real bucket, verified,
resumable, the folder untouched."""

import asyncio

from imagehost.s3storage import S3Storage
from tests import images
from tests.backups import read_everything
from tests.cli import run_imagehost


def folder_state(folder) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


async def test_every_file_is_copied_verified_and_a_second_run_resumes(ctx, rgw, s3_prefix_config):
    for i in range(3):
        await ctx.uploads.accept(images.jpeg((40 + i, 30)), f"{i}.jpg")
    folder = ctx.settings.images_dir
    before = folder_state(folder)
    env = {
        **rgw.env(s3_prefix_config),
        "VAR_DIR": str(ctx.settings.var_dir),
        "MONGODB_URI": ctx.settings.mongodb_uri,
        "COOKIE_SECRET": ctx.settings.cookie_secret,
    }
    done = await asyncio.to_thread(run_imagehost, env, "migrate-storage", "--to", "s3")
    assert done.returncode == 0, done.stderr
    assert "6 copied, 0 already there and identical, 0 failed" in done.stderr
    bucket = S3Storage(s3_prefix_config)
    assert await asyncio.to_thread(read_everything, bucket) == {
        name: data for name, (data, _) in before.items()
    }
    assert folder_state(folder) == before

    # An interrupted run left one object out; another name holds other bytes in the bucket.
    names = sorted(before)
    await bucket.delete(names[0])
    await bucket.put(names[1], b"not the same", replace=True)
    again = await asyncio.to_thread(run_imagehost, env, "migrate-storage", "--to", "s3")
    assert again.returncode == 1
    assert "1 copied, 4 already there and identical, 1 failed" in again.stderr
    assert f"{names[1]}: the target's object differs from the folder's file" in again.stderr
    assert folder_state(folder) == before


def test_without_s3_settings_it_says_what_to_set(tmp_path):
    done = run_imagehost({"VAR_DIR": str(tmp_path)}, "migrate-storage", "--to", "s3")
    assert done.returncode == 2 and "set STORAGE=s3" in done.stderr
