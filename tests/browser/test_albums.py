"""Albums in Chromium, through nginx: making one, filling it by multi-select and at upload,
reordering by buttons, keys and dragging; its share page in a fresh browser (the grid, the
lightbox's keys, the zip), the lightbox's swipes on a phone, and a private album's 404."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests import images
from tests.browser.pages import cards, choose, file, new_context, open_page

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


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


def shared_album(page, title: str, sent: list[tuple[str, bytes]]) -> str:
    """The share link of a new album of `sent`, in that order."""
    album = make_album(page, title)
    open_page(page)
    page.select_option("#upload-album", label=title)
    for name, data in sent:  # one at a time: the album's order is the upload order
        choose(page, file(name, data, "image/png"))
        expect(page.locator(".card", has_text=name)).to_have_count(1)
    page.goto(album)
    return page.locator("#share-link").input_value()


def touch(cdp, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    """One finger down at `start`, moved in `steps` to `end` and lifted: real touch input, which
    Chromium turns into pointer events (and its own panning, where touch-action allows it)."""

    def point(i: int) -> list[dict]:
        x = start[0] + (end[0] - start[0]) * i / steps
        y = start[1] + (end[1] - start[1]) * i / steps
        return [{"x": x, "y": y, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point(0)})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": point(i)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_share_page_in_a_fresh_browser_grid_lightbox_and_zip(page, browser, stack, artifacts):
    sent = pngs(3)
    share = shared_album(page, "Trip", sent)

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


def test_the_lightbox_on_a_phone_swipes_but_a_tap_or_a_vertical_drag_stays(
    page, browser, stack, artifacts
):
    # Narrow pictures: the stage has room beside them, where a swipe counts too.
    sent = [(f"w{i}.png", images.png((160 + 10 * i, 240))) for i in range(4)]
    share = shared_album(page, "Phone", sent)
    phone = new_context(
        browser, stack, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    try:
        visitor = phone.new_page()
        visitor.goto(share)
        visitor.locator("#tiles .tile a").nth(0).tap()
        title = visitor.locator("#lightbox-title")
        position = visitor.locator("#lightbox-position")
        expect(title).to_have_text("w0.png")
        cdp = phone.new_cdp_session(visitor)
        box = visitor.locator("#lightbox-image").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        stage = visitor.locator(".lightbox-stage").bounding_box()
        beside = (stage["x"] + 8, stage["x"] + stage["width"] - 8)
        assert beside[0] < box["x"] and box["x"] + box["width"] < beside[1]

        touch(cdp, (x + 60, y + 10), (x - 60, y - 10))  # on the picture
        expect(title).to_have_text("w1.png")
        touch(cdp, (beside[1], y), (x, y))  # from beside it
        expect(title).to_have_text("w2.png")
        touch(cdp, (beside[0], y + 20), (x + 20, y))
        expect(title).to_have_text("w1.png")
        expect(position).to_have_text("2 of 4")
        # A tap, a sideways nudge, a short vertical drag and a long one drifting sideways: none
        # moves on (each is handled before CDP answers, and showing a loaded image is
        # synchronous), so the next swipe lands on the neighbour.
        for start, end in [
            ((x, y), (x, y)), ((x, y), (x - 20, y)), ((x, y), (x, y + 30)),
            ((x + 30, y - 80), (x - 30, y + 80)),
        ]:  # fmt: skip
            touch(cdp, start, end)
            assert title.text_content() == "w1.png", (start, end)
        expect(visitor.locator("#lightbox")).to_be_visible()
        touch(cdp, (x + 60, y), (x - 60, y))
        expect(title).to_have_text("w2.png")
        expect(position).to_have_text("3 of 4")
        visitor.locator("#lightbox-image").evaluate("(img) => img.decode()")
        visitor.screenshot(path=artifacts / "album-lightbox-phone.png")
    finally:
        phone.close()


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
