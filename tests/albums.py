"""Album set-up shared by the album tests: regexes over the pages, the web tests' steps (make
an album, upload into it, read its order) and seeding albums."""

import re

from imagehost.albums.records import AlbumRecord, new_id
from imagehost.database import ImageRecord
from tests import images
from tests.images import multipart

ALBUM_PATH = re.compile(r"/albums/([A-Za-z0-9_-]{16})$")
SHARE_LINK = re.compile(r'id="share-link" type="text" readonly value="[^"]*/a/([A-Za-z0-9_-]{16})"')
TILE = re.compile(r'<li class="tile" id="tile-([A-Za-z0-9_-]{16})"')
ITEM = re.compile(r'<li class="album-item" id="item-([A-Za-z0-9_-]{16})"')
MORE = re.compile(r'<li class="more" hx-get="([^"]+)"')


async def seed_album(ctx, owner: str, count: int, title: str = "Seeded") -> tuple:
    """An album of `count` records written straight into the repositories (no files): set-up
    for paging, not the test. Returns the album and its records in album order."""
    album = AlbumRecord(album_id=new_id(), share_id=new_id(), owner=owner, title=title)
    await ctx.albums.albums.insert(album)
    records = []
    for i in range(count):
        stem = new_id()
        record = ImageRecord(
            name=f"{stem}.png", original_name=f"n{i}.png", format="png", width=10, height=10,
            size=100, sha256="0" * 64, delete_token_hash="-", owner=owner,
            thumbnail=f"{stem}.thumb.png",
        )  # fmt: skip
        await ctx.repo.insert(record)
        records.append(record)
    await ctx.albums.albums.append(album.album_id, [r.name for r in records])
    return album, records


# -- steps of the web tests (a tests.web.client.AdminSession as `person`) ----------------------
async def make_album(person, title="Holiday", description="", visibility="unlisted") -> str:
    form = {"title": title, "description": description, "visibility": visibility}
    response = await person.request("POST", "/albums", form=form)
    assert response.code == 303, response.body
    return ALBUM_PATH.search(response.headers["Location"])[1]


async def upload(person, name="cat.png", data=None, album="") -> str:
    fields = [("file", name, data or images.png())]
    if album:
        fields.append(("album", None, album.encode()))
    body, ctype = multipart(fields)
    response = await person.client.upload(body, ctype, headers=person.headers(htmx=True))
    assert response.code == 201, response.body
    return response.headers["Location"].rsplit("/", 1)[1]


async def album_names(ctx, album_id: str) -> list[str]:
    return [m.name for m in await ctx.albums.albums.page(album_id, limit=10_000)]


async def share_id_of(person, album_id: str) -> str:
    return SHARE_LINK.search((await person.get(f"/albums/{album_id}")).body.decode())[1]
