"""An upload never takes a stored name: when its image's name or its thumbnail's is taken, it
removes what it wrote, leaves the other file alone and tries a new name. On both backends (the
S3 one on a real Ceph RGW, where a taken name is refused by the server's If-None-Match)."""

import dataclasses

import pytest

from imagehost import uploads
from tests import images

TAKEN = "taken-stem-00000"
FRESH = "fresh-stem-00000"
THEIRS = b"another upload's bytes"


@pytest.fixture(params=["local", "s3"])
def settings(request, settings):
    if request.param == "local":
        return settings
    return dataclasses.replace(settings, s3=request.getfixturevalue("s3_prefix_config"))


@pytest.fixture
def stems(monkeypatch):
    """New uploads draw TAKEN first, then FRESH."""
    monkeypatch.setattr(uploads, "new_stem", iter([TAKEN, FRESH]).__next__)


async def stored(ctx) -> dict[str, bytes]:
    found = {}
    for entry in await ctx.storage.scan():
        with await ctx.storage.open(entry.name) as file:
            found[entry.name] = file.read()
    return found


async def test_a_taken_image_name_is_left_alone(client, ctx, stems):
    await ctx.storage.put(f"{TAKEN}.png", THEIRS)
    body = await client.uploaded(images.png())
    record = await ctx.repo.get(body["name"])
    assert body["name"] == f"{FRESH}.png" and record.thumbnail.startswith(FRESH)
    files = await stored(ctx)
    assert set(files) == {f"{TAKEN}.png", body["name"], record.thumbnail}
    assert files[f"{TAKEN}.png"] == THEIRS


async def test_a_taken_thumbnail_name_is_left_alone(client, ctx, stems):
    theirs = {f"{TAKEN}.thumb{extension}" for extension in (".jpg", ".png", ".gif")}
    for name in theirs:
        await ctx.storage.put(name, THEIRS)
    body = await client.uploaded(images.png())
    record = await ctx.repo.get(body["name"])
    assert body["name"] == f"{FRESH}.png"
    files = await stored(ctx)
    # The image written under TAKEN is gone again; the thumbnails there are untouched.
    assert set(files) == theirs | {body["name"], record.thumbnail}
    assert all(files[name] == THEIRS for name in theirs)
    assert await ctx.repo.count() == 1
