"""Albums: making and changing them, filling them from the gallery and from uploads, their
order, their share pages and links, the zip of all their images, and deleting."""

import io
import json
import os
import zipfile

import pytest
from tornado.web import decode_signed_value

from imagehost.albums.records import GAP
from tests import images
from tests.albums import (
    ITEM,
    MORE,
    TILE,
    album_names,
    make_album,
    seed_album,
    share_id_of,
    upload,
)
from tests.images import multipart
from tests.web.client import AdminSession


def owner_of(visitor, ctx) -> str:
    value = decode_signed_value(
        ctx.settings.cookie_secret, "owner", visitor.owner_cookie.strip('"')
    )
    return value.decode()


@pytest.fixture
def alice(visitor) -> AdminSession:
    return visitor


@pytest.fixture
def mallory(stranger) -> AdminSession:
    return stranger


async def test_an_owner_makes_an_album_and_its_text_is_escaped(alice, ctx):
    album_id = await make_album(alice, "<b>Trip</b>", "day one\n<script>x</script>")
    listing = (await alice.get("/albums")).body.decode()
    assert f'href="/albums/{album_id}">&lt;b&gt;Trip&lt;/b&gt;</a>' in listing
    assert "0 images" in listing and "<b>Trip</b>" not in listing
    page = (await alice.get(f"/albums/{album_id}")).body.decode()
    assert "day one\n&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    album = await ctx.albums.albums.get(album_id)
    assert album.owner == owner_of(alice, ctx) and album.visibility == "unlisted"
    assert len(album.share_id) == 16 and album.share_id != album.album_id  # 96 random bits


@pytest.mark.parametrize(
    "form",
    [{"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": "ok", "visibility": "public"},
     {"title": "ok", "description": "d" * 2001}],
)  # fmt: skip
async def test_a_bad_album_form_is_refused_and_stores_nothing(alice, ctx, form):
    response = await alice.request("POST", "/albums", form=form, headers={"Accept": "text/html"})
    assert response.code == 400
    assert "album" in response.body.decode()
    assert await ctx.albums.albums.of_owner(owner_of(alice, ctx)) == []


async def test_someone_elses_album_does_not_exist_for_them(alice, mallory, ctx):
    album_id = await make_album(alice)
    name = await upload(alice)
    theirs = await upload(mallory)
    for method, path, form in [
        ("GET", f"/albums/{album_id}", None),
        ("POST", f"/albums/{album_id}", {"title": "pwned"}),
        ("POST", f"/albums/{album_id}/link", {}),
        ("POST", f"/albums/{album_id}/delete", {"images": "delete"}),
        ("POST", "/albums/selection", {"album": album_id, "name": theirs}),
        ("POST", f"/albums/{album_id}/images/{name}/remove", {}),
    ]:
        response = await mallory.request(method, path, form=form)
        assert response.code == 404, (method, path)
    album = await ctx.albums.albums.get(album_id)
    assert album.title == "Holiday" and await album_names(ctx, album_id) == []
    assert await ctx.repo.get(name) is not None


