"""STORAGE=s3 end to end: uploads land in the bucket (a real Ceph RGW) and nginx serves
/images/ from it, with the headers of local storage and none of the store's."""

import asyncio
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from imagehost.dev.devstack import LocalStack
from imagehost.s3storage import S3Storage
from tests.images import gif, jpeg, noisy_jpeg, png
from tests.stack import Http, bucket_stack

pytestmark = pytest.mark.e2e


def cached_copies(running: LocalStack, data: bytes) -> list[Path]:
    """The files of nginx's cache that hold `data` (after nginx's own header)."""
    cache = running.settings.var_dir / "nginx" / "cache"
    return [path for path in cache.rglob("*") if path.is_file() and data in path.read_bytes()]


@pytest.fixture(scope="module")
def s3_running(tmp_path_factory, rgw, mongo_uri):
    with bucket_stack(
        tmp_path_factory.mktemp("s3stack"), rgw, mongo_uri, "serve", S3_CACHE_SECONDS="1"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def s3_stack(s3_running):
    running, config = s3_running
    return Http(running.http_port), config


@pytest.mark.parametrize(
    ("data", "filename", "ctype"),
    [(jpeg(), "a.jpg", "image/jpeg"), (png(), "a.png", "image/png"), (gif(), "a.gif", "image/gif")],
)
def test_an_upload_is_in_the_bucket_and_served_by_nginx_as_from_a_folder(
    s3_stack, data, filename, ctype
):
    site, config = s3_stack
    status, _, body = site.upload(data, filename)
    assert status == 201, body
    stored = {f.name for f in asyncio.run(S3Storage(config).scan())}
    assert body["name"] in stored
    status, headers, served = site.request("GET", f"/images/{body['name']}")
    assert status == 200 and served == data
    assert headers["Content-Type"] == ctype
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Server"] == "nginx"
    leaked = [name for name in headers if name.lower().startswith(("x-amz", "x-rgw"))]
    assert leaked == []


def test_a_missing_name_is_404_not_the_stores_403(s3_stack):
    site, _ = s3_stack
    status, headers, _ = site.request("GET", "/images/AAAAAAAAAAAAAAAA.png")
    assert status == 404
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert site.request("GET", "/images/not-a-name.png")[0] == 404


def test_a_deleted_image_stops_being_served_once_nginx_cache_lapses(s3_stack):
    site, _ = s3_stack
    _, _, body = site.upload(png(size=(31, 17)))
    path = f"/images/{body['name']}"
    assert site.request("GET", path)[0] == 200  # now in nginx's cache, for S3_CACHE_SECONDS=1
    token = {"X-Delete-Token": body["delete_token"]}
    assert site.request("DELETE", f"/api/v1/images/{body['name']}", headers=token)[0] == 200
    deadline = time.monotonic() + 3
    while site.request("GET", path)[0] != 404:
        assert time.monotonic() < deadline, "still served 3 s after the delete"
        time.sleep(0.1)


def test_nginx_keeps_a_100_kb_image_from_the_bucket_on_its_disk(s3_running):
    running, _ = s3_running
    site = Http(running.http_port)
    data = noisy_jpeg(100_000)
    _, _, body = site.upload(data, "big.jpg")
    status, _, served = site.request("GET", f"/images/{body['name']}")
    assert status == 200 and served == data
    deadline = time.monotonic() + 5  # nginx renames its copy into place once the body is in
    while not cached_copies(running, data):
        assert time.monotonic() < deadline, "no copy of the image in nginx's cache"
        time.sleep(0.05)
    assert len(cached_copies(running, data)) == 1


def test_with_s3_cache_seconds_0_nginx_keeps_no_copy_and_a_delete_is_at_once(
    tmp_path, rgw, mongo_uri
):
    with bucket_stack(tmp_path, rgw, mongo_uri, "serve", S3_CACHE_SECONDS="0") as (running, _):
        site = Http(running.http_port)
        data = noisy_jpeg(100_000)
        _, _, body = site.upload(data, "big.jpg")
        path = f"/images/{body['name']}"
        assert [site.request("GET", path)[2] for _ in range(2)] == [data, data]
        token = {"X-Delete-Token": body["delete_token"]}
        assert site.request("DELETE", f"/api/v1/images/{body['name']}", headers=token)[0] == 200
        assert site.request("GET", path)[0] == 404
        assert cached_copies(running, data) == []


def test_a_range_request_is_partial(s3_stack):
    site, _ = s3_stack
    data = png(size=(80, 80))
    _, _, body = site.upload(data)
    path = f"/images/{body['name']}"
    status, _, part = site.request("GET", path, headers={"Range": "bytes=0-9"})
    assert status == 206 and part == data[:10]


def test_the_policy_lets_anonymous_readers_see_the_prefix_only(s3_stack):
    site, config = s3_stack
    _, _, body = site.upload(png(size=(20, 21)))
    bucket_url = f"{config.endpoint}/{config.bucket}"
    with urllib.request.urlopen(f"{bucket_url}/{config.key(body['name'])}") as response:
        assert response.status == 200
    asyncio.run(S3Storage(replace(config, prefix="private")).put(body["name"], b"secret"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{bucket_url}/private/{body['name']}")
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as listing:
        urllib.request.urlopen(f"{bucket_url}/")
    assert listing.value.code == 403
