"""STRIP_METADATA through the real upload path: on by default; off keeps the original bytes."""

import dataclasses

import pytest

from imagehost.context import build_context
from imagehost.web.app import make_app
from tests import images
from tests.web.client import serving

ORIGINALS = pytest.mark.parametrize(
    "make",
    [images.jpeg_with_metadata, images.png_with_metadata, images.animated_gif_with_metadata],
    ids=["jpeg", "png", "gif"],
)


async def upload(client, ctx, data: bytes) -> tuple[bytes, bytes]:
    """The stored image and thumbnail."""
    record = await ctx.repo.get((await client.uploaded(data, "original"))["name"])
    folder = ctx.settings.images_dir
    return (folder / record.name).read_bytes(), (folder / record.thumbnail).read_bytes()


@ORIGINALS
async def test_metadata_is_stripped_by_default(client, ctx, make):
    assert ctx.settings.strip_metadata
    data = make()
    stored, thumbnail = await upload(client, ctx, data)
    assert len(stored) < len(data)
    planted = [secret for secret in images.SECRETS if secret in data]
    assert len(planted) >= 3
    for secret in planted:
        assert secret not in stored and secret not in thumbnail


@ORIGINALS
async def test_with_stripping_off_the_original_is_kept_byte_for_byte(settings, make):
    originals = dataclasses.replace(settings, strip_metadata=False)
    data = make()
    async with build_context(originals) as ctx:
        await ctx.repo.ensure_indexes()
        async with serving(make_app(ctx, originals.cookie_secret), originals) as client:
            stored, thumbnail = await upload(client, ctx, data)
    assert stored == data
    # A thumbnail is made anew and never carries metadata.
    for secret in images.SECRETS:
        assert secret not in thumbnail
