import json
import os

from imagehost.uploads import hash_token
from tests import images
from tests.images import multipart
from tests.web.refusals import BAD_FILES, BAD_SHAPES, LIMIT


def files_in(ctx) -> list[str]:
    return sorted(os.listdir(ctx.settings.images_dir))


async def test_plain_client_gets_the_link_as_text(client, ctx):
    response = await client.upload_file(images.png())
    assert response.code == 201
    assert response.headers["Content-Type"].startswith("text/plain")
    link = response.body.decode().strip()
    assert link.startswith(client.base + "/images/") and link.endswith(".png")
    name = link.rsplit("/", 1)[1]
    record = await ctx.repo.get(name)
    assert record is not None and record.format == "png"
    assert name in files_in(ctx)
    assert record.thumbnail in files_in(ctx)


async def test_json_answer_has_every_field(client, ctx):
    data = images.jpeg((120, 80))
    response = await client.upload_file(data, "holiday.jpg", accept="application/json")
    assert response.code == 201
    body = json.loads(response.body)
    assert set(body) >= {"url", "path", "name", "format", "width", "height", "size", "delete_url"}
    assert body["path"] == f"/images/{body['name']}"
    assert body["url"] == client.base + body["path"]
    assert (body["format"], body["width"], body["height"]) == ("jpeg", 120, 80)
    stored = (ctx.settings.images_dir / body["name"]).read_bytes()
    assert body["size"] == len(stored)
    record = await ctx.repo.get(body["name"])
    assert record.original_name == "holiday.jpg"
    token = body["delete_url"].rsplit("/", 1)[1]
    assert record.delete_token_hash == hash_token(token)
    assert token not in json.dumps(record.to_document(), default=str)


async def test_browser_form_gets_an_html_page_with_the_link(client):
    response = await client.upload_file(images.gif(), "<b>x</b>.gif", accept="text/html")
    assert response.code == 201
    page = response.body.decode()
    assert "/images/" in page and ".gif" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


async def test_extension_comes_from_the_bytes(client, ctx):
    response = await client.upload_file(images.png(), "photo.jpg", accept="application/json")
    body = json.loads(response.body)
    assert body["name"].endswith(".png") and body["format"] == "png"


async def test_names_are_unique_and_unguessable(client):
    names = set()
    for _ in range(10):
        response = await client.upload_file(images.png(), accept="application/json")
        names.add(json.loads(response.body)["name"])
    assert len(names) == 10
    for name in names:
        stem = name.split(".")[0]
        assert len(stem) == 16  # 96 random bits in base64url


async def test_exactly_five_mib_is_accepted(client):
    response = await client.upload_file(images.padded_png(LIMIT), accept="application/json")
    assert response.code == 201, response.body


@BAD_FILES
async def test_refused_uploads_leave_nothing(client, ctx, data, status, words):
    response = await client.upload_file(data, accept="application/json")
    assert response.code == status
    assert words in json.loads(response.body)["error"]
    assert files_in(ctx) == []
    assert await ctx.repo.count() == 0


async def test_body_over_the_limit_is_refused_before_it_is_read(client, ctx):
    body = b"x" * (ctx.settings.max_body_bytes + 1)
    response = await client.upload(body, "multipart/form-data; boundary=zz")
    assert response.code == 413
    assert "limit" in response.body.decode()


@BAD_SHAPES
async def test_wrong_shapes_of_request(client, ctx, parts, status, words):
    body, ctype = multipart(parts)
    response = await client.upload(body, ctype)
    assert response.code == status
    assert words in response.body.decode()
    assert files_in(ctx) == []


async def test_non_multipart_body_is_415(client):
    response = await client.upload(images.png(), "image/png")
    assert response.code == 415
    assert "multipart/form-data" in response.body.decode()


async def test_browser_without_xsrf_token_is_refused(client, ctx):
    response = await client.upload_file(images.png(), "a.png", headers={"Cookie": "_xsrf=abc"})
    assert response.code == 403
    assert files_in(ctx) == []


async def test_browser_form_with_xsrf_token_is_accepted(client):
    visitor = await client.visit()
    response = await visitor.submit_form(images.png())
    assert response.code == 201


async def test_upload_is_logged_with_ip_size_result(client, ctx):
    from imagehost.logsetup import setup_logging

    log = setup_logging(ctx.settings.logs_dir, console=False)
    await client.upload_file(images.png(), "line1\nFAKE | INFO | forged")
    await client.upload_file(b"nope")
    from loguru import logger

    await logger.complete()
    text = log.read_text()
    assert "upload accepted ip=127.0.0.1" in text and "size=" in text
    assert "upload refused" in text and "JPEG, PNG or GIF" in text
    assert "\nFAKE" not in text


async def test_real_ip_comes_from_x_real_ip(client, ctx):
    from loguru import logger

    from imagehost.logsetup import setup_logging

    log = setup_logging(ctx.settings.logs_dir, console=False)
    await client.upload_file(images.png(), "a.png", headers={"X-Real-IP": "203.0.113.9"})
    await logger.complete()
    assert "ip=203.0.113.9" in log.read_text()


async def test_delete_link_removes_image_thumbnail_and_record(client, ctx):
    response = await client.upload_file(images.png(), accept="application/json")
    body = json.loads(response.body)
    path = body["delete_url"].replace(client.base, "")
    confirm = await client.request("GET", path, headers={"Accept": "text/html"})
    assert confirm.code == 200 and "Delete" in confirm.body.decode()
    wrong = await client.request("DELETE", path[:-3] + "zzz")
    assert wrong.code == 404
    gone = await client.request("DELETE", path, headers={"Accept": "application/json"})
    assert gone.code == 200
    assert files_in(ctx) == []
    assert await ctx.repo.get(body["name"]) is None
    again = await client.request("DELETE", path)
    assert again.code == 404


async def test_index_page_has_a_working_form(client):
    page = await client.request("GET", "/")
    text = page.body.decode()
    assert page.code == 200
    assert 'action="/upload"' in text and 'enctype="multipart/form-data"' in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


async def test_unknown_page_is_404(client):
    response = await client.request("GET", "/nothing-here", headers={"Accept": "application/json"})
    assert response.code == 404
    assert json.loads(response.body) == {"error": "no such page", "code": "not_found"}


async def test_healthz(client):
    response = await client.request("GET", "/healthz")
    assert json.loads(response.body) == {"status": "ok", "database": "ok"}
