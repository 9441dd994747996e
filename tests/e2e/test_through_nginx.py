"""Upload and serve through the real nginx with the project's config."""

import json
import os

import pytest

from tests import images

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("data", "ctype"),
    [
        (images.jpeg(), "image/jpeg"),
        (images.png(), "image/png"),
        (images.gif(frames=2), "image/gif"),
    ],
    ids=["jpeg", "png", "gif"],
)
def test_upload_then_nginx_serves_the_same_bytes(site, stack, data, ctype):
    status, _, body = site.upload(data)
    assert status == 201
    assert body["url"].startswith(site.base + "/images/")
    stored = (stack.settings.images_dir / body["name"]).read_bytes()
    status, headers, served = site.request("GET", body["path"])
    assert status == 200
    assert served == stored
    assert headers["Content-Type"] == ctype
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Disposition"] == "inline"


def test_thumbnail_is_served_by_nginx(site):
    _, _, body = site.upload(images.jpeg((1200, 800)))
    status, headers, thumb = site.request("GET", body["thumbnail_url"].replace(site.base, ""))
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert len(thumb) > 0


def test_curl_style_client_gets_a_text_link(site):
    status, headers, body = site.upload(images.png(), accept="*/*")
    assert status == 201
    assert headers["Content-Type"].startswith("text/plain")
    link = body.decode().strip()
    assert link.startswith(site.base + "/images/")


def test_an_app_served_png_named_jpg_is_stored_as_png(site):
    status, _, body = site.upload(images.png(), filename="x.jpg")
    assert status == 201 and body["name"].endswith(".png")
    _, headers, _ = site.request("GET", body["path"])
    assert headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ({}, "the file is too large; the limit is {limit} bytes"),
        ({"Accept-Language": "ru-RU,ru;q=0.9"}, "файл слишком большой; предел — {limit} Б"),
        (
            {"Accept-Language": "ru", "Cookie": "lang=en"},
            "the file is too large; the limit is {limit} bytes",
        ),
        ({"Cookie": "lang=ru"}, "файл слишком большой; предел — {limit} Б"),
    ],
    ids=["default", "accept-language-ru", "cookie-en", "cookie-ru"],
)
def test_oversize_body_is_413_from_nginx_in_the_readers_language(site, stack, language, message):
    big = os.urandom(40 * 1024 * 1024)
    message = message.format(limit=stack.settings.max_upload_bytes)
    status, headers, body = site.upload(big, accept="*/*", headers=language)
    assert status == 413 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Vary"] == "Accept-Language"
    assert body.decode() == f"error: {message}\n"
    status, headers, body = site.upload(big, accept="application/json", headers=language)
    assert status == 413 and headers["Content-Type"] == "application/json"
    assert headers["Vary"] == "Accept-Language"
    assert json.loads(body) == {"error": message, "code": "too_large"}


def test_just_over_the_file_limit_is_413_from_the_app(site, stack):
    limit = stack.settings.max_upload_bytes
    status, _, body = site.upload(images.padded_png(limit + 1), accept="*/*")
    assert status == 413
    assert b"limit" in body


def test_exactly_the_limit_passes_nginx_and_the_app(site, stack):
    status, _, body = site.upload(images.padded_png(stack.settings.max_upload_bytes))
    assert status == 201


@pytest.mark.parametrize(
    "path",
    [
        "/images/../anything",
        "/images/AAAAAAAAAAAAAAAA.png",
        "/images/short.png",
        "/images/",
        "/images/AAAAAAAAAAAAAAAA.php",
        "/images/.tmp-0123456789abcdef",
    ],
)
def test_unknown_or_malformed_image_paths_are_404(site, path):
    status, _, _ = site.request("GET", path)
    assert status == 404


def test_encoded_traversal_is_refused(site):
    # nginx decodes %2f and refuses a path that climbs above the root with 400.
    status, _, body = site.request("GET", "/images/..%2f..%2f..%2fetc%2fpasswd")
    assert status in (400, 404)
    assert b"root:" not in body


def test_app_never_serves_image_bytes(site, stack):
    _, _, body = site.upload(images.png())
    # Straight to the app: it has no route for images.
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{stack.app_port}{body['path']}"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url)
    assert caught.value.code == 404


def test_log_has_the_real_client_ip(site, stack):
    site.upload(images.png())
    log = (stack.settings.logs_dir / "app.log").read_text()
    assert "upload accepted ip=127.0.0.1" in log


def test_static_files_are_served_by_nginx(site):
    status, headers, body = site.request("GET", "/static/css/site.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert b"prefers-color-scheme" in body
