"""nginx's rate limits on /upload and /admin/login, with low numbers set through the settings."""

import json

import pytest

from imagehost.dev.devstack import LocalStack
from tests import images
from tests.conftest import free_port
from tests.images import multipart
from tests.stack import Http, stack_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    # One request per minute plus a burst: within the test nothing is refilled.
    env = stack_env(
        tmp_path_factory.mktemp("limited"),
        MONGODB_URI="",
        UPLOAD_RATE_PER_MINUTE="1",
        UPLOAD_BURST="2",
        LOGIN_RATE_PER_MINUTE="1",
        LOGIN_BURST="1",
    )
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        yield running, Http(running.http_port)


def test_uploads_beyond_the_burst_get_429_and_leave_nothing(limited):
    stack, site = limited
    answers = [site.upload(images.png(), accept="*/*") for _ in range(3)]
    assert [status for status, _, _ in answers] == [201, 201, 201]
    files = sorted(p.name for p in stack.settings.images_dir.iterdir())

    status, headers, body = site.upload(images.png(), accept="*/*")
    assert status == 429
    assert headers["Content-Type"] == "text/plain"
    assert body.decode() == (
        "error: too many uploads from your address (at most 1 a minute); "
        "wait a little and try again\n"
    )
    status, headers, body = site.upload(images.png(), accept="application/json")
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert "too many uploads" in json.loads(body)["error"]
    assert sorted(p.name for p in stack.settings.images_dir.iterdir()) == files


def test_api_uploads_share_the_budget_and_get_json_429(limited):
    stack, site = limited
    body, ctype = multipart([("file", "a.png", images.png())])
    headers = {"Content-Type": ctype, "Accept": "*/*"}
    before = len(list(stack.settings.images_dir.iterdir()))
    # The budget is 1 a minute plus a burst of 2, whatever the tests before used of it.
    answers = [site.request("POST", "/api/v1/images", body, headers) for _ in range(4)]
    status, headers, payload = answers[-1]
    assert status == 429
    assert headers["Content-Type"] == "application/json"
    assert "too many uploads" in json.loads(payload)["error"]
    created = sum(1 for status, _, _ in answers if status == 201)
    # An image and its thumbnail per upload let through; nothing for those refused.
    assert len(list(stack.settings.images_dir.iterdir())) == before + 2 * created


def test_only_posts_count(limited):
    _, site = limited
    for _ in range(10):
        assert site.request("GET", "/")[0] == 200
        assert site.request("GET", "/upload")[0] == 405
        assert site.request("GET", "/admin/login")[0] != 429


def test_admin_login_attempts_beyond_the_burst_get_429(limited):
    _, site = limited
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [site.request("POST", "/admin/login", b"password=wrong", form)[0] for _ in range(4)]
    assert 429 not in attempts[:2]
    assert attempts[2:] == [429, 429]
    status, headers, body = site.request(
        "POST", "/admin/login", b"password=wrong", {**form, "Accept": "application/json"}
    )
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"] == (
        "too many login attempts from your address; wait a minute and try again"
    )
