"""The page in Russian and English in Chromium: the browser's language, the switcher in the
header (kept across reloads, and on the account: another browser signing in gets it), and the
scripts' messages in the page's language."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import invite_link, new_context, sign_in, sign_up

pytestmark = pytest.mark.browser


@pytest.fixture
def russian_page(browser, stack):
    context = new_context(browser, stack, locale="ru-RU")  # Accept-Language: ru-RU,ru
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    yield page
    if page.url.startswith("http"):
        errors += page.evaluate("window.__cspViolations || []")
    context.close()
    assert errors == [], errors


def switcher(page):
    return page.locator("header form.languages")


def test_a_russian_browser_gets_russian_and_the_switcher_turns_it(russian_page, artifacts):
    page = russian_page
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(switcher(page)).to_have_attribute("aria-label", "Язык")
    expect(switcher(page).get_by_role("button", name="Русский")).to_be_disabled()
    page.screenshot(path=str(artifacts / "language-ru.png"), full_page=True)

    switcher(page).get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(switcher(page)).to_have_attribute("aria-label", "Language")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    switcher(page).get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ru")


def test_a_signed_in_choice_is_kept_on_the_account(browser, stack, page, artifacts):
    sign_up(page, invite_link(browser, stack), "Lena")  # an English browser
    switcher(page).get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    other = new_context(browser, stack, locale="en-US")  # another browser, asking for English
    try:
        second = other.new_page()
        second.goto("/")
        expect(second.locator("html")).to_have_attribute("lang", "en")
        sign_in(second, "lena")
        expect(second.locator("html")).to_have_attribute("lang", "ru")
        second.goto("/account")
        choice = second.locator("#account-language")
        expect(choice).to_have_value("ru")
        second.screenshot(path=str(artifacts / "language-account.png"), full_page=True)
        choice.select_option("en")
        second.get_by_role("button", name="Сохранить язык").click()
        expect(second).to_have_url(re.compile(r"/account$"))
        expect(second.locator("html")).to_have_attribute("lang", "en")
        expect(choice).to_have_value("en")
    finally:
        other.close()
    # The first browser's cookie says Russian, but the account now says English.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_switcher_comes_back_to_the_same_page(russian_page):
    page = russian_page
    page.goto("/gallery")
    switcher(page).get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/gallery$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_scripts_speak_russian_with_russian_numbers(russian_page, stack):
    page = russian_page
    page.goto("/")
    expect(page.locator("html.js")).to_have_count(1)
    too_big = b"\x89PNG" + b"\0" * stack.settings.max_upload_bytes
    page.set_input_files(
        "#file", files=[{"name": "huge.png", "mimeType": "image/png", "buffer": too_big}]
    )
    item = page.locator(".upload-item", has_text="huge.png")
    expect(item).to_have_attribute("data-state", "failed")
    assert item.locator(".status").inner_text() == (
        "файл слишком большой (5\xa0242\xa0884 байта); предел — 5\xa0242\xa0880 байт (5,0 МиБ)"
    )
    expect(item.get_by_role("button", name="Убрать huge.png")).to_be_visible()


def test_the_page_is_russian_and_a_refused_upload_says_why_in_russian(russian_page, artifacts):
    page = russian_page
    page.goto("/")
    expect(page.locator("html.js")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("Загрузка изображений")
    expect(page.locator("label[for=file]")).to_have_text("Выберите изображения")
    expect(page.locator("#limits")).to_have_text("JPEG, PNG или GIF, не больше 5,0 МиБ каждый.")
    page.set_input_files(
        "#file", files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"not a PNG"}]
    )
    item = page.locator(".upload-item", has_text="fake.png")
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.locator(".status")).to_have_text(
        "изображение не поддерживается: принимаются только файлы JPEG, PNG и GIF"
    )
    page.screenshot(path=str(artifacts / "language-ru-refused.png"), full_page=True)


def test_nginx_refusing_a_huge_body_says_so_in_russian(browser, stack, artifacts):
    # Without scripts the page cannot check the size first: the form sends the whole body and
    # nginx itself answers, before the app sees it.
    context = new_context(browser, stack, locale="ru-RU", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        huge = b"\x89PNG" + b"\0" * stack.settings.max_body_bytes
        page.set_input_files(
            "#file", files=[{"name": "huge.png", "mimeType": "image/png", "buffer": huge}]
        )
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Загрузить").click()
        assert navigation.value.status == 413
        limit = stack.settings.max_upload_bytes
        expect(page.locator("body")).to_have_text(
            f"error: файл слишком большой; предел — {limit} Б"
        )
        page.screenshot(path=str(artifacts / "language-ru-nginx-413.png"))
    finally:
        context.close()
