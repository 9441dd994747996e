"""The page's gallery: htmx fragments, keyset pages per owner, and deleting by the owner."""

import json
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from loguru import logger
from tornado.web import decode_signed_value

from imagehost.gallery import PAGE_SIZE
from imagehost.logsetup import setup_logging
from tests import images
from tests.records import image_record

CARD_ID = re.compile(r'<li class="card" id="card-([A-Za-z0-9_-]{16})"')
NEXT_PAGE = re.compile(r'hx-get="(/gallery\?before=[^"]+)"')


def card_stems(html: str) -> list[str]:
    return CARD_ID.findall(html)


def owner_of(visitor, ctx) -> str:
    signed = visitor.owner_cookie.strip('"')
    value = decode_signed_value(ctx.settings.cookie_secret, "owner", signed)
    return value.decode()


async def test_htmx_upload_answers_with_the_card_fragment(client, ctx):
    visitor = await client.visit()
    response = await visitor.upload(images.png((640, 480)), "<b>cat</b>.png")
    assert response.code == 201
    html = response.body.decode()
    assert html.lstrip().startswith('<li class="card"') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    name = response.headers["Location"].rsplit("/", 1)[1]
    record = await ctx.repo.get(name)
    assert record.owner == owner_of(visitor, ctx)
    url = f"{client.base}/images/{name}"
    assert f'src="/images/{record.thumbnail}"' in html
    assert f'src="{url}"' not in html  # the full image is linked, never loaded by the card
    assert "&lt;b&gt;cat&lt;/b&gt;.png" in html and "<b>cat</b>" not in html
    assert "PNG · 640×480" in html
    for snippet in (url, f"![&lt;b&gt;cat&lt;/b&gt;.png]({url})", f"[img]{url}[/img]"):
        assert f'value="{snippet}"' in html
    assert "&lt;img src=&quot;" + url in html  # the HTML snippet, escaped into its field
    assert f'hx-post="/gallery/{name}"' in html


async def test_htmx_refusal_is_an_error_fragment(client, ctx):
    visitor = await client.visit()
    response = await visitor.upload(b"just some text", "fake.gif")
    assert response.code == 415
    html = response.body.decode().strip()
    assert html.startswith('<span class="error-message">') and "JPEG, PNG or GIF" in html
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert await ctx.repo.count() == 0


async def test_plain_form_upload_still_gets_the_whole_page(client):
    visitor = await client.visit()
    response = await visitor.submit_form(images.png())
    html = response.body.decode()
    assert response.code == 201 and "<html" in html and "Direct link" in html


async def test_page_shows_only_this_browsers_uploads(client, ctx):
    alice, bob, newcomer = await client.visit(), await client.visit(), await client.visit()
    mine = [(await alice.upload(images.png(), f"a{i}.png")).body.decode() for i in range(2)]
    theirs = (await bob.upload(images.png(), "b.png")).body.decode()
    await client.upload_file(images.png(), "api.png")  # an API client: no cookie, owner ""
    assert await ctx.repo.count() == 4

    page = (await alice.get("/")).body.decode()
    assert card_stems(page) == [card_stems(html)[0] for html in reversed(mine)]
    assert card_stems((await bob.get("/")).body.decode()) == card_stems(theirs)
    fresh = (await newcomer.get("/")).body.decode()
    assert card_stems(fresh) == [] and "Nothing here yet" in fresh


def tied_in_threes(i: int) -> timedelta:
    return timedelta(seconds=i // 3)


def milliseconds_apart(i: int) -> timedelta:
    return timedelta(milliseconds=7 * i)


async def seed(ctx, owner: str, count: int, prefix: str = "a", when=tied_in_threes):
    """Records straight into the repository, created at `start + when(i)`.

    Names run against time (the newest has the smallest name), so a page that sorted or cut
    by name instead of by time would show it.
    """
    start = datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)
    records = []
    for i in range(count):
        stem = f"{prefix}{count - i:04d}".ljust(16, "x")
        record = image_record(
            f"{stem}.png", original_name=f"n{i}.png", width=10, height=10, size=100,
            delete_token_hash="-", owner=owner, thumbnail=f"{stem}.thumb.png",
            created_at=start + when(i),
        )  # fmt: skip
        await ctx.repo.insert(record)
        records.append(record)
    return records


@pytest.mark.parametrize("when", [tied_in_threes, milliseconds_apart])
async def test_pages_are_keyset_newest_first_and_complete(client, ctx, when):
    visitor = await client.visit()
    records = await seed(ctx, owner_of(visitor, ctx), 2 * PAGE_SIZE + 5, when=when)
    await seed(ctx, "someone-else", 30, prefix="b", when=when)
    newest_first = sorted(records, key=lambda r: (r.created_at, r.name), reverse=True)

    html = (await visitor.get("/")).body.decode()
    pages = [card_stems(html)]
    while next_url := NEXT_PAGE.search(html):
        response = await visitor.get(next_url[1], htmx=True)
        assert response.code == 200 and "HX-Request" in response.headers["Vary"]
        html = response.body.decode()
        assert "<html" not in html
        pages.append(card_stems(html))
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 5]
    assert [stem for page in pages for stem in page] == [r.name[:16] for r in newest_first]


