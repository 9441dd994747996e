"""Quotas through nginx, on the stack's app processes: an account's uploads past its daily
limit are refused (403 quota_daily, in Russian when asked) and leave nothing; uploads racing
from many connections at once never keep more than the limit."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from imagehost.accounts.sessions import SESSION_COOKIE
from tests import images
from tests.stack import Http, Records, api_token, stack_env, start_stack

PER_DAY = 3
PASSWORD = "a long enough secret"


@pytest.fixture(scope="module")
def quota_stack(tmp_path_factory, mongo_uri):
    db = f"e2e_{uuid.uuid4().hex[:12]}"
    env = stack_env(
        tmp_path_factory.mktemp("quotas"), MONGODB_URI=mongo_uri, MONGODB_DB=db,
        REGISTRATION="open", QUOTA_BYTES="0", QUOTA_IMAGES_PER_DAY=str(PER_DAY),
    )  # fmt: skip
    with start_stack(env) as running:
        records = Records(mongo_uri, db)
        yield Http(running.http_port), records
        records.close()


def sign_up(site: Http, username: str) -> str:
    """A new account through the sign-up form; the Cookie header of its session."""
    _, headers, _ = site.request("GET", "/signup")
    xsrf = SimpleCookie(headers["Set-Cookie"])["_xsrf"].value
    form = {"username": username, "password": PASSWORD, "password2": PASSWORD, "_xsrf": xsrf}
    status, headers, body = site.request(
        "POST", "/signup", urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={xsrf}"},
    )  # fmt: skip
    assert status == 303, body
    session = SimpleCookie(headers["Set-Cookie"])[SESSION_COOKIE].value
    return f"_xsrf={xsrf}; {SESSION_COOKIE}={session}"


def owned(records: Records, username: str) -> int:
    user = records.client[records.images.database.name]["users"].find_one({"username": username})
    return records.images.count_documents({"owner": f"user:{user['_id']}"})


def test_past_the_daily_quota_an_upload_is_refused_and_nothing_is_kept(quota_stack):
    site, records = quota_stack
    token = api_token(site, sign_up(site, "daily"))
    bearer = {"Authorization": f"Bearer {token}"}
    for _ in range(PER_DAY):
        status, _, answer = site.upload(images.png(), path="/api/v1/images", headers=bearer)
        assert status == 201, answer
    before = records.count()
    status, headers, body = site.upload(
        images.png(), path="/api/v1/images", headers={**bearer, "Accept-Language": "ru"}
    )
    assert status == 403 and headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == "quota_daily"
    assert "загружать 3 изображения в сутки" in answer["error"], answer
    # curl's plain /upload gets the same refusal as text.
    status, _, text = site.upload(images.png(), accept="*/*", headers=bearer)
    assert status == 403 and text.decode().startswith("error: your account may upload 3 images")
    assert records.count() == before and owned(records, "daily") == PER_DAY


def test_uploads_racing_at_once_never_keep_more_than_the_limit(quota_stack):
    site, records = quota_stack
    token = api_token(site, sign_up(site, "racer"))
    bearer = {"Authorization": f"Bearer {token}"}

    def upload(_):
        return site.upload(images.png(), path="/api/v1/images", headers=bearer)[0]

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(upload, range(12)))
    assert set(statuses) <= {201, 403}, statuses
    kept = owned(records, "racer")
    assert kept == statuses.count(201) and kept <= PER_DAY, statuses
