"""/v/<stem>, the page of one image: the image, its links, its expiry, and OpenGraph and Twitter
tags that chat apps unfold into a preview, escaped whatever the file was called."""

import dataclasses
import html
import json
from html.parser import HTMLParser

import pytest

from imagehost.albums.records import AlbumRecord, new_id
from imagehost.context import build_context
from imagehost.expiry import HOUR
from imagehost.web.app import make_app
from tests import images
from tests.images import multipart
from tests.web.client import serving

HOSTILE = "x\"><script>alert(1)</script><meta property='og:image' content=x>&amp é.png"


class Tags(HTMLParser):
    """The page's <meta> tags by property or name, and its <title>, as a browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.scripts: list[dict] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            key = attrs.get("property") or attrs["name"]
            self.meta.setdefault(key, []).append(attrs.get("content", ""))
        if tag == "script":
            self.scripts.append(attrs)
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(body: bytes) -> Tags:
    tags = Tags()
    tags.feed(body.decode())
    return tags


async def upload(client, name: str, data: bytes, expires_in: str = "") -> dict:
    fields = [("file", name, data)]
    if expires_in:
        fields.insert(0, ("expires_in", None, expires_in.encode()))
    body, ctype = multipart(fields)
    response = await client.upload(body, ctype, accept="application/json")
    assert response.code == 201, response.body
    return json.loads(response.body)


async def page(client, body: dict, **headers):
    return await client.request(
        "GET", "/v/" + body["page_url"].split("/v/")[1], headers={"Accept": "text/html", **headers}
    )


async def test_the_page_carries_opengraph_and_twitter_tags_of_the_direct_link(client):
    body = await upload(client, "holiday.jpg", images.jpeg((640, 480)))
    assert body["page_url"].startswith(f"{client.base}/v/")
    response = await page(client, body)
    assert response.code == 200
    assert response.headers["X-Robots-Tag"] == "noindex"
    tags = parse(response.body)
    assert tags.meta["og:image"] == [body["url"]]
    assert body["url"].startswith("http") and "/images/" in body["url"]
    assert tags.meta["og:image:width"] == ["640"] and tags.meta["og:image:height"] == ["480"]
    assert tags.meta["og:image:type"] == ["image/jpeg"]
    assert tags.meta["og:url"] == [body["page_url"]]
    assert tags.meta["og:title"] == ["holiday.jpg"] and tags.title == "holiday.jpg"
    assert tags.meta["twitter:card"] == ["summary_large_image"]
    assert tags.meta["twitter:image"] == [body["url"]]
    assert tags.meta["robots"] == ["noindex"]
    text = response.body.decode()
    assert f'src="/images/{body["name"]}"' in text  # the image itself, same-origin
    for snippet in (body["url"], f"[img]{body['url']}[/img]", body["page_url"]):
        assert f'value="{html.escape(snippet)}"' in text
    assert "Expires" not in text


async def test_og_image_is_absolute_on_public_url(settings):
    public = dataclasses.replace(settings, public_url="https://img.example.org")
    async with build_context(public) as ctx:
        await ctx.repo.ensure_indexes()
        async with serving(make_app(ctx, public.cookie_secret), public) as client:
            body = await upload(client, "a.gif", images.gif())
            tags = parse((await page(client, body)).body)
    assert tags.meta["og:image"] == [f"https://img.example.org/images/{body['name']}"]
    assert tags.meta["og:url"] == [f"https://img.example.org/v/{body['name'][:16]}"]
    assert tags.meta["og:image:type"] == ["image/gif"]


async def test_a_hostile_file_name_stays_text_in_every_tag(client, ctx):
    body = await upload(client, HOSTILE, images.png())
    assert (await ctx.repo.get(body["name"])).original_name == HOSTILE
    response = await page(client, body)
    text = response.body.decode()
    assert "<script>alert" not in text and "content=x>" not in text
    tags = parse(response.body)
    assert tags.meta["og:title"] == [HOSTILE] and tags.meta["twitter:title"] == [HOSTILE]
    assert tags.meta["og:image:alt"] == [HOSTILE]
    assert tags.meta["og:image"] == [body["url"]]  # the planted og:image is not a tag
    assert all(s.get("src", "").startswith("/static/") for s in tags.scripts)
    assert tags.title == HOSTILE


async def test_the_page_says_when_the_image_expires(client):
    body = await upload(client, "soon.png", images.png(), expires_in=str(2 * HOUR))
    text = (await page(client, body)).body.decode()
    assert "Expires in 2 hours (" in text
    russian = (await page(client, body, **{"Accept-Language": "ru"})).body.decode()
    assert "Удалится через 2 часа (" in russian


@pytest.mark.parametrize("path", ["/v/AAAAAAAAAAAAAAAA", "/v/short", "/v/AAAAAAAAAAAAAAAA.png"])
async def test_an_unknown_or_malformed_page_is_404(client, path):
    response = await client.request("GET", path, headers={"Accept": "text/html"})
    assert response.code == 404


async def test_after_deleting_the_image_its_page_is_404(client):
    body = await upload(client, "gone.png", images.png())
    token_path = body["delete_url"].replace(client.base, "")
    assert (
        await client.request("POST", token_path, headers={"Accept": "application/json"})
    ).code == 200
    assert (await page(client, body)).code == 404


async def test_the_card_links_to_the_page(visitor):
    response = await visitor.upload(images.png())
    assert response.code == 201
    text = response.body.decode()
    assert "/v/" in text and "Page link" in text


async def test_the_page_links_the_albums_its_reader_may_open(client, ctx):
    body = await upload(client, "in-albums.png", images.png(), expires_in=str(HOUR))
    shown = AlbumRecord(album_id=new_id(), share_id=new_id(), owner="someone", title="<b>Trip</b>")
    hidden = AlbumRecord(
        album_id=new_id(), share_id=new_id(), owner="someone", title="Secret",
        visibility="private",
    )  # fmt: skip
    for album in (shown, hidden):
        await ctx.albums.albums.insert(album)
        await ctx.albums.albums.append(album.album_id, [body["name"]])
    text = (await page(client, body)).body.decode()
    assert f'<a href="/a/{shown.share_id}">&lt;b&gt;Trip&lt;/b&gt;</a>' in text
    assert hidden.share_id not in text and "Secret" not in text
    share = await client.request("GET", f"/a/{shown.share_id}", headers={"Accept": "text/html"})
    assert "PNG · 64×48 · 140 B · Expires in 1 hour (" in html.unescape(share.body.decode())