async def test_the_gallery_selection_adds_and_removes_only_my_images(alice, mallory, ctx):
    album_id = await make_album(alice)
    mine = [await upload(alice, f"a{i}.png") for i in range(3)]
    theirs = await upload(mallory)
    page = (await alice.get("/")).body.decode()
    assert f'<option value="{album_id}">Holiday</option>' in page
    assert f'value="{mine[0]}" form="selection"' in page
    form = [("album", album_id), ("action", "add"), *[("name", n) for n in [*mine, theirs]]]
    added = await alice.request(
        "POST", "/albums/selection", htmx=True, body="&".join(f"{k}={v}" for k, v in form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert added.code == 200 and "Added 3 images to Holiday" in added.body.decode()
    assert await album_names(ctx, album_id) == mine
    again = await alice.request(
        "POST", "/albums/selection", htmx=True, form={"album": album_id, "name": mine[0]}
    )
    assert "Added 0 images" in again.body.decode()  # already in it: not twice
    removed = await alice.request(
        "POST", "/albums/selection", form={"album": album_id, "name": mine[1], "action": "remove"}
    )
    assert removed.code == 303 and removed.headers["Location"] == f"/albums/{album_id}"
    assert await album_names(ctx, album_id) == [mine[0], mine[2]]
    assert await ctx.repo.get(mine[1]) is not None  # removing never deletes
    none = await alice.request("POST", "/albums/selection", form={"album": album_id})
    assert none.code == 400


async def test_russian_counts_in_the_selection_message(alice):
    album_id = await make_album(alice, "Отпуск")
    names = [await upload(alice, f"a{i}.png") for i in range(2)]
    body = "&".join([f"album={album_id}", *[f"name={n}" for n in names]])
    added = await alice.request(
        "POST", "/albums/selection", htmx=True, body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "ru"},
    )  # fmt: skip
    assert "Добавлено 2 изображения в Отпуск" in added.body.decode()


async def test_uploads_land_in_the_chosen_album_in_order(alice, ctx):
    album_id = await make_album(alice)
    names = [await upload(alice, f"u{i}.png", album=album_id) for i in range(3)]
    plain = await upload(alice)
    assert await album_names(ctx, album_id) == names
    assert plain not in await album_names(ctx, album_id)


async def test_an_upload_into_someone_elses_album_stores_nothing(alice, mallory, ctx, client):
    album_id = await make_album(alice)
    body, ctype = multipart([("file", "x.png", images.png()), ("album", None, album_id.encode())])
    refused = await client.upload(body, ctype, headers=mallory.headers(htmx=True))
    assert refused.code == 404 and "no such album" in refused.body.decode()
    api = await client.upload(body, ctype, accept="application/json", path="/api/v1/images")
    assert api.code == 404 and json.loads(api.body)["code"] == "not_found"
    assert await ctx.repo.count() == 0
    assert not [f for f in os.listdir(ctx.settings.images_dir) if not f.startswith(".")]


async def test_moving_up_down_and_after(alice, ctx):
    album_id = await make_album(alice)
    a, b, c, d = [await upload(alice, f"{x}.png", album=album_id) for x in "abcd"]
    base = f"/albums/{album_id}/images"

    async def move(name, **form):
        response = await alice.request("POST", f"{base}/{name}/move", htmx=True, form=form)
        assert response.code == 200 and response.body == b"", response.body
        return await album_names(ctx, album_id)

    assert await move(c, direction="up") == [a, c, b, d]
    assert await move(a, direction="down") == [c, a, b, d]
    assert await move(c, direction="up") == [c, a, b, d]  # first already
    assert await move(d, direction="down") == [c, a, b, d]  # last already
    assert await move(d, after="") == [d, c, a, b]
    assert await move(d, after=b) == [c, a, b, d]
    assert await move(c, after=a) == [a, c, b, d]
    plain = await alice.request("POST", f"{base}/{b}/move", form={"direction": "up"})
    assert plain.code == 303 and await album_names(ctx, album_id) == [a, b, c, d]
    bad = await alice.request("POST", f"{base}/{b}/move", form={"direction": "sideways"})
    assert bad.code == 400
    stranger = await upload(alice)
    missing = await alice.request("POST", f"{base}/{stranger}/move", form={"direction": "up"})
    assert missing.code == 404


async def test_a_used_up_gap_renumbers_the_album(alice, ctx):
    album_id = await make_album(alice)
    names = [await upload(alice, f"{i}.png", album=album_id) for i in range(3)]
    members = ctx.albums.albums.members
    for position, name in enumerate(names):  # neighbours with no room between them
        await members.update_one(
            {"album": album_id, "name": name}, {"$set": {"position": position}}
        )
    path = f"/albums/{album_id}/images/{names[2]}/move"
    response = await alice.request("POST", path, form={"after": names[0]})
    assert response.code == 303
    assert await album_names(ctx, album_id) == [names[0], names[2], names[1]]
    positions = [m.position for m in await ctx.albums.albums.page(album_id)]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert min(b - a for a, b in zip(positions, positions[1:], strict=False)) >= GAP // 2


async def test_the_share_page_is_for_anyone_with_the_link_unless_private(alice, mallory, ctx):
    album_id = await make_album(alice, "Public <i>one</i>", "hello & bye")
    names = [await upload(alice, f"s{i}.png", album=album_id) for i in range(2)]
    share = await share_id_of(alice, album_id)
    page = await mallory.get(f"/a/{share}")
    html = page.body.decode()
    assert page.code == 200 and TILE.findall(html) == [n[:16] for n in names]
    assert "Public &lt;i&gt;one&lt;/i&gt;" in html and "hello &amp; bye" in html
    assert f'href="/a/{share}/zip"' in html and "Edit this album" not in html
    assert "private" in page.headers["Cache-Control"]
    anonymous = await alice.client.request("GET", f"/a/{share}")  # no cookie at all
    assert anonymous.code == 200

    await alice.request(
        "POST", f"/albums/{album_id}", form={"title": "Mine", "visibility": "private"}
    )
    for path in (f"/a/{share}", f"/a/{share}/zip"):
        assert (await mallory.get(path)).code == 404
        assert (await alice.client.request("GET", path)).code == 404
    own = (await alice.get(f"/a/{share}")).body.decode()
    assert "Edit this album" in own and "only you can see this page" in own
    assert (await alice.get(f"/a/{share}/zip")).code == 200


async def test_a_new_link_kills_the_old_one(alice, mallory, ctx):
    album_id = await make_album(alice)
    old = await share_id_of(alice, album_id)
    renewed = await alice.request("POST", f"/albums/{album_id}/link", form={})
    assert renewed.code == 303
    new = await share_id_of(alice, album_id)
    assert new != old
    assert (await mallory.get(f"/a/{old}")).code == 404
    assert (await mallory.get(f"/a/{new}")).code == 200


async def test_the_share_page_pages_by_keyset_in_album_order(alice, mallory, ctx):
    album, records = await seed_album(ctx, owner_of(alice, ctx), 130)
    # A move into the middle of later pages: the order is the album's, not the upload's.
    await ctx.albums.albums.move(album.album_id, records[0].name, after=records[100].name)
    order = [r.name for r in records[1:101]] + [records[0].name] + [r.name for r in records[101:]]
    html = (await mallory.get(f"/a/{album.share_id}")).body.decode()
    pages = [TILE.findall(html)]
    while more := MORE.search(html):
        response = await mallory.get(more[1].replace("&amp;", "&"), htmx=True)
        assert response.code == 200
        html = response.body.decode()
        assert "<html" not in html
        pages.append(TILE.findall(html))
    assert [len(p) for p in pages] == [48, 48, 34]
    assert [s for page in pages for s in page] == [n[:16] for n in order]
    bad = await mallory.get(f"/a/{album.share_id}?after=nonsense", htmx=True)
    assert bad.code == 400


async def test_the_owner_page_pages_its_items_too(alice, ctx):
    album, records = await seed_album(ctx, owner_of(alice, ctx), 60)
    html = (await alice.get(f"/albums/{album.album_id}")).body.decode()
    first = ITEM.findall(html)
    rest = ITEM.findall((await alice.get(MORE.search(html)[1], htmx=True)).body.decode())
    assert first + rest == [r.name[:16] for r in records] and len(first) == 48


async def test_the_zip_holds_every_image_byte_for_byte_in_album_order(alice, mallory, ctx):
    album_id = await make_album(alice, "Trip/2026")
    sent = [images.png((90 + i, 40)) for i in range(2)] + [images.jpeg((50, 50)), images.gif()]
    files = ["b.png", "a.png", "photo.jpeg", "anim.gif"]
    names = [await upload(alice, f, d, album=album_id) for f, d in zip(files, sent, strict=True)]
    await alice.request("POST", f"/albums/{album_id}/images/{names[1]}/move", form={"after": ""})
    share = await share_id_of(alice, album_id)
    response = await mallory.get(f"/a/{share}/zip")
    assert response.code == 200 and response.headers["Content-Type"] == "application/zip"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "filename*=UTF-8''Trip_2026.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    assert archive.testzip() is None
    stored = [(await ctx.repo.get(n)) for n in names]
    assert archive.namelist() == ["0001-a.png", "0002-b.png", "0003-photo.jpg", "0004-anim.gif"]
    on_disk = [(ctx.settings.images_dir / r.name).read_bytes() for r in stored]
    expected = [on_disk[1], on_disk[0], on_disk[2], on_disk[3]]
    assert [archive.read(n) for n in archive.namelist()] == expected
    for info in archive.infolist():
        assert info.flag_bits & 0x08  # sizes in a data descriptor: written as it streamed
        assert info.compress_type == zipfile.ZIP_STORED


async def test_an_image_whose_file_is_gone_is_left_out_of_the_zip(alice, ctx):
    album_id = await make_album(alice)
    keep, lost = [await upload(alice, f"{x}.png", album=album_id) for x in "kl"]
    (ctx.settings.images_dir / lost).unlink()
    response = await alice.get(f"/a/{await share_id_of(alice, album_id)}/zip")
    assert zipfile.ZipFile(io.BytesIO(response.body)).namelist() == ["0001-k.png"]


async def test_an_empty_album_zips_to_an_empty_archive(alice):
    album_id = await make_album(alice)
    response = await alice.get(f"/a/{await share_id_of(alice, album_id)}/zip")
    assert zipfile.ZipFile(io.BytesIO(response.body)).namelist() == []


async def test_deleting_an_album_keeps_its_images_unless_asked(alice, ctx):
    first = await make_album(alice, "one")
    kept = [await upload(alice, f"{i}.png", album=first) for i in range(2)]
    deleted = await alice.request("POST", f"/albums/{first}/delete", form={})
    assert deleted.code == 303 and deleted.headers["Location"] == "/albums"
    assert await ctx.albums.albums.get(first) is None and await album_names(ctx, first) == []
    assert all([await ctx.repo.get(n) for n in kept])

    second = await make_album(alice, "two")
    gone = [await upload(alice, f"g{i}.png", album=second) for i in range(2)]
    other = await make_album(alice, "three")
    await alice.request("POST", "/albums/selection", form={"album": other, "name": gone[0]})
    files_before = set(os.listdir(ctx.settings.images_dir))
    response = await alice.request("POST", f"/albums/{second}/delete", form={"images": "delete"})
    assert response.code == 303
    assert [await ctx.repo.get(n) for n in gone] == [None, None]
    assert not {n for n in gone} & set(os.listdir(ctx.settings.images_dir))
    assert len(files_before - set(os.listdir(ctx.settings.images_dir))) == 4  # and thumbnails
    assert await album_names(ctx, other) == []  # its membership elsewhere went with it
    assert all([await ctx.repo.get(n) for n in kept])


async def test_deleting_an_image_drops_it_from_its_albums(alice, ctx):
    album_id = await make_album(alice)
    name, other = [await upload(alice, f"{x}.png", album=album_id) for x in "ab"]
    response = await alice.request("POST", f"/gallery/{name}", htmx=True)
    assert response.code == 200
    assert await album_names(ctx, album_id) == [other]
    assert await ctx.albums.albums.members.count_documents({"name": name}) == 0
