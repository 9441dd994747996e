"""The page in the reader's language: the switcher's cookie, then Accept-Language, then
DEFAULT_LANGUAGE; <html lang> and Vary say which."""

import dataclasses
import html
import json
import re

import pytest

from imagehost.web.app import make_app
from tests.images import multipart
from tests.web.client import serving

RUSSIAN = "Язык"  # the switcher's label, a message every page carries
ENGLISH = 'aria-label="Language"'


def varies_by_language(response) -> bool:
    return "Accept-Language" in ", ".join(response.headers.get_list("Vary")).split(", ")


def lang_of(body: bytes) -> str:
    return re.search(rb'<html lang="(\w+)">', body).group(1).decode()


async def page(client, path="/", **headers):
    return await client.request("GET", path, headers=headers)


async def test_english_without_any_preference(client):
    response = await page(client)
    assert lang_of(response.body) == "en"
    assert ENGLISH in response.body.decode()
    assert varies_by_language(response)


async def test_russian_for_a_russian_browser(client):
    response = await page(client, **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert lang_of(response.body) == "ru"
    assert RUSSIAN in response.body.decode()


async def test_the_first_language_we_speak_wins(client):
    response = await page(client, **{"Accept-Language": "de-DE, ru;q=0.8, en;q=0.5"})
    assert lang_of(response.body) == "ru"


async def test_the_cookie_beats_the_browser(client):
    response = await page(client, **{"Accept-Language": "ru", "Cookie": "lang=en"})
    assert lang_of(response.body) == "en"


async def test_error_pages_and_fragments_follow_the_language_too(client):
    response = await page(client, "/no/such/page", Accept="text/html", **{"Accept-Language": "ru"})
    assert response.code == 404
    assert lang_of(response.body) == "ru"
    assert varies_by_language(response)
    json_error = await page(client, "/api/v1/nothing", **{"Accept-Language": "ru"})
    assert varies_by_language(json_error)


@pytest.fixture
async def russian_by_default(ctx):
    settings = dataclasses.replace(ctx.settings, default_language="ru")
    ctx_ru = type(ctx)(**{**vars(ctx), "settings": settings})
    async with serving(make_app(ctx_ru, settings.cookie_secret), settings) as http:
        yield http


async def test_default_language_setting(russian_by_default):
    assert lang_of((await page(russian_by_default)).body) == "ru"
    response = await page(russian_by_default, **{"Accept-Language": "en-GB"})
    assert lang_of(response.body) == "en"


async def test_the_switcher_keeps_the_choice_and_goes_back(visitor):
    response = await visitor.request(
        "POST", "/language", form={"language": "ru", "next": "/gallery?before=x"}
    )
    assert response.code == 303
    assert response.headers["Location"] == "/gallery?before=x"
    cookie = next(c for c in response.headers.get_list("Set-Cookie") if c.startswith("lang="))
    assert cookie.startswith("lang=ru;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert lang_of((await visitor.request("GET", "/")).body) == "ru"
    await visitor.request("POST", "/language", form={"language": "en", "next": "/"})
    assert lang_of((await visitor.request("GET", "/")).body) == "en"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil", ""])
async def test_the_switcher_goes_back_only_to_this_site(visitor, next_url):
    response = await visitor.request("POST", "/language", form={"language": "ru", "next": next_url})
    assert response.code == 303
    assert response.headers["Location"] == "/"


async def test_the_switcher_refuses_a_language_it_does_not_speak(visitor):
    response = await visitor.request("POST", "/language", form={"language": "xx", "next": "/"})
    assert response.code == 400
    assert not any(c.startswith("lang=") for c in response.headers.get_list("Set-Cookie"))


async def test_the_switcher_needs_the_xsrf_token(visitor):
    response = await visitor.request(
        "POST", "/language", xsrf=False, form={"language": "ru", "next": "/"}
    )
    assert response.code == 403


def script_messages(body: bytes) -> dict:
    found = re.search(rb'<body[^>]*\sdata-messages="([^"]*)">', body).group(1).decode()
    return json.loads(html.unescape(found))


async def test_the_page_hands_its_scripts_their_messages(client):
    assert script_messages((await page(client)).body) == {}
    russian = script_messages((await page(client, **{"Accept-Language": "ru"})).body)
    assert russian["waiting"] == "в очереди"  # upload.js
    assert russian["{count} byte"] == {  # a plural, by Intl.PluralRules category
        "one": "{count} байт",
        "few": "{count} байта",
        "many": "{count} байт",
    }


async def test_a_refusal_is_in_the_readers_language_with_a_stable_code(client):
    body, ctype = multipart([("file", "cat.png", b"")])
    for accept, language, words in [
        ("application/json", "ru", "файл пуст"),
        ("application/json", "en", "the file is empty"),
    ]:
        headers = {"Accept-Language": language}
        response = await client.upload(body, ctype, accept=accept, headers=headers)
        assert response.code == 400
        assert json.loads(response.body) == {"error": words, "code": "empty"}
    text = await client.upload(body, ctype, headers={"Accept-Language": "ru"})
    assert text.body.decode() == "error: файл пуст\n"


async def test_numbers_in_a_refusal_are_russian(client, ctx):
    too_big = b"\x89PNG" + b"\0" * ctx.settings.max_upload_bytes
    response = await client.upload_file(
        too_big, "big.png", accept="application/json", headers={"Accept-Language": "ru"}
    )
    assert response.code == 413
    assert json.loads(response.body) == {
        "error": "размер файла — 5\xa0242\xa0884 Б; предел — 5\xa0242\xa0880 Б",
        "code": "too_large",
    }


async def test_error_pages_are_russian(client):
    response = await page(client, "/nothing", Accept="text/html", **{"Accept-Language": "ru"})
    assert "<h1>Ошибка 404</h1>" in response.body.decode()
    assert "такой страницы нет" in response.body.decode()
