"""Expiry through the real app and database: expires_in on /upload and the API, the limits, the
page's choice and the .sxcu, the sweeper and its lease, cards, backups and restore."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import bson
import pytest

from imagehost.backups.records import RawRecords
from imagehost.backups.restore import restore
from imagehost.context import build_context
from imagehost.coordination import Lease
from imagehost.database import ImageRecord, millis
from imagehost.expiry import DAY, HOUR, WEEK
from imagehost.migrations import prepare_database
from imagehost.settings import load_settings
from imagehost.sweeper import LEASE_NAME
from imagehost.web.app import make_app
from tests import images
from tests.backups import stored_files
from tests.images import multipart
from tests.records import image_record
from tests.web.client import serving


def iso(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def upload(client, expires_in: str | None = None, path: str = "/upload", **headers):
    fields = [("file", "cat.png", images.png())]
    if expires_in is not None:
        fields.insert(0, ("expires_in", None, expires_in.encode()))
    body, ctype = multipart(fields)
    return await client.upload(body, ctype, accept="application/json", path=path, headers=headers)


@pytest.fixture
async def limited(settings):
    """The app with anonymous uploads kept one day by default and a week at most."""
    env = {"ANONYMOUS_DEFAULT_EXPIRY": "1d", "ANONYMOUS_MAX_EXPIRY": "1w"}
    expiry = load_settings(env).expiry
    limited = dataclasses.replace(settings, expiry=expiry)
    async with build_context(limited) as ctx:
        await ctx.repo.ensure_indexes()
        async with serving(make_app(ctx, limited.cookie_secret), limited) as client:
            yield client, ctx


@pytest.mark.parametrize("path", ["/upload", "/api/v1/images"])
async def test_expires_in_sets_expires_at_on_the_record_and_in_the_answer(client, ctx, path):
    response = await upload(client, str(HOUR), path=path)
    assert response.code == 201, response.body
    body = json.loads(response.body)
    assert iso(body["expires_at"]) - iso(body["created_at"]) == timedelta(hours=1)
    record = await ctx.repo.get(body["name"])
    assert record.expires_at == iso(body["expires_at"])
    assert body["page_url"] == f"{client.base}/v/{record.stem}"
    got = json.loads((await client.request("GET", f"/api/v1/images/{record.name}")).body)
    assert got["expires_at"] == body["expires_at"] and got["page_url"] == body["page_url"]
    # The sweeper's key: an integer, in the index.
    doc = await ctx.repo.collection.find_one({"name": record.name})
    assert doc["expires_ms"] == millis(record.expires_at)
    indexes = await ctx.repo.collection.index_information()
    assert any(spec["key"] == [("expires_ms", 1)] for spec in indexes.values())


@pytest.mark.parametrize("sent", [None, "", "0"])
async def test_without_expires_in_or_with_0_the_image_is_kept(client, ctx, sent):
    body = json.loads((await upload(client, sent)).body)
    assert body["expires_at"] is None
    assert (await ctx.repo.get(body["name"])).expires_at is None


@pytest.mark.parametrize("sent", ["abc", "-1", "1.5", "3600s", "٣", str(3651 * DAY)])
async def test_a_malformed_expires_in_is_refused_and_nothing_is_stored(client, ctx, sent):
    response = await upload(client, sent)
    assert response.code == 400
    assert json.loads(response.body)["code"] == "invalid_expiry"
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}


async def test_expires_in_sent_twice_is_refused(client, ctx):
    fields = [("expires_in", None, b"60"), ("expires_in", None, b"60")]
    body, ctype = multipart([*fields, ("file", "cat.png", images.png())])
    response = await client.upload(body, ctype, accept="application/json")
    assert response.code == 400 and await ctx.repo.count() == 0


async def test_the_anonymous_limit_refuses_longer_and_the_default_applies(limited):
    client, ctx = limited
    for sent in ("0", str(WEEK + 1)):
        response = await upload(client, sent)
        assert response.code == 400, sent
        body = json.loads(response.body)
        assert body["code"] == "expiry_too_long"
        assert body["error"] == (
            "uploads without an account are kept at most 1 week (604800 seconds) here; "
            "ask for less in expires_in"
        )
    russian = await upload(client, "0", **{"Accept-Language": "ru"})
    assert "1 неделя" in json.loads(russian.body)["error"]
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}
    longest = json.loads((await upload(client, str(WEEK))).body)
    assert iso(longest["expires_at"]) - iso(longest["created_at"]) == timedelta(weeks=1)
    default = json.loads((await upload(client)).body)
    assert iso(default["expires_at"]) - iso(default["created_at"]) == timedelta(days=1)


async def test_the_page_offers_the_choices_this_uploader_may_take(client, limited):
    page = (await client.request("GET", "/")).body.decode()
    assert '<select id="expires_in" name="expires_in">' in page
    for value in (HOUR, DAY, WEEK, 30 * DAY):
        assert f'<option value="{value}">' in page
    assert '<option value="0" selected>never</option>' in page
    limited_page = (await limited[0].request("GET", "/")).body.decode()
    assert f'<option value="{DAY}" selected>1 day</option>' in limited_page
    assert f'<option value="{WEEK}">1 week</option>' in limited_page
    assert f'value="{30 * DAY}"' not in limited_page and 'value="0"' not in limited_page


async def test_the_plain_form_sends_the_choice(visitor, ctx):
    body, ctype = multipart(
        [("_xsrf", None, visitor.xsrf.encode()), ("expires_in", None, str(DAY).encode()),
         ("file", "cat.png", images.png())]
    )  # fmt: skip
    response = await visitor.client.upload(
        body, ctype, accept="text/html", headers=visitor.headers(xsrf=False)
    )
    assert response.code == 201
    record = (await ctx.repo.list_page())[0]
    assert record.expires_at - record.created_at == timedelta(days=1)
    assert "Expires in 1 day" in response.body.decode()


async def page_upload(visitor, expires_in: str):
    """An upload from the page (htmx), as this visitor: the image is theirs."""
    fields = [("expires_in", None, expires_in.encode()), ("file", "cat.png", images.png())]
    body, ctype = multipart(fields)
    return await visitor.client.upload(body, ctype, headers=visitor.headers(htmx=True))


async def test_cards_say_when_the_image_expires_in_english_and_russian(visitor, ctx):
    card = await page_upload(visitor, str(3 * HOUR))
    assert card.code == 201 and "Expires in 3 hours (" in card.body.decode()
    await page_upload(visitor, "0")
    expiring = next(r for r in await ctx.repo.list_page() if r.expires_at)
    page = (await visitor.get("/")).body.decode()
    assert page.count('<p class="expiry">') == 1
    assert f'datetime="{expiring.expires_at.isoformat(timespec="seconds")}"' in page
    assert "Expires in 3 hours (" in page and " UTC)" in page
    russian = await visitor.client.request(
        "GET", "/", headers={**visitor.headers(), "Accept-Language": "ru"}
    )
    text = russian.body.decode()
    assert "Удалится через 3 часа (" in text and "г., " in text


async def test_the_sxcu_asks_for_the_chosen_expiry(client, limited):
    plain = json.loads((await client.request("GET", "/imagehost.sxcu")).body)
    assert "Arguments" not in plain
    chosen = json.loads((await client.request("GET", f"/imagehost.sxcu?expires_in={DAY}")).body)
    assert chosen["Arguments"] == {"expires_in": str(DAY)}
    refused = await limited[0].request("GET", "/imagehost.sxcu?expires_in=0")
    assert refused.code == 400


# -- the sweeper -----------------------------------------------------------------------------
async def test_the_sweep_deletes_expired_images_their_files_and_records_only(client, ctx):
    soon = json.loads((await upload(client, "60")).body)
    later = json.loads((await upload(client, str(DAY))).body)
    kept = json.loads((await upload(client)).body)
    assert len(stored_files(ctx)) == 6
    assert await ctx.sweeper.sweep() == 0
    assert await ctx.sweeper.sweep(now=datetime.now(UTC) + timedelta(minutes=2)) == 1
    assert await ctx.repo.get(soon["name"]) is None
    names = {later["name"], kept["name"]}
    assert {r.name for r in await ctx.repo.list_page()} == names
    left = stored_files(ctx)
    assert len(left) == 4 and soon["name"] not in left
    assert not any(name.startswith(soon["name"].split(".")[0]) for name in left)
    assert await ctx.sweeper.sweep(now=datetime.now(UTC) + timedelta(days=400)) == 1
    assert {r.name for r in await ctx.repo.list_page()} == {kept["name"]}


async def test_an_expired_image_not_yet_swept_is_gone_for_readers(client, ctx):
    body = json.loads((await upload(client, "60")).body)
    record = await ctx.repo.get(body["name"])
    await ctx.repo.delete(record.name)  # nx-27017 would keep a $set datetime as a string
    past = datetime.now(UTC) - timedelta(seconds=1)
    await ctx.repo.insert(dataclasses.replace(record, expires_at=past))
    assert (await client.request("GET", f"/api/v1/images/{body['name']}")).code == 404
    assert (await client.request("GET", body["page_url"].replace(client.base, ""))).code == 404
    assert await ctx.sweeper.sweep() == 1


async def test_only_the_lease_holder_sweeps(client, ctx):
    json.loads((await upload(client, "60")).body)
    other = Lease(ctx.repo.client, ctx.repo.db_name, LEASE_NAME, 30)
    assert await other.acquire()
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert await ctx.sweeper.sweep(now=later) == 0
    assert await ctx.repo.count() == 1
    await other.release()
    assert await ctx.sweeper.sweep(now=later) == 1
    assert await ctx.sweeper.lease.current() is None  # released after its sweep


async def test_a_sweep_deletes_more_than_one_batch(ctx, monkeypatch):
    from imagehost import sweeper as sweeper_module

    monkeypatch.setattr(sweeper_module, "BATCH", 3)
    past = datetime.now(UTC) - timedelta(minutes=1)
    for index in range(7):
        record = expired_record(index, past)
        for name in record.files:
            await ctx.storage.put(name, b"x")
        await ctx.repo.insert(record)
    assert await ctx.sweeper.sweep() == 7
    assert await ctx.repo.count() == 0 and stored_files(ctx) == {}


def expired_record(index: int, when: datetime) -> ImageRecord:
    stem = f"expired{index:09d}"
    return image_record(
        f"{stem}.png", thumbnail=f"{stem}.thumb.jpg", created_at=when - timedelta(hours=1),
        expires_at=when,
    )  # fmt: skip


# -- backups ---------------------------------------------------------------------------------
async def test_backups_keep_expires_at_and_a_restored_expired_image_goes_at_the_next_sweep(
    client, ctx
):
    body = json.loads((await upload(client, str(HOUR))).body)
    kept = json.loads((await upload(client)).body)
    backup = await ctx.backups.run()
    path = ctx.backups.path(backup.name)
    await ctx.repo.delete_all()
    for name in list(stored_files(ctx)):
        await ctx.storage.delete(name)
    await restore(path, ctx.repo, ctx.storage)
    record = await ctx.repo.get(body["name"])
    assert record.expires_at == iso(body["expires_at"])
    assert (await ctx.repo.get(kept["name"])).expires_at is None
    # Restored after its time: the next sweep removes it, files and all.
    assert await ctx.sweeper.sweep(now=record.expires_at + timedelta(seconds=1)) == 1
    assert await ctx.repo.get(body["name"]) is None
    assert set(stored_files(ctx)) == set((await ctx.repo.get(kept["name"])).files)


async def test_a_foreign_record_with_only_expires_at_gets_its_sweep_key(ctx):
    past = datetime.now(UTC) - timedelta(minutes=1)
    doc = expired_record(1, past).to_document()
    del doc["expires_ms"]
    await RawRecords(ctx.repo).insert([bson.encode(doc)])
    assert await ctx.sweeper.sweep() == 0  # no key: the sweeper cannot see it
    await prepare_database(ctx.repo)
    assert await ctx.sweeper.sweep() == 1
