"""Expiry through nginx: an expired image stops being served, from the images folder and from
the bucket (behind nginx's cache), within EXPIRY_SWEEP_SECONDS (+ S3_CACHE_SECONDS) and the
sweep's own margin; and /v/<stem> reaches the app."""

import asyncio
import json
import time
from datetime import datetime

import pytest

from imagehost.s3storage import S3Storage
from imagehost.settings import SWEEP_MARGIN_SECONDS
from tests.images import multipart, png
from tests.stack import Http, bucket_stack, stack_env, start_stack

pytestmark = pytest.mark.e2e

SWEEP, CACHE = 1, 3


@pytest.fixture(scope="module")
def local_site(tmp_path_factory):
    env = stack_env(tmp_path_factory.mktemp("expiry"), EXPIRY_SWEEP_SECONDS=str(SWEEP))
    with start_stack(env) as running:
        yield Http(running.http_port), running


@pytest.fixture(scope="module")
def s3_site(tmp_path_factory, rgw, mongo_uri):
    var = tmp_path_factory.mktemp("s3expiry")
    env = {"S3_CACHE_SECONDS": str(CACHE), "EXPIRY_SWEEP_SECONDS": str(SWEEP)}
    with bucket_stack(var, rgw, mongo_uri, "expiry", **env) as (running, config):
        yield Http(running.http_port), config


def upload(site: Http, expires_in: int) -> dict:
    body, ctype = multipart([("expires_in", None, str(expires_in).encode()),
                             ("file", "soon.png", png(size=(33, 21)))])  # fmt: skip
    status, _, answer = site.request(
        "POST", "/api/v1/images", body, {"Content-Type": ctype, "Accept": "application/json"}
    )
    assert status == 201, answer
    return json.loads(answer)


def seconds_until_404(site: Http, path: str, expires_at: datetime, limit: float) -> float:
    """Poll `path` until nginx answers 404; how long after `expires_at` that was."""
    deadline = time.monotonic() + limit + (expires_at.timestamp() - time.time())
    while site.request("GET", path)[0] != 404:
        assert time.monotonic() < deadline, f"{path} still served {limit} s after it expired"
        time.sleep(0.2)
    return time.time() - expires_at.timestamp()


def test_an_expired_image_is_404_through_nginx_from_the_folder(local_site):
    site, _ = local_site
    body = upload(site, 2)
    paths = [f"/images/{body['name']}", body["thumbnail_url"].replace(site.base, "")]
    page = body["page_url"].replace(site.base, "")
    assert all(site.request("GET", p)[0] == 200 for p in [*paths, page])
    expires_at = datetime.fromisoformat(body["expires_at"])
    late = seconds_until_404(site, paths[0], expires_at, SWEEP + SWEEP_MARGIN_SECONDS)
    assert late >= 0  # never before its time
    # The thumbnail's file goes a moment after the image's (one delete after the other).
    assert seconds_until_404(site, paths[1], expires_at, SWEEP + SWEEP_MARGIN_SECONDS) >= 0
    assert site.request("GET", page, headers={"Accept": "text/html"})[0] == 404
    assert site.request("GET", f"/api/v1/images/{body['name']}")[0] == 404


def test_the_page_of_an_image_is_served_by_the_app_through_nginx(local_site):
    site, _ = local_site
    body = upload(site, 0)
    status, headers, page = site.request(
        "GET", body["page_url"].replace(site.base, ""), headers={"Accept": "text/html"}
    )
    assert status == 200 and headers["X-Robots-Tag"] == "noindex"
    assert f'<meta property="og:image" content="{body["url"]}">' in page.decode()


def test_an_expired_image_leaves_the_bucket_and_nginx_cache_within_sweep_plus_cache(s3_site):
    site, config = s3_site
    body = upload(site, 2)
    path = f"/images/{body['name']}"
    assert site.request("GET", path)[0] == 200  # now in nginx's cache for CACHE seconds
    expires_at = datetime.fromisoformat(body["expires_at"])
    late = seconds_until_404(site, path, expires_at, SWEEP + CACHE + SWEEP_MARGIN_SECONDS)
    assert late >= 0
    stored = {f.name for f in asyncio.run(S3Storage(config).scan())}
    assert body["name"] not in stored
