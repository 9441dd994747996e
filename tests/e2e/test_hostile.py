"""The hostile-input corpus (tests/hostile.py) through nginx: answers, leftovers, serving."""

import json

import pytest

from tests import hostile
from tests.hostile import ACCEPTED, REFUSED

pytestmark = pytest.mark.e2e
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Content-Disposition": "inline",
}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def stored(stack) -> set[str]:
    return {p.name for p in stack.settings.images_dir.iterdir()}


def send(site, case, accept="application/json"):
    body, ctype = case.request()
    return site.request("POST", "/upload", body, {"Content-Type": ctype, "Accept": accept})


@pytest.mark.parametrize("case", REFUSED, ids=hostile.ids(REFUSED))
def test_refused_case_through_nginx(db_stack, case):
    stack, site, records = db_stack
    files_before, records_before = stored(stack), records.count()
    status, headers, body = send(site, case)
    assert status == case.status, body[:300]
    assert headers["Content-Type"] == "application/json"
    assert case.words in json.loads(body)["error"]
    assert stored(stack) == files_before
    assert records.count() == records_before


@pytest.mark.parametrize("case", ACCEPTED, ids=hostile.ids(ACCEPTED))
def test_accepted_case_is_served_only_as_an_image(db_stack, case):
    stack, site, records = db_stack
    status, _, body = send(site, case)
    assert status == 201, body[:300]
    answer = json.loads(body)
    record = records.get(answer["name"])
    assert record is not None

    for path, fmt in (
        (answer["path"], case.fmt),
        (
            "/images/" + record["thumbnail"],
            "png" if record["thumbnail"].endswith("png") else "jpeg",
        ),
    ):
        status, headers, served = site.request("GET", path)
        assert status == 200
        assert headers["Content-Type"] == CONTENT_TYPES[fmt]
        for key, value in IMAGE_HEADERS.items():
            assert headers[key] == value
        for payload in case.absent:
            assert payload not in served, payload
    _, _, served = site.request("GET", answer["path"])
    assert served == (stack.settings.images_dir / answer["name"]).read_bytes()
    if case.check:
        case.check(record, served)
