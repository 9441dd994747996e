"""In Chromium through nginx: "delete after" on the page, a short expiry that deletes the image
(then 404 through nginx), and the image's page with its OpenGraph tags, escaped."""

import time

import pytest
from playwright.sync_api import expect

from imagehost.settings import SWEEP_MARGIN_SECONDS
from tests import images
from tests.browser.pages import choose, file, open_page
from tests.images import multipart
from tests.stack import stack_env, start_stack

pytestmark = pytest.mark.browser

SWEEP = 1
HOSTILE = "x\"><script>alert('og')</script><meta property='og:image' content=x>.png"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The stack sweeping every second, so a short expiry takes seconds here."""
    env = stack_env(tmp_path_factory.mktemp("expiry"), MONGODB_URI="", EXPIRY_SWEEP_SECONDS="1")
    with start_stack(env) as running:
        yield running


def choose_png(page, name: str, data: bytes) -> None:
    choose(page, file(name, data, "image/png"))


def test_delete_after_applies_to_the_files_sent_after_it(page):
    open_page(page)
    expect(page.locator("#expires_in")).to_have_value("0")
    page.select_option("#expires_in", label="1 day")
    expect(page.locator("#sxcu")).to_have_attribute("href", "/imagehost.sxcu?expires_in=86400")
    choose_png(page, "daily.png", images.png((50, 40)))
    card = page.locator("#gallery .card", has_text="daily.png")
    expect(card.locator(".expiry")).to_contain_text("Expires in 1 day (")
    page.select_option("#expires_in", label="never")
    choose_png(page, "kept.png", images.png((40, 50)))
    kept = page.locator("#gallery .card", has_text="kept.png")
    expect(kept).to_have_count(1)
    expect(kept.locator(".expiry")).to_have_count(0)


def test_a_short_expiry_deletes_the_image_then_nginx_answers_404(page, site, artifacts):
    open_page(page)
    # The page offers an hour at least; the API takes any number of seconds, and so does the
    # page's field: a 2 s choice, sent as the page sends every choice.
    page.evaluate('() => document.getElementById("expires_in").add(new Option("2 s", "2"))')
    page.select_option("#expires_in", value="2")
    choose_png(page, "fleeting.png", images.png((60, 30)))
    card = page.locator("#gallery .card", has_text="fleeting.png")
    expect(card.locator(".expiry")).to_contain_text("Expires in 2 seconds (")
    link = card.locator("input[id^=link-]").input_value()
    path = link.replace(site.base, "")
    assert page.request.get(path).status == 200
    page.screenshot(path=str(artifacts / "expiry-card.png"), full_page=True)
    deadline = time.monotonic() + 2 + SWEEP + SWEEP_MARGIN_SECONDS
    while page.request.get(path).status != 404:
        assert time.monotonic() < deadline, "the expired image is still served"
        time.sleep(0.25)
    response = page.goto(path)
    assert response.status == 404
    page.goto("/")
    expect(page.locator("#gallery .card", has_text="fleeting.png")).to_have_count(0)
    expect(page.locator("#gallery .card", has_text="kept.png")).to_have_count(0)  # own visitor


def test_the_image_page_carries_escaped_opengraph_tags(page, site, artifacts):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # Chromium writes a '"' of a chosen file's name as %22: this upload is curl's, by the API.
    body, ctype = multipart(
        [("expires_in", None, b"604800"), ("file", HOSTILE, images.png((300, 200)))]
    )
    answer = page.request.post("/api/v1/images", data=body, headers={"Content-Type": ctype})
    assert answer.status == 201, answer.text()
    direct, page_link = answer.json()["url"], answer.json()["page_url"]
    page.goto(page_link.replace(site.base, ""))
    meta = page.locator('meta[property="og:title"]')
    assert meta.get_attribute("content") == HOSTILE
    assert page.locator('meta[name="twitter:title"]').get_attribute("content") == HOSTILE
    og_images = page.locator('meta[property="og:image"]')
    expect(og_images).to_have_count(1)
    assert og_images.get_attribute("content") == direct
    assert direct.startswith(site.base + "/images/")
    assert page.locator('meta[property="og:image:width"]').get_attribute("content") == "300"
    assert page.locator('meta[property="og:image:height"]').get_attribute("content") == "200"
    assert page.locator('meta[property="og:image:type"]').get_attribute("content") == "image/png"
    assert page.locator('meta[name="twitter:card"]').get_attribute("content") == (
        "summary_large_image"
    )
    assert page.title() == HOSTILE
    expect(page.locator("h1")).to_have_text(HOSTILE)
    expect(page.locator(".image-page .expiry")).to_contain_text("Expires in 1 week (")
    expect(page.locator("img.full")).to_have_js_property("naturalWidth", 300)
    assert dialogs == []
    page.screenshot(path=str(artifacts / "image-page.png"), full_page=True)
