"""The page in the reader's language: the signed-in user's own choice, the switcher's cookie,
then Accept-Language, then DEFAULT_LANGUAGE; <html lang> and Vary say which."""

import dataclasses
import html
import json
import re

import pytest

from imagehost.web.app import make_app
from imagehost.web.handlers.base import LANGUAGE_COOKIE
from tests.images import multipart
from tests.web.accounts import body, sign_in, sign_up
from tests.web.client import new_browser, serving

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


# -- the choice on the account ---------------------------------------------------------------
async def language_seen(browser, accept_language: str = "") -> str:
    response = await browser.request("GET", "/", headers={"Accept-Language": accept_language})
    assert varies_by_language(response)
    return lang_of(response.body)


async def saved_language(ctx, username: str = "alice") -> str:
    return (await ctx.accounts.users.by_name(username)).language


async def switch(browser, language: str, next_url: str = "/"):
    response = await browser.request(
        "POST", "/language", form={"language": language, "next": next_url}
    )
    assert response.code == 303
    return response


async def test_a_signed_in_choice_follows_the_user_to_another_browser(open_site, client):
    first = await new_browser(client)
    await sign_up(first, "alice")
    await switch(first, "ru")
    assert await saved_language(open_site) == "ru"
    second = await new_browser(client)  # another browser, asking for English
    assert await language_seen(second, "en") == "en"
    response = await sign_in(second, "alice")
    assert response.code == 303
    assert second.cookies.get(LANGUAGE_COOKIE) == "ru"  # the sign-in set it
    assert await language_seen(second, "en-GB,en;q=0.9") == "ru"
    # The account's choice wins over this browser's cookie too (set elsewhere, say).
    second.cookies[LANGUAGE_COOKIE] = "en"
    assert await language_seen(second, "en") == "ru"
    # Signed out, the browser keeps the language the sign-in gave it.
    second.cookies[LANGUAGE_COOKIE] = "ru"
    await second.request("POST", "/signout")
    assert await language_seen(second, "en") == "ru"


async def test_switching_back_is_saved_too(open_site, client):
    first = await new_browser(client)
    await sign_up(first, "alice")
    await switch(first, "ru")
    await switch(first, "en")
    assert await saved_language(open_site) == "en"
    second = await new_browser(client)
    await sign_in(second, "alice")
    assert await language_seen(second, "ru") == "en"


async def test_a_choice_made_before_signing_up_is_kept_on_the_account(open_site, visitor):
    await switch(visitor, "ru")
    await sign_up(visitor, "alice")
    assert await saved_language(open_site) == "ru"
    assert await language_seen(visitor, "en") == "ru"


async def test_an_account_without_a_choice_follows_cookie_then_browser(open_site, client):
    browser = await new_browser(client)
    await sign_up(browser, "alice")
    assert await saved_language(open_site) == ""
    assert LANGUAGE_COOKIE not in browser.cookies
    assert await language_seen(browser, "ru") == "ru"
    assert await language_seen(browser, "en") == "en"
    browser.cookies[LANGUAGE_COOKIE] = "ru"
    assert await language_seen(browser, "en") == "ru"


async def test_the_anonymous_switcher_touches_no_account(open_site, client, visitor):
    other = await new_browser(client)
    await sign_up(other, "alice")
    await switch(visitor, "ru")
    assert visitor.cookies[LANGUAGE_COOKIE] == "ru"
    assert await language_seen(visitor, "en") == "ru"
    assert await saved_language(open_site) == ""
    assert await language_seen(other, "en") == "en"


async def test_forgetting_the_choice_gives_the_browser_its_say_again(open_site, client):
    browser = await new_browser(client)
    await sign_up(browser, "alice")
    await switch(browser, "ru", "/account")
    response = await switch(browser, "", "/account")
    assert response.headers["Location"] == "/account"
    assert await saved_language(open_site) == ""
    assert LANGUAGE_COOKIE not in browser.cookies  # cleared
    assert await language_seen(browser, "en") == "en"
    assert await language_seen(browser, "ru") == "ru"


async def test_the_account_page_shows_the_saved_language(open_site, client):
    browser = await new_browser(client)
    await sign_up(browser, "alice")
    page = body(await browser.request("GET", "/account"))
    assert re.search(r'<option value=""\s+selected>', page)
    await switch(browser, "ru", "/account")
    page = body(await browser.request("GET", "/account"))
    assert re.search(r'<option value="ru" lang="ru"\s+selected>Русский</option>', page)
    assert not re.search(r'<option value=""\s+selected>', page)
    assert lang_of(page.encode()) == "ru"