async def test_a_gallery_page_without_htmx_is_a_whole_page(client, ctx):
    visitor = await client.visit()
    await seed(ctx, owner_of(visitor, ctx), PAGE_SIZE + 2)
    first = (await visitor.get("/")).body.decode()
    next_url = NEXT_PAGE.search(first)[1]
    response = await visitor.get(next_url)
    html = response.body.decode()
    assert response.code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" in html and 'action="/upload"' in html
    assert len(card_stems(html)) == 2 and NEXT_PAGE.search(html) is None


async def test_another_visitor_cannot_page_through_my_gallery(client, ctx):
    alice, mallory = await client.visit(), await client.visit()
    await seed(ctx, owner_of(alice, ctx), PAGE_SIZE + 3)
    next_url = NEXT_PAGE.search((await alice.get("/")).body.decode())[1]
    stolen = await mallory.get(next_url, htmx=True)
    assert stolen.code == 200 and card_stems(stolen.body.decode()) == []


async def test_a_bad_cursor_is_400(client):
    visitor = await client.visit()
    for cursor in ("garbage", "12.short.png", "1" * 16 + ".AAAAAAAAAAAAAAAA.png"):
        response = await visitor.get(f"/gallery?before={cursor}", htmx=True)
        assert response.code == 400
        assert "cursor" in response.body.decode()


async def test_owner_deletes_from_the_card(client, ctx):
    log = setup_logging(ctx.settings.logs_dir, console=False)
    visitor = await client.visit()
    await visitor.upload(images.jpeg(), "keep.jpg")
    response = await visitor.upload(images.png(), "bye.png")
    name = response.headers["Location"].rsplit("/", 1)[1]
    record = await ctx.repo.get(name)
    on_disk = set(os.listdir(ctx.settings.images_dir))
    assert {name, record.thumbnail} <= on_disk

    path = f"/gallery/{name}"
    deleted = await client.request("POST", path, headers=visitor.headers(htmx=True))
    assert deleted.code == 200 and deleted.body.strip() == b""
    assert await ctx.repo.get(name) is None
    assert set(os.listdir(ctx.settings.images_dir)) == on_disk - {name, record.thumbnail}
    assert len(card_stems((await visitor.get("/")).body.decode())) == 1
    again = await client.request("POST", path, headers=visitor.headers(htmx=True))
    assert again.code == 404
    await logger.complete()
    assert f"image deleted ip=127.0.0.1 name={name} by=owner" in log.read_text()


async def test_someone_else_cannot_delete_my_image(client, ctx):
    log = setup_logging(ctx.settings.logs_dir, console=False)
    alice, mallory = await client.visit(), await client.visit()
    name = (await alice.upload(images.png())).headers["Location"].rsplit("/", 1)[1]
    path = f"/gallery/{name}"
    refused = await client.request("POST", path, headers=mallory.headers(Accept="application/json"))
    assert refused.code == 404
    assert json.loads(refused.body) == {
        "error": "no such image among your uploads",
        "code": "not_found",
    }
    anonymous = await client.request("DELETE", path)  # no cookie at all, like curl
    assert anonymous.code == 404
    assert await ctx.repo.get(name) is not None
    assert name in os.listdir(ctx.settings.images_dir)
    await logger.complete()
    assert f"owner delete refused ip=127.0.0.1 name={name}" in log.read_text()


async def test_owner_delete_needs_the_xsrf_token(client, ctx):
    visitor = await client.visit()
    name = (await visitor.upload(images.png())).headers["Location"].rsplit("/", 1)[1]
    forged = await client.request(
        "POST", f"/gallery/{name}", headers=visitor.headers(htmx=True, xsrf=False)
    )
    assert forged.code == 403
    assert await ctx.repo.get(name) is not None


async def test_no_js_delete_form_shows_the_deleted_page(client, ctx):
    visitor = await client.visit()
    name = (await visitor.upload(images.png())).headers["Location"].rsplit("/", 1)[1]
    form = f"_xsrf={visitor.xsrf}".encode()
    headers = visitor.headers(xsrf=False, Accept="text/html")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = await client.request("POST", f"/gallery/{name}", body=form, headers=headers)
    assert response.code == 200 and "is gone" in response.body.decode()
    assert await ctx.repo.get(name) is None


async def test_page_loads_htmx_under_a_strict_csp(client):
    page = await client.request("GET", "/")
    html = page.body.decode()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)  # nothing inline
    assert "hx-on" not in html
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)[1])
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    assert re.search(r'src="/static/js/htmx-2\.0\.\d+\.min\.js\?v=', html)
    headers = html.split('hx-headers="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    assert list(json.loads(headers)) == ["X-XSRFToken"]
