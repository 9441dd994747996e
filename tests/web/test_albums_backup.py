"""Albums in backups: the archive carries `albums` and `album_images` with their indexes, and
a restore brings them back (once; exactly the backup's with --replace)."""

import bson
import pytest
from bson.codec_options import CodecOptions

from imagehost.backups.restore import restore
from tests.albums import album_names, make_album, share_id_of, upload
from tests.backups import members, wipe
from tests.unit.mongodump_reader import parse_archive

SIDES = ("albums", "album_images")
AWARE = CodecOptions(tz_aware=True)


def sides_of(counts: dict[str, int]) -> dict[str, int]:
    """The albums' counts of a restore report (the accounts have their own tests)."""
    return {name: counts[name] for name in SIDES}


async def side_documents(ctx) -> dict[str, list[dict]]:
    database = ctx.repo.client[ctx.settings.mongodb_db]
    return {name: await database[name].find({}).sort("_id", 1).to_list() for name in SIDES}


async def lose_everything(ctx) -> None:
    database = ctx.repo.client[ctx.settings.mongodb_db]
    await ctx.repo.delete_all()
    for name in SIDES:
        await database[name].delete_many({})
    wipe(ctx)


@pytest.fixture
async def two_albums(visitor, ctx):
    trip = await make_album(visitor, "Trip", "two\nlines")
    names = [await upload(visitor, f"{i}.png", album=trip) for i in range(3)]
    await visitor.request("POST", f"/albums/{trip}/images/{names[2]}/move", form={"after": ""})
    secret = await make_album(visitor, "Secret", visibility="private")
    await visitor.request("POST", "/albums/selection", form={"album": secret, "name": names[0]})
    return trip, secret, names


async def test_the_archive_holds_the_albums_with_their_indexes(ctx, two_albums):
    backup = await ctx.backups.run()
    contents = members(ctx.backups.path(backup.name))
    parsed = parse_archive(contents["mongodump.archive.gz"])  # checks every CRC
    db = ctx.settings.mongodb_db
    stored = await side_documents(ctx)
    for name in SIDES:
        documents = [bson.decode(raw, AWARE) for raw in parsed.documents[f"{db}.{name}"]]
        assert documents == stored[name] and documents
    indexes = {i["name"] for i in parsed.metadata[f"{db}.albums"]["indexes"]}
    assert indexes == {"_id_", "album_id_unique", "share_id_unique", "owner_created_ms"}
    member_indexes = {i["name"] for i in parsed.metadata[f"{db}.album_images"]["indexes"]}
    assert member_indexes == {"_id_", "album_name_unique", "album_position", "album", "image_name"}


async def test_a_round_trip_brings_the_albums_back_in_order(ctx, visitor, stranger, two_albums):
    trip, secret, names = two_albums
    before = await side_documents(ctx)
    share = await share_id_of(visitor, trip)
    path = ctx.backups.path((await ctx.backups.run()).name)
    await lose_everything(ctx)
    assert (await stranger.get(f"/a/{share}")).code == 404

    report = await restore(path, ctx.repo, ctx.storage)
    assert sides_of(report.collections) == {"albums": 2, "album_images": 4}
    assert sides_of(report.collections_added) == {"albums": 2, "album_images": 4}
    assert await side_documents(ctx) == before
    assert await album_names(ctx, trip) == [names[2], names[0], names[1]]
    assert (await stranger.get(f"/a/{share}")).code == 200
    assert (await stranger.get(f"/a/{await share_id_of(visitor, secret)}")).code == 404
    zipped = await stranger.get(f"/a/{share}/zip")
    assert zipped.code == 200 and len(zipped.body) > 3 * 100

    again = await restore(path, ctx.repo, ctx.storage)
    assert sides_of(again.collections_added) == {"albums": 0, "album_images": 0}
    assert await side_documents(ctx) == before


async def test_replace_makes_the_albums_exactly_the_backups(ctx, visitor, two_albums):
    trip, secret, names = two_albums
    path = ctx.backups.path((await ctx.backups.run()).name)
    before = await side_documents(ctx)
    later = await make_album(visitor, "Made after the backup")
    await visitor.request("POST", f"/albums/{trip}/delete", form={})
    report = await restore(path, ctx.repo, ctx.storage, replace=True)
    assert sides_of(report.collections_added) == {"albums": 2, "album_images": 4}
    assert await side_documents(ctx) == before
    assert await ctx.albums.albums.get(later) is None
