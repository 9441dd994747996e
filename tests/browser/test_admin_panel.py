"""The admin panel in Chromium, through nginx: sign in, back up with progress, search, delete."""

import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.admin import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

BACKUP_FILE = re.compile(r"imagehost-\d{8}T\d{6}Z(-\d+)?\.tar")

# Every value the progress bar shows, in order, however the fragment holding it is swapped.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  const note = () => {
    const bar = document.querySelector("#backup-progress");
    const value = bar ? bar.getAttribute("value") : null;
    if (value !== null && window.__progress.at(-1) !== value) window.__progress.push(value);
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true,
                                                     attributes: true});
}"""


def sign_in(page, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/admin")
    page.fill("#password", password)
    page.click("form.login button[type=submit]")


def test_sign_in_back_up_watch_the_progress_reach_100_and_see_it_listed(page, site, stack):
    for data, name in ((images.jpeg(), "a.jpg"), (images.png(), "b.png"), (images.gif(), "c.gif")):
        assert site.upload(data, filename=name)[0] == 201
    sign_in(page, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.locator("#total-images")).to_have_text("3")
    expect(page.locator("#backup-list")).to_contain_text("No backups yet")

    page.evaluate(WATCH_PROGRESS)
    page.click("#backup-now")
    bar = page.locator("#backup-progress")
    expect(bar).to_have_attribute("value", "100", timeout=20_000)
    expect(page.locator(".backup-phase")).to_contain_text("100%")
    seen = page.evaluate("window.__progress")
    assert seen[0] != "100" and seen[-1] == "100", seen  # a running bar, then the finished one
    listed = page.locator("#backup-list a[download]")
    expect(listed).to_have_count(1)  # the list refreshed itself when the run ended
    name = listed.inner_text()
    assert BACKUP_FILE.fullmatch(name) and (stack.settings.backup_dir / name).is_file()
    expect(page.locator("#backup-now")).to_be_enabled()
    assert page.url.endswith("/admin")  # all of it without leaving the page


def test_search_and_delete_from_the_panel(page, site, stack):
    _, _, body = site.upload(images.png(), filename="Sunset at the beach.png")
    site.upload(images.png(), filename="kitten.png")
    sign_in(page)
    rows = page.locator("#image-rows tr")
    page.fill("#q", "SUNSET")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sunset at the beach.png")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_role("button", name="Delete").click()
    expect(page.locator("#image-rows")).not_to_contain_text("Sunset")
    assert site.request("GET", body["path"])[0] == 404
    assert not (stack.settings.images_dir / body["name"]).exists()


def test_sign_out_then_the_panel_asks_to_sign_in_again(page):
    sign_in(page)
    expect(page.locator("#backup-now")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    response = page.goto("/admin")
    assert response.status == 401
    expect(page.locator("#password")).to_be_visible()
