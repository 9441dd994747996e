"""The upload page in Chromium, through nginx: the three ways in, progress, the gallery."""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.browser.pages import (
    cards,
    choose,
    file,
    item,
    new_context,
    open_page,
    paste_an_image,
    titles,
)

pytestmark = pytest.mark.browser

PASTED_NAME = re.compile(r"pasted-\d{4}-\d\d-\d\d-\d{6}\.png")

# Builds File objects in the page from base64, for drops and synthetic pastes.
MAKE_FILES = """
(specs) => specs.map((s) => new File(
  [Uint8Array.from(atob(s.data), (c) => c.charCodeAt(0))], s.name, { type: s.type }))
"""


def spec(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "data": base64.b64encode(data).decode(), "type": mime}


def test_choose_file_uploads_and_the_new_card_is_on_top(page, site):
    open_page(page)
    expect(page.get_by_text("Nothing here yet")).to_be_visible()
    choose(page, file("first.png", images.png((900, 600)), "image/png"))
    expect(cards(page)).to_have_count(1)
    expect(item(page, "first.png").locator(".status")).to_have_text("uploaded")
    expect(page.get_by_text("Nothing here yet")).to_be_hidden()
    choose(page, file("second.jpg", images.jpeg((300, 500)), "image/jpeg"))
    expect(cards(page)).to_have_count(2)
    assert titles(page) == ["second.jpg", "first.png"]

    top = cards(page).first
    expect(top.locator(".facts")).to_have_text(re.compile(r"JPEG · 300×500 · [\d.]+ KiB"))
    thumb = top.locator("img")
    expect(thumb).to_have_attribute("src", re.compile(r"^/images/[\w-]{16}\.thumb\.jpg$"))
    # The thumbnail really loaded from nginx, at thumbnail size (the full image never does).
    thumb.evaluate("(img) => img.decode()")
    assert thumb.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [192, 320]
    link = top.locator("input[id^=link-]").input_value()
    status, headers, _ = site.request("GET", link.replace(site.base, ""))
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    expect(item(page, "first.png")).to_have_count(0, timeout=8000)  # finished items go away


def slow_uploads(context, page, bytes_per_second: int) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second,
    })  # fmt: skip


def test_progress_events_are_seen_and_drive_the_bar(page, context):
    open_page(page)
    page.evaluate("""() => {
      window.__progress = [];
      document.addEventListener("htmx:xhr:progress", (e) => window.__progress.push(
        [e.detail.loaded, e.detail.total, e.target.closest(".upload-item") !== null]));
    }""")
    slow_uploads(context, page, 4_000_000)  # so the body goes out in many progress steps
    data = images.noisy_jpeg(2_500_000)
    choose(page, file("big.jpg", data, "image/jpeg"))
    bar = item(page, "big.jpg").locator("progress")
    # Seen in one go, mid-way: the bar part-filled while the status says "uploading".
    page.wait_for_function(
        """(bar) => bar.value > 0 && bar.value < 100
                    && bar.parentNode.querySelector('.status').textContent === 'uploading'""",
        arg=bar.element_handle(),
    )
    expect(cards(page)).to_have_count(1, timeout=20_000)
    progress = page.evaluate("window.__progress")
    assert all(from_item for _, _, from_item in progress)
    partial = [loaded for loaded, total, _ in progress if 0 < loaded < total]
    assert len(partial) >= 2, progress
    loaded, total, _ = max(progress)
    assert loaded == total > len(data)  # the whole multipart body went out
    expect(bar).to_have_js_property("value", 100)


