"""What the browser tests share beside their fixtures: a fresh visitor's browser context, watched
for CSP violations from before any of the page's scripts run, and the upload page's parts."""

from playwright.sync_api import expect

from tests.admin import ADMIN_PASSWORD

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a browser's long password"

# Recorded in the page before any of its scripts run (Playwright's init scripts are not
# subject to the page's CSP).
WATCH_PAGE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def new_context(browser, stack, **options):
    """A fresh visitor: its own cookies (so its own owner id) and clipboard access."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(
        base_url=stack.url, permissions=["clipboard-read", "clipboard-write"], **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH_PAGE)
    return context


def invite_link(browser, stack) -> str:
    """The admin makes an invite on the panel, in a browser of their own."""
    context = new_context(browser, stack)
    try:
        page = context.new_page()
        page.goto("/admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("form.login button[type=submit]")
        page.click("#make-invite")
        return page.locator("#invite-link").input_value()
    finally:
        context.close()


def sign_up(page, link: str, username: str) -> None:
    page.goto(link)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.locator(".signed-in")).to_have_text(f"Signed in as {username}")


def sign_in(page, username: str) -> None:
    page.goto("/signin")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page.locator(".signed-in")).to_have_count(1)


def file(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def cards(page):
    return page.locator("#gallery .card")


def titles(page) -> list[str]:
    return cards(page).locator(".title").all_inner_texts()


def item(page, name: str):
    return page.locator(".upload-item", has_text=name)


def open_page(page):
    page.goto("/")
    expect(page.locator("html.js")).to_have_count(1)  # upload.js is running


def choose(page, *files: dict) -> None:
    page.set_input_files("#file", files=list(files))


def paste_an_image(page, colour: str = "#2a9d8f") -> None:
    """A 240x160 PNG put on the real clipboard, then Ctrl+V on the page (not in a field)."""
    page.evaluate(
        """async (colour) => {
      const canvas = new OffscreenCanvas(240, 160);
      const g = canvas.getContext("2d");
      g.fillStyle = colour; g.fillRect(0, 0, 240, 160);
      const blob = await canvas.convertToBlob({ type: "image/png" });
      await navigator.clipboard.write([new ClipboardItem({ "image/png": blob })]);
    }""",
        colour,
    )
    page.locator("h1").first.click()
    page.keyboard.press("Control+V")
