"""The API with its database down: 503 in JSON, and nothing left behind."""

import dataclasses
import json
import os

import pytest

from imagehost.context import build_context
from imagehost.dev.devstack import free_port
from tests import images

IMAGES = "/api/v1/images"


@pytest.fixture
def settings(settings):
    # Nothing listens on a fresh free port: every database call fails after the timeout.
    return dataclasses.replace(
        settings, mongodb_uri=f"mongodb://127.0.0.1:{free_port()}/", db_timeout_ms=300
    )


@pytest.fixture
async def ctx(settings):
    async with build_context(settings) as context:
        yield context


def assert_503_json(response) -> None:
    assert response.code == 503
    assert response.headers["Content-Type"].startswith("application/json")
    assert "database is unavailable" in json.loads(response.body)["error"]


async def test_upload_is_503_and_stores_nothing(client, ctx):
    response = await client.upload_file(images.png(), "a.png", path=IMAGES)
    assert_503_json(response)
    assert os.listdir(ctx.settings.images_dir) == []


async def test_metadata_is_503(client):
    assert_503_json(await client.request("GET", f"{IMAGES}/AAAAAAAAAAAAAAAA.png"))


async def test_delete_is_503(client):
    response = await client.request(
        "DELETE", f"{IMAGES}/AAAAAAAAAAAAAAAA.png", headers={"X-Delete-Token": "abc"}
    )
    assert_503_json(response)