def test_three_uploads_at_a_time_the_rest_wait(page, context):
    open_page(page)
    page.evaluate("""() => {
      window.__busiest = 0;
      new MutationObserver(() => {
        const now = document.querySelectorAll('.upload-item[data-state=uploading]').length;
        window.__busiest = Math.max(window.__busiest, now);
      }).observe(document.getElementById("uploads"),
                 { subtree: true, childList: true, attributes: true });
    }""")
    slow_uploads(context, page, 2_000_000)
    choose(page, *[file(f"q{i}.jpg", images.noisy_jpeg(250_000), "image/jpeg") for i in range(6)])
    expect(page.locator(".upload-item[data-state=waiting]")).to_have_count(3)
    expect(page.locator(".upload-item[data-state=uploading]")).to_have_count(3)
    expect(cards(page)).to_have_count(6, timeout=20_000)
    assert page.evaluate("window.__busiest") == 3


def test_real_clipboard_paste_with_ctrl_v(page):
    open_page(page)
    paste_an_image(page)
    expect(cards(page)).to_have_count(1)
    assert PASTED_NAME.fullmatch(titles(page)[0]), titles(page)
    expect(cards(page).first.locator(".facts")).to_have_text(re.compile("PNG · 240×160"))


def test_synthetic_paste_event_names_an_unnamed_image(page):
    open_page(page)
    specs = [
        spec("", images.png((50, 50)), "image/png"),
        spec("holiday.jpg", images.jpeg(), "image/jpeg"),
    ]
    prevented = page.evaluate(
        f"""(specs) => {{
          const data = new DataTransfer();
          for (const f of ({MAKE_FILES})(specs)) data.items.add(f);
          const event = new ClipboardEvent(
            "paste", {{ clipboardData: data, bubbles: true, cancelable: true }});
          return !document.body.dispatchEvent(event);
        }}""",
        specs,
    )
    assert prevented  # the page took the paste
    expect(cards(page)).to_have_count(2)
    names = sorted(titles(page))
    assert names[0] == "holiday.jpg" and PASTED_NAME.fullmatch(names[1]), names


def test_pasting_text_is_left_alone(page):
    open_page(page)
    prevented = page.evaluate("""() => {
      const data = new DataTransfer();
      data.setData("text/plain", "just words");
      return !document.body.dispatchEvent(
        new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }""")
    assert not prevented
    expect(page.locator(".upload-item")).to_have_count(0)


def test_drag_and_drop_onto_the_page(page):
    open_page(page)
    page.evaluate(
        f"""(specs) => {{
          window.__drop = new DataTransfer();
          for (const f of ({MAKE_FILES})(specs)) window.__drop.items.add(f);
          const fire = (type) => document.querySelector("main").dispatchEvent(new DragEvent(
            type, {{ dataTransfer: window.__drop, bubbles: true, cancelable: true }}));
          fire("dragenter"); fire("dragover");
        }}""",
        [spec("dropped.gif", images.gif(frames=3), "image/gif")],
    )
    expect(page.locator(".drop-overlay")).to_be_visible()
    page.evaluate("""() => document.querySelector("main").dispatchEvent(
      new DragEvent("drop", { dataTransfer: window.__drop, bubbles: true, cancelable: true }))""")
    expect(page.locator(".drop-overlay")).to_be_hidden()
    expect(cards(page)).to_have_count(1)
    assert titles(page) == ["dropped.gif"]
    thumb = cards(page).first.locator("img")
    expect(thumb).to_have_attribute("src", re.compile(r"\.thumb\.(jpg|png)$"))


def test_three_files_at_once_one_refused_by_the_server(page):
    open_page(page)
    choose(
        page,
        file("one.png", images.png((400, 300)), "image/png"),
        file("fake.png", b"this is not a PNG at all", "image/png"),
        file("three.jpg", images.jpeg((300, 400)), "image/jpeg"),
    )
    expect(cards(page)).to_have_count(2)
    assert sorted(titles(page)) == ["one.png", "three.jpg"]
    refused = item(page, "fake.png")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused.locator(".status")).to_contain_text("only JPEG, PNG or GIF files are accepted")
    refused.get_by_role("button", name="Dismiss fake.png").click()
    expect(refused).to_have_count(0)


