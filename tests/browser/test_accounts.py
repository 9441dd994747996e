"""Accounts in Chromium, through nginx: sign up by an invite and paste an image, the same
gallery from a second browser, and the ShareX uploader's token from download to revocation."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests import images, sharex
from tests.browser.pages import PASSWORD, cards, invite_link, new_context, paste_an_image, sign_up

pytestmark = pytest.mark.browser


def test_sign_up_by_invite_paste_and_see_it_from_a_second_browser(browser, stack, page, artifacts):
    link = invite_link(browser, stack)
    sign_up(page, link, "Paula")
    expect(page).to_have_url(f"{stack.url}/")
    paste_an_image(page, "#e76f51")
    expect(cards(page)).to_have_count(1)
    title = cards(page).first.locator(".title").inner_text()
    page.screenshot(path=str(artifacts / "account-gallery.png"))
    second = new_context(browser, stack)
    try:
        other = second.new_page()
        other.goto("/signin")
        other.fill("#username", "paula")  # the name in any case
        other.fill("#password", PASSWORD)
        other.click("form.login button[type=submit]")
        expect(other).to_have_url(f"{stack.url}/")
        expect(cards(other)).to_have_count(1)
        expect(cards(other).first.locator(".title")).to_have_text(title)
    finally:
        second.close()


def test_the_downloaded_sxcu_uploads_into_the_gallery_until_its_token_is_revoked(
    browser, stack, page, site
):
    sign_up(page, invite_link(browser, stack), "sharon")
    page.goto("/account")
    expect(page.locator("#sharex .warning")).to_contain_text("the file is now a secret")
    with page.expect_download() as download:
        page.click("#sharex-download")
    assert download.value.suggested_filename == "imagehost.sxcu"
    config = json.loads(open(download.value.path(), "rb").read())
    method, url, body, headers = sharex.upload_request(config, images.png((80, 60)), "sx.png")
    path = url.removeprefix(site.base)
    status, _, answer = site.request(method, path, body, headers)
    assert status == 201, answer
    name = json.loads(answer)["name"]
    page.goto("/")
    expect(cards(page)).to_have_count(1)
    expect(page.locator(f"#card-{name.split('.')[0]}")).to_have_count(1)
    page.goto("/account")
    row = page.locator("#tokens tr", has_text="ShareX")
    expect(row).to_have_count(1)
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.locator("#tokens")).to_contain_text("No tokens yet")
    status, _, answer = site.request(method, path, body, headers)
    assert status == 401 and json.loads(answer)["code"] == "bad_token"
