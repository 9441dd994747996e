"""CORS on /api/: closed by default; CORS_ORIGINS opens it to listed origins, /api/ only."""

import dataclasses
import json

import jsonschema_rs
import pytest

from imagehost.web.app import make_app
from imagehost.web.openapi import openapi_document
from tests import images
from tests.web.client import serving

APP_ORIGIN = "https://app.example.org"
OTHER_ORIGIN = "https://evil.example.net"
IMAGE = "/api/v1/images/AAAAAAAAAAAAAAAA.png"
DOCUMENT = openapi_document("http://127.0.0.1", 1024)


@pytest.fixture
def origins() -> tuple[str, ...]:
    return (APP_ORIGIN, "http://localhost:3000")


@pytest.fixture
async def open_client(ctx, origins):
    opened = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, cors_origins=origins)
    )
    async with serving(make_app(opened, ctx.settings.cookie_secret), opened.settings) as http:
        yield http


def preflight(method: str, origin: str) -> dict:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "x-delete-token",
    }


async def test_closed_by_default(client):
    response = await client.request("GET", "/api/openapi.json", headers={"Origin": APP_ORIGIN})
    assert response.code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin, Accept-Language"
    refused = await client.request("OPTIONS", IMAGE, headers=preflight("DELETE", APP_ORIGIN))
    assert refused.code == 403
    assert "not allowed" in json.loads(refused.body)["error"]
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Methods" not in refused.headers


async def test_listed_origin_may_read_answers_and_errors(open_client):
    response = await open_client.request("GET", "/api/openapi.json", headers={"Origin": APP_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "Location"
    assert "Access-Control-Allow-Credentials" not in response.headers
    missing = await open_client.request("GET", IMAGE, headers={"Origin": APP_ORIGIN})
    assert missing.code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


async def test_listed_origin_uploads(open_client):
    headers = {"Origin": "http://localhost:3000"}
    created = await open_client.upload_file(
        images.png(), "a.png", headers=headers, path="/api/v1/images"
    )
    assert created.code == 201
    assert created.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    refused = await open_client.upload_file(
        b"text", "a.txt", headers=headers, path="/api/v1/images"
    )
    assert refused.code == 415
    assert refused.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


async def test_unlisted_origin_gets_no_cors_headers(open_client):
    response = await open_client.request("GET", IMAGE, headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
    refused = await open_client.request("OPTIONS", IMAGE, headers=preflight("GET", OTHER_ORIGIN))
    assert refused.code == 403


@pytest.mark.parametrize(("path", "methods"), [(IMAGE, "GET, DELETE"), ("/api/v1/images", "POST")])
async def test_preflight_from_a_listed_origin(open_client, path, methods):
    response = await open_client.request("OPTIONS", path, headers=preflight("DELETE", APP_ORIGIN))
    assert response.code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == methods
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-delete-token" in allowed and "content-type" in allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0


async def test_only_the_api_is_opened(open_client):
    for path in ("/", "/healthz", "/imagehost.sxcu"):
        response = await open_client.request("GET", path, headers={"Origin": APP_ORIGIN})
        assert "Access-Control-Allow-Origin" not in response.headers, path
    response = await open_client.upload_file(images.png(), "a.png", headers={"Origin": APP_ORIGIN})
    assert response.code == 201
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("origins", [("*",)])
async def test_star_opens_the_api_to_every_origin(open_client):
    response = await open_client.request("GET", IMAGE, headers={"Origin": OTHER_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_options_without_origin_lists_the_methods(client):
    response = await client.request("OPTIONS", IMAGE)
    assert response.code == 204
    assert response.headers["Allow"] == "GET, DELETE, OPTIONS"


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
async def test_preflights_are_answered_as_the_document_says(open_client, path):
    """Every header the document lists for a preflight, and no other CORS one, as it says."""
    url = path.replace("{name}", "AAAAAAAAAAAAAAAA.png")
    responses = DOCUMENT["paths"][path]["options"]["responses"]
    documented = responses["204"]["headers"]

    def cors_headers(response) -> dict[str, str]:
        return {
            name: value
            for name, value in response.headers.get_all()
            if name.startswith("Access-Control-") or name == "Allow"
        }

    allowed = await open_client.request("OPTIONS", url, headers=preflight("POST", APP_ORIGIN))
    assert allowed.code == 204
    sent = cors_headers(allowed)
    assert set(sent) == set(documented)
    for name, value in sent.items():
        schema = documented[name]["schema"]
        jsonschema_rs.validate(schema, int(value) if schema.get("type") == "integer" else value)
    bare = await open_client.request("OPTIONS", url)
    assert bare.code == 204
    required = {name for name, header in documented.items() if header["required"]}
    assert set(cors_headers(bare)) == required == {"Allow"}
    refused = await open_client.request("OPTIONS", url, headers=preflight("GET", OTHER_ORIGIN))
    assert refused.code == 403 and "403" in responses
    assert json.loads(refused.body)["code"] == "origin_not_allowed"
    assert "origin_not_allowed" in responses["403"]["description"]