def test_the_browser_refuses_what_the_server_would_before_sending(page, stack):
    open_page(page)
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/upload") else None)
    too_big = b"\x89PNG" + b"\0" * stack.settings.max_upload_bytes
    choose(
        page,
        file("huge.png", too_big, "image/png"),
        file("notes.txt", b"hello", "text/plain"),
        file("fine.gif", images.gif(), "image/gif"),
    )
    expect(cards(page)).to_have_count(1)
    expect(item(page, "huge.png").locator(".status")).to_have_text(
        f"the file is too large ({len(too_big):,} bytes); the limit is "
        f"{stack.settings.max_upload_bytes:,} bytes (5.0 MiB)"
    )
    expect(item(page, "notes.txt").locator(".status")).to_have_text("not a JPEG, PNG or GIF image")
    assert len(sent) == 1


def test_copy_buttons_put_the_snippets_on_the_clipboard(page):
    open_page(page)
    choose(page, file("copy me.png", images.png(), "image/png"))
    card = cards(page).first
    expect(card).to_be_visible()
    link = card.locator("input[id^=link-]").input_value()
    button = card.get_by_role("button", name="Copy Direct link for copy me.png")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    expect(page.locator("#notice")).to_have_text("Direct link copied to the clipboard")

    card.get_by_text("Embed codes").click()
    card.get_by_role("button", name="Copy Markdown for copy me.png").click()
    expect(page.locator("#notice")).to_have_text("Markdown copied to the clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == f"![copy me.png]({link})"


def cookie_headers(context) -> dict:
    """This browser's cookies and XSRF token, for requests sent around it."""
    jar = {c["name"]: c["value"] for c in context.cookies()}
    return {
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        "X-XSRFToken": jar["_xsrf"],
    }


def seed(context, site, count: int) -> list[str]:
    """`count` uploads owned by this browser, sent straight over HTTP with its cookies."""
    headers = cookie_headers(context)
    names = []
    for i in range(count):
        data = images.png((60 + i, 40))
        status, _, body = site.upload(data, f"seed-{i:02d}.png", headers=headers)
        assert status == 201, body
        names.append(body["name"])
    return names


def test_infinite_scroll_over_60_uploads(page, context, site):
    open_page(page)
    names = seed(context, site, 60)
    page.reload()
    expect(cards(page)).to_have_count(24)
    for shown in (48, 60):
        page.mouse.wheel(0, 100_000)
        expect(cards(page)).to_have_count(shown)
    page.mouse.wheel(0, 100_000)
    expect(page.locator("#gallery .more")).to_have_count(0)
    expect(cards(page)).to_have_count(60)
    ids = cards(page).evaluate_all("(cards) => cards.map((c) => c.id.slice(5))")
    assert ids == [name.split(".")[0] for name in reversed(names)]
    assert titles(page)[0] == "seed-59.png" and titles(page)[-1] == "seed-00.png"


def test_delete_from_the_card(page, site, stack):
    open_page(page)
    choose(page, file("keep.png", images.png(), "image/png"))
    expect(cards(page)).to_have_count(1)
    choose(page, file("remove me.png", images.png((90, 90)), "image/png"))
    expect(cards(page)).to_have_count(2)
    card = cards(page).first
    link = card.locator("input[id^=link-]").input_value()
    thumb = card.locator("img").get_attribute("src")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    card.get_by_role("button", name="Delete remove me.png").click()
    expect(cards(page)).to_have_count(1)
    assert dialogs == ["Delete remove me.png for good?"]
    assert titles(page) == ["keep.png"]
    expect(page.locator("#notice")).to_have_text("Deleted remove me.png")
    assert site.request("GET", link.replace(site.base, ""))[0] == 404
    assert site.request("GET", thumb)[0] == 404
    page.reload()
    assert titles(page) == ["keep.png"]
    log = (stack.settings.logs_dir / "app.log").read_text()
    assert f"name={link.rsplit('/', 1)[1]} by=owner" in log


def test_a_refused_delete_says_why(page, context, site):
    open_page(page)
    choose(page, file("gone already.png", images.png(), "image/png"))
    expect(cards(page)).to_have_count(1)
    name = cards(page).first.locator("input[id^=link-]").input_value().rsplit("/", 1)[1]
    # Deleted meanwhile from another tab of the same browser: the card is now stale.
    status, _, _ = site.request("POST", f"/gallery/{name}", headers=cookie_headers(context))
    assert status == 200
    page.once("dialog", lambda d: d.accept())
    cards(page).first.get_by_role("button", name="Delete gone already.png").click()
    expect(page.locator("#notice")).to_have_text(
        "Could not delete: no such image among your uploads"
    )
    expect(cards(page)).to_have_count(1)


def test_dismissing_the_confirmation_keeps_the_image(page):
    open_page(page)
    choose(page, file("stays.png", images.png(), "image/png"))
    expect(cards(page)).to_have_count(1)
    page.once("dialog", lambda d: d.dismiss())
    cards(page).first.get_by_role("button", name="Delete stays.png").click()
    page.reload()
    assert titles(page) == ["stays.png"]


def test_another_browser_sees_none_of_it(page, browser, stack):
    open_page(page)
    choose(page, file("private.png", images.png(), "image/png"))
    expect(cards(page)).to_have_count(1)
    other = new_context(browser, stack)
    try:
        stranger = other.new_page()
        stranger.goto("/")
        expect(stranger.get_by_text("Nothing here yet")).to_be_visible()
        expect(cards(stranger)).to_have_count(0)
    finally:
        other.close()


def test_keyboard_focus_and_labels(page):
    open_page(page)
    choose(page, file("a.png", images.png(), "image/png"))
    expect(cards(page)).to_have_count(1)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/albums"
    page.keyboard.press("Tab")  # the account links: Sign in
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/signin"
    page.keyboard.press("Tab")  # the language switcher's other language (the current is off)
    assert page.evaluate("document.activeElement.lang") == "ru"
    page.keyboard.press("Tab")  # "delete after", chosen before the files
    assert page.evaluate("document.activeElement.id") == "expires_in"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"
    outline = page.locator("label[for=file]").evaluate("(l) => getComputedStyle(l).outlineStyle")
    assert outline == "solid"  # the hidden input's focus shows on its label
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        "input:not([type=hidden]), button, progress, select, textarea")]
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                      && !el.textContent.trim())
      .map((el) => el.outerHTML)""")
    assert unlabelled == []
    assert page.locator("#uploads").get_attribute("aria-live") == "polite"


def test_without_javascript_the_plain_form_uploads(browser, stack):
    context = new_context(browser, stack, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        page.set_input_files("#file", files=[file("plain.png", images.png(), "image/png")])
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("heading", name="Uploaded")).to_be_visible()
        assert page.locator("#link").input_value().startswith(stack.url + "/images/")
        page.goto("/")
        assert titles(page) == ["plain.png"]
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
def test_screenshots(browser, stack, site, artifacts, scheme, device, viewport):
    context = new_context(browser, stack, viewport=viewport, color_scheme=scheme)
    try:
        page = context.new_page()
        open_page(page)
        shapes = [(1200, 800), (600, 900), (500, 500), (1600, 400), (300, 600)]
        choose(page, *[
            file(f"photo-{i} with a rather long file name.jpg", images.jpeg(size), "image/jpeg")
            for i, size in enumerate(shapes)
        ])  # fmt: skip
        choose(page, file("broken.png", b"not an image", "image/png"))
        expect(cards(page)).to_have_count(len(shapes))
        expect(item(page, "broken.png")).to_have_attribute("data-state", "failed")
        page.locator("#gallery img").evaluate_all(
            "(imgs) => Promise.all(imgs.map((i) => i.decode()))"
        )
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (scheme == "dark")
        path = artifacts / f"page-{device}-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
    finally:
        context.close()
