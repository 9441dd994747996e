"""nginx's rate limits on /upload and /admin/login, with low numbers set through the settings."""

import json

import pytest

from imagehost.dev.devstack import LocalStack
from tests import images
from tests.conftest import free_port
from tests.images import multipart
from tests.stack import Http, stack_env

pytestmark = pytest.mark.e2e

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def limited_stack(tmp_path_factory, **limits: str):
    """A stack of its own with these limits, and raw HTTP to it."""
    env = stack_env(tmp_path_factory.mktemp("limited"), MONGODB_URI="", **limits)
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        yield running, Http(running.http_port)


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    # One request per minute plus a burst: within the test nothing is refilled.
    yield from limited_stack(
        tmp_path_factory,
        UPLOAD_RATE_PER_MINUTE="1",
        UPLOAD_BURST="2",
        LOGIN_RATE_PER_MINUTE="1",
        LOGIN_BURST="1",
    )


def test_uploads_beyond_the_burst_get_429_and_leave_nothing(limited):
    stack, site = limited
    answers = [site.upload(images.png(), accept="*/*") for _ in range(3)]
    assert [status for status, _, _ in answers] == [201, 201, 201]
    files = sorted(p.name for p in stack.settings.images_dir.iterdir())

    message = "too many uploads from your address (at most 1 a minute); try again in 60 s"
    status, headers, body = site.upload(images.png(), accept="*/*")
    assert status == 429
    assert headers["Content-Type"] == "text/plain"
    assert headers["Retry-After"] == "60"  # one a minute: the next one is let in a minute on
    assert body.decode() == f"error: {message}\n"
    status, headers, body = site.upload(images.png(), accept="application/json")
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "60"
    assert json.loads(body) == {"error": message}
    # A form sent by a browser without JavaScript: a page, with the message where the page's
    # scripts look for one.
    status, headers, body = site.upload(images.png(), accept=BROWSER_ACCEPT)
    assert status == 429 and headers["Content-Type"] == "text/html"
    assert headers["Retry-After"] == "60"
    assert f'<p class="error-message">{message}</p>' in body.decode()
    assert '<a href="/">Back</a>' in body.decode()
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
    assert headers["Retry-After"] == "60"
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
    message = "too many login attempts from your address; try again in 60 s"
    status, headers, body = site.request(
        "POST", "/admin/login", b"password=wrong", {**form, "Accept": "application/json"}
    )
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "60"
    assert json.loads(body) == {"error": message}
    status, headers, body = site.request(
        "POST", "/admin/login", b"password=wrong", {**form, "Accept": BROWSER_ACCEPT}
    )
    assert status == 429 and headers["Content-Type"] == "text/html"
    assert headers["Retry-After"] == "60"
    assert f'<p class="error-message">{message}</p>' in body.decode()
    assert '<a href="/admin/login">Back</a>' in body.decode()
    status, headers, body = site.request("POST", "/admin/login", b"password=wrong", form)
    assert (status, headers["Retry-After"]) == (429, "60")
    assert body.decode() == f"error: {message}\n"
