"""Playwright driving Debian's Chromium against the whole stack behind nginx.

Every page records CSP violations and uncaught script errors; a test with any of them fails.
"""

import pytest
from playwright.sync_api import Page, sync_playwright

from imagehost import ROOT
from tests.browser.pages import new_context

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API must not be alive while pytest-asyncio runs loops.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser, stack):
    context = new_context(browser, stack)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield page
    if not page.is_closed() and page.url.startswith("http"):
        errors += page.evaluate("window.__cspViolations || []")
    assert errors == [], errors


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
