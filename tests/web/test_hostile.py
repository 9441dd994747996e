"""The hostile-input corpus (tests/hostile.py) against the app's real upload endpoint."""

import json

import pytest

from imagehost.images.check import sniff_format
from imagehost.storage import NAME_PATTERN
from tests import hostile
from tests.hostile import ACCEPTED, CASES, REFUSED


def test_the_corpus_is_large_and_covers_both_answers():
    assert len(CASES) >= 30
    assert len(set(hostile.ids(CASES))) == len(CASES)
    assert len(REFUSED) >= 30 and len(ACCEPTED) >= 10


@pytest.mark.parametrize("case", REFUSED, ids=hostile.ids(REFUSED))
async def test_refused_case_gets_its_status_and_message_and_leaves_nothing(client, ctx, case):
    body, ctype = case.request()
    response = await client.upload(body, ctype, accept="application/json")
    assert response.code == case.status, response.body[:300]
    assert response.headers["Content-Type"] == "application/json"
    message = json.loads(response.body)["error"]
    assert case.words in message
    assert list(ctx.settings.images_dir.iterdir()) == []
    assert await ctx.repo.count() == 0


@pytest.mark.parametrize("case", ACCEPTED, ids=hostile.ids(ACCEPTED))
async def test_accepted_case_is_stored_as_an_image_without_its_payload(client, ctx, case):
    body, ctype = case.request()
    response = await client.upload(body, ctype, accept="application/json")
    assert response.code == 201, response.body[:300]
    answer = json.loads(response.body)
    name = answer["name"]
    assert NAME_PATTERN.match(name) and answer["format"] == case.fmt
    stored = (ctx.settings.images_dir / name).read_bytes()
    assert sniff_format(stored) == case.fmt
    for payload in case.absent:
        assert payload not in stored, payload
    record = (await ctx.repo.get(name)).to_document()
    assert record["size"] == len(stored)
    if case.check:
        case.check(record, stored)
    # Nothing but the image and its thumbnail was written, and nowhere else.
    assert sorted(p.name for p in ctx.settings.images_dir.iterdir()) == sorted(
        [name, record["thumbnail"]]
    )
    assert not (ctx.settings.var_dir / "etc").exists()


async def test_a_hostile_name_is_escaped_on_the_page(client):
    case = next(c for c in CASES if c.id == "name-markup")
    body, ctype = case.request()
    response = await client.upload(body, ctype, accept="text/html")
    page = response.body.decode()
    assert response.code == 201
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page
