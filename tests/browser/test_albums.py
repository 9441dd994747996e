"""Albums in Chromium, through nginx: making one, filling it by multi-select and at upload,
reordering by buttons, keys and dragging; its share page in a fresh browser (the grid, the
lightbox's keys, the zip) and a private album's 404."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests import images
from tests.browser.pages import cards, choose, file, new_context, open_page

pytestmark = pytest.mark.browser


def make_album(page, title: str) -> str:
    page.goto("/albums")
    page.fill("#album-title", title)
    page.fill("#album-description", "first line\n<b>second</b>")
    page.get_by_role("button", name="Create album").click()
    expect(page).to_have_url(re.compile(r"/albums/[\w-]{16}$"))
    return page.url


def order(page) -> list[str]:
    return page.locator("#album-items .album-item .title").all_inner_texts()


def pngs(count: int) -> list[tuple[str, bytes]]:
    return [(f"p{i}.png", images.png((120 + 10 * i, 80))) for i in range(count)]


def test_make_an_album_fill_it_by_multi_select_and_reorder(page, artifacts):
    album = make_album(page, "Holiday")
    open_page(page)
    sent = pngs(4)
    choose(page, *[file(name, data, "image/png") for name, data in sent])
    expect(cards(page)).to_have_count(4)
    # Tick three cards (the gallery shows newest first, so p3 is not among the three last).
    titles = cards(page).locator(".title").all_inner_texts()
    picked = [t for t in titles if t != "p3.png"]
    for title in picked:
        page.locator(".card", has_text=title).locator("input.pick").check()
    page.select_option("#selection-album", label="Holiday")
    page.get_by_role("button", name="Add to album").click()
    expect(page.locator("#selection-result")).to_contain_text("Added 3 images to Holiday")
    expect(page.locator("input.pick:checked")).to_have_count(0)
    page.screenshot(path=artifacts / "albums-gallery.png", full_page=True)

    # At upload time: the album is chosen before the file is picked.
    page.select_option("#upload-album", label="Holiday")
    choose(page, file("late.png", images.png((50, 50)), "image/png"))
    expect(cards(page)).to_have_count(5)

    page.goto(album)
    expect(page.locator("#album-items .album-item")).to_have_count(4)
    assert order(page) == [*picked, "late.png"]
    # The buttons.
    page.get_by_role("button", name="Move late.png up").click()
    expect(page.locator("#notice")).to_have_text("late.png is now at place 3")
    assert order(page) == [picked[0], picked[1], "late.png", picked[2]]
    # The keyboard: Alt+Up on the focused button keeps moving the same image.
    page.get_by_role("button", name="Move late.png up").focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("#notice")).to_have_text("late.png is now at place 2")
    # Dragging: the first image onto the last one's place.
    first = page.locator(".album-item", has_text=picked[0])
    first.drag_to(
        page.locator(".album-item", has_text=picked[2]), target_position={"x": 20, "y": 55}
    )
    expect(page.locator("#notice")).to_have_text(f"{picked[0]} is now at place 4")
    expected = ["late.png", picked[1], picked[2], picked[0]]
    assert order(page) == expected
    page.reload()  # the server kept it
    assert order(page) == expected
    expect(page.locator(".description")).to_have_text("first line\n<b>second</b>")
    page.screenshot(path=artifacts / "album-page.png", full_page=True)


def test_the_share_page_in_a_fresh_browser_grid_lightbox_and_zip(page, browser, stack, artifacts):
    album = make_album(page, "Trip")
    open_page(page)
    page.select_option("#upload-album", label="Trip")
    sent = pngs(3)
    for name, data in sent:  # one at a time: the album's order is the upload order
        choose(page, file(name, data, "image/png"))
        expect(page.locator(".card", has_text=name)).to_have_count(1)
    page.goto(album)
    share = page.locator("#share-link").input_value()

    other = new_context(browser, stack, accept_downloads=True)
    try:
        visitor = other.new_page()
        visitor.goto(share)
        tiles = visitor.locator("#tiles .tile")
        expect(tiles).to_have_count(3)
        assert [t.get_attribute("alt") for t in tiles.locator("img").all()] == [n for n, _ in sent]
        tiles.nth(0).locator("a").click()
        dialog = visitor.locator("#lightbox")
        expect(dialog).to_be_visible()
        expect(visitor.locator("#lightbox-title")).to_have_text("p0.png")
        expect(visitor.locator("#lightbox-position")).to_have_text("1 of 3")
        src = visitor.locator("#lightbox-image").get_attribute("src")
        assert re.fullmatch(r".*/images/[\w-]{16}\.png", src)
        assert visitor.locator("#lightbox-link").input_value() == src
        assert visitor.locator("#lightbox-markdown").input_value() == f"![p0.png]({src})"
        visitor.keyboard.press("ArrowRight")
        expect(visitor.locator("#lightbox-title")).to_have_text("p1.png")
        visitor.keyboard.press("ArrowRight")
        expect(visitor.locator("#lightbox-title")).to_have_text("p2.png")
        visitor.keyboard.press("ArrowRight")  # the last: stays
        expect(visitor.locator("#lightbox-position")).to_have_text("3 of 3")
        visitor.keyboard.press("ArrowLeft")
        expect(visitor.locator("#lightbox-title")).to_have_text("p1.png")
        visitor.locator("#lightbox-image").evaluate("(img) => img.decode()")
        visitor.screenshot(path=artifacts / "album-lightbox.png")
        visitor.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        with visitor.expect_download() as download:
            visitor.get_by_role("link", name="Download all (zip)").click()
        archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
        assert archive.namelist() == ["0001-p0.png", "0002-p1.png", "0003-p2.png"]
        assert [archive.read(n) for n in archive.namelist()] == [data for _, data in sent]
    finally:
        other.close()


def test_a_private_album_is_404_to_others(page, browser, stack, site):
    album = make_album(page, "Secret")
    page.locator(".album-edit summary").click()
    page.get_by_label("Private: only you").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("private: only you can open its link")).to_be_visible()
    share = page.locator("#share-link").input_value()
    assert page.goto(share).status == 200

    other = new_context(browser, stack)
    try:
        stranger = other.new_page()
        answer = stranger.goto(share)
        assert answer.status == 404
        expect(stranger.get_by_text("no such album")).to_be_visible()
        assert stranger.goto(share + "/zip").status == 404
        assert stranger.goto(album).status == 404
    finally:
        other.close()
    path = share.replace(site.base, "")
    assert site.request("GET", path)[0] == 404  # no cookies at all
