"""The JSON API under /api/v1: the same checks as /upload, JSON always, delete by header."""

import json
import os

import pytest

from imagehost.uploads import hash_token
from tests import images
from tests.images import multipart
from tests.web.refusals import BAD_FILES, BAD_SHAPES, LIMIT

IMAGES = "/api/v1/images"


def files_in(ctx) -> list[str]:
    return sorted(os.listdir(ctx.settings.images_dir))


async def uploaded(client) -> dict:
    return await client.uploaded(images.jpeg((120, 80)), "holiday.jpg", accept="*/*", path=IMAGES)


def error_of(response) -> str:
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert list(body) == ["error", "code"]
    return body["error"]


async def test_upload_answers_json_whatever_the_client_accepts(client, ctx):
    response = await client.upload_file(
        images.jpeg((120, 80)), "holiday.jpg", accept="*/*", path=IMAGES
    )
    assert response.code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["path"] == f"/images/{body['name']}"
    assert body["url"] == client.base + body["path"]
    assert (body["format"], body["width"], body["height"]) == ("jpeg", 120, 80)
    assert body["size"] == len((ctx.settings.images_dir / body["name"]).read_bytes())
    assert response.headers["Location"] == f"{client.base}{IMAGES}/{body['name']}"
    record = await ctx.repo.get(body["name"])
    assert record.delete_token_hash == hash_token(body["delete_token"])
    assert body["delete_url"] == f"{client.base}/delete/{body['name']}/{body['delete_token']}"
    assert sorted(files_in(ctx)) == sorted([body["name"], record.thumbnail])


@pytest.mark.parametrize("accept", ["*/*", "text/html", "application/json"])
@BAD_FILES
async def test_refusals_are_json_and_leave_nothing(client, ctx, data, status, words, accept):
    response = await client.upload_file(data, accept=accept, path=IMAGES)
    assert response.code == status
    assert words in error_of(response)
    assert files_in(ctx) == []
    assert await ctx.repo.count() == 0


@BAD_SHAPES
async def test_wrong_shapes_are_json_errors(client, ctx, parts, status, words):
    body, ctype = multipart(parts)
    response = await client.upload(body, ctype, path=IMAGES)
    assert response.code == status
    assert words in error_of(response)
    assert files_in(ctx) == []


async def test_non_multipart_is_415_json(client):
    response = await client.upload(images.png(), "image/png", accept="text/html", path=IMAGES)
    assert response.code == 415
    assert "multipart/form-data" in error_of(response)


async def test_declared_body_over_the_limit_is_413_json_before_reading(client, ctx):
    body = b"x" * (ctx.settings.max_body_bytes + 1)
    response = await client.upload(body, "multipart/form-data; boundary=zz", path=IMAGES)
    assert response.code == 413
    assert "limit" in error_of(response)


async def test_cookies_without_xsrf_token_are_403_json(client, ctx):
    response = await client.upload_file(
        images.png(), "a.png", headers={"Cookie": "_xsrf=abc"}, path=IMAGES
    )
    assert response.code == 403
    assert error_of(response)
    assert files_in(ctx) == []


async def test_metadata_of_an_image(client):
    body = await uploaded(client)
    response = await client.request("GET", f"{IMAGES}/{body['name']}")
    assert response.code == 200
    meta = json.loads(response.body)
    expected = {k: v for k, v in body.items() if k not in ("delete_url", "delete_token")}
    assert meta == expected
    assert "holiday" not in response.body.decode()  # the client's file name stays private


@pytest.mark.parametrize(
    "path",
    [f"{IMAGES}/AAAAAAAAAAAAAAAA.png", f"{IMAGES}/short.png", f"{IMAGES}/", "/api/v2/images"],
)
async def test_unknown_images_and_endpoints_are_404_json(client, path):
    response = await client.request("GET", path, headers={"Accept": "text/html"})
    assert response.code == 404
    assert error_of(response)


async def test_unsupported_method_is_405_json_with_allow(client):
    response = await client.request("PUT", IMAGES, body=b"")
    assert response.code == 405
    assert error_of(response)
    assert response.headers["Allow"] == "POST, OPTIONS"


async def test_delete_with_the_token_header(client, ctx):
    body = await uploaded(client)
    path, token = f"{IMAGES}/{body['name']}", {"X-Delete-Token": body["delete_token"]}
    response = await client.request("DELETE", path, headers=token)
    assert response.code == 200
    assert json.loads(response.body) == {"deleted": body["name"]}
    assert files_in(ctx) == []
    assert await ctx.repo.get(body["name"]) is None
    assert (await client.request("GET", path)).code == 404
    again = await client.request("DELETE", path, headers=token)
    assert again.code == 404 and error_of(again)


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 400, "X-Delete-Token"),
        ({"X-Delete-Token": ""}, 400, "X-Delete-Token"),
        ({"X-Delete-Token": "not-the-token"}, 403, "does not match"),
    ],
    ids=["missing", "empty", "wrong"],
)
async def test_delete_without_the_right_token_keeps_the_image(client, ctx, headers, status, words):
    body = await uploaded(client)
    response = await client.request("DELETE", f"{IMAGES}/{body['name']}", headers=headers)
    assert response.code == status
    assert words in error_of(response)
    assert await ctx.repo.get(body["name"]) is not None
    assert body["name"] in files_in(ctx)


async def test_token_of_another_image_does_not_delete(client, ctx):
    first, second = await uploaded(client), await uploaded(client)
    response = await client.request(
        "DELETE", f"{IMAGES}/{first['name']}", headers={"X-Delete-Token": second["delete_token"]}
    )
    assert response.code == 403
    assert await ctx.repo.get(first["name"]) is not None


async def test_delete_of_unknown_image_is_404(client):
    response = await client.request(
        "DELETE", f"{IMAGES}/AAAAAAAAAAAAAAAA.png", headers={"X-Delete-Token": "x" * 32}
    )
    assert response.code == 404
    assert error_of(response) == "no such image"


async def test_delete_url_from_the_api_works_in_the_page(client, ctx):
    body = await uploaded(client)
    path = body["delete_url"].replace(client.base, "")
    confirm = await client.request("GET", path, headers={"Accept": "text/html"})
    assert confirm.code == 200 and "Delete" in confirm.body.decode()
    gone = await client.request("POST", path)
    assert gone.code == 200
    assert files_in(ctx) == []


async def test_openapi_document_is_served_for_this_host(client, ctx):
    from imagehost.web.openapi import openapi_document

    response = await client.request("GET", "/api/openapi.json")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = json.loads(response.body)
    assert document == openapi_document(client.base, ctx.settings.max_upload_bytes)
    assert document["servers"] == [{"url": client.base}]
    assert f"{LIMIT:,} bytes" in document["paths"][IMAGES]["post"]["description"]
