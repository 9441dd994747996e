"""The ShareX uploader download: made for the host it is fetched from, and it works."""

import dataclasses
import json
import os

from imagehost.web.app import make_app
from tests import images, sharex
from tests.web.client import serving


async def fetch_sxcu(client, headers=None) -> tuple[object, dict]:
    response = await client.request("GET", "/imagehost.sxcu", headers=headers or {})
    assert response.code == 200
    return response, json.loads(response.body)


async def test_sxcu_is_a_download_made_for_this_host(client):
    response, config = await fetch_sxcu(client)
    assert response.headers["Content-Disposition"] == 'attachment; filename="imagehost.sxcu"'
    assert config["RequestURL"] == f"{client.base}/api/v1/images"
    assert config["RequestMethod"] == "POST"
    assert config["Body"] == "MultipartFormData"
    assert config["FileFormName"] == "file"
    assert config["URL"] == "{json:url}"
    assert config["DeletionURL"] == "{json:delete_url}"
    assert config["ErrorMessage"] == "{json:error}"
    assert config["DestinationType"] == "ImageUploader"


async def test_sxcu_follows_the_host_the_user_is_on(client):
    headers = {"Host": "img.example.test", "X-Forwarded-Proto": "https"}
    _, config = await fetch_sxcu(client, headers)
    assert config["RequestURL"] == "https://img.example.test/api/v1/images"
    assert config["Name"] == "imagehost (img.example.test)"


async def test_sxcu_uses_public_url_when_set(ctx, settings):
    public = dataclasses.replace(
        ctx, settings=dataclasses.replace(settings, public_url="https://i.example.org")
    )
    async with serving(make_app(public, settings.cookie_secret), settings) as client:
        _, config = await fetch_sxcu(client)
    assert config["RequestURL"] == "https://i.example.org/api/v1/images"


async def test_the_upload_it_describes_works(client, ctx):
    _, config = await fetch_sxcu(client)
    method, url, body, headers = sharex.upload_request(config, images.png(), "Screenshot.png")
    response = await client.request(
        method, url.replace(client.base, ""), body=body, headers=headers
    )
    assert response.code == 201
    link = sharex.resolve(config["URL"], response.body)
    name = link.rsplit("/", 1)[1]
    assert link == f"{client.base}/images/{name}"
    assert name in os.listdir(ctx.settings.images_dir)
    deletion = sharex.resolve(config["DeletionURL"], response.body)
    page = await client.request("GET", deletion.replace(client.base, ""))
    assert page.code == 200 and "Delete" in page.body.decode()


async def test_its_error_message_reads_the_servers_reason(client):
    _, config = await fetch_sxcu(client)
    method, url, body, headers = sharex.upload_request(config, b"not an image", "notes.txt")
    response = await client.request(
        method, url.replace(client.base, ""), body=body, headers=headers
    )
    assert response.code == 415
    assert "JPEG, PNG or GIF" in sharex.resolve(config["ErrorMessage"], response.body)


async def test_the_page_offers_the_download(client):
    page = await client.request("GET", "/")
    assert 'href="/imagehost.sxcu"' in page.body.decode()
